import torch
from transformers import AutoModelForCausalLM

from workers.batching import collate_pairs
from workers.logprobs import packed_logps, response_logps
from workers.packing import pack_pairs
from workers.tokenization import TokenizedPair

PAIRS = [
    TokenizedPair([1, 5, 6, 7, 8], [9, 10, 11], [12, 13, 14, 15, 16]),
    TokenizedPair([1, 4], [20, 21, 22, 23, 24, 25], [30]),
    TokenizedPair([1, 40, 41, 42], [43], [44, 45]),
]


def test_packed_logps_equal_the_two_row_layout(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    with torch.no_grad():
        packed, packed_counts = packed_logps(model, pack_pairs(PAIRS, pad_id=0))
        plain, plain_counts = response_logps(model, **collate_pairs(PAIRS, pad_id=0))
    assert packed_counts.tolist() == plain_counts.tolist() == [3, 6, 1, 5, 1, 2]
    assert torch.allclose(packed, plain, atol=1e-4), (packed, plain)


def test_packed_targets_are_the_response_tokens_in_order():
    batch = pack_pairs(PAIRS[:1], pad_id=0)
    assert batch["targets"].tolist() == [9, 10, 11, 12, 13, 14, 15, 16]
    # chosen from prompt end then chosen; the first rejected token is predicted from the prompt end (4)
    assert batch["pred_cols"].tolist() == [4, 5, 6, 4, 8, 9, 10, 11]
    assert batch["position_ids"][0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 5, 6, 7, 8, 9]


def test_rejected_tokens_never_attend_to_chosen_tokens():
    mask = pack_pairs(PAIRS[:1], pad_id=0)["attention_mask"][0, 0]
    chosen, rejected = range(5, 8), range(8, 13)
    assert not mask[list(rejected)][:, list(chosen)].any()
    assert mask[12, :5].all() and mask[7, 5:8].all()
