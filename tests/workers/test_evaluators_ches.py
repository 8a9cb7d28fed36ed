"""E5 CHES on hand-made hidden vectors, and the packed pass against a slow per-sequence forward."""

import math
import random
from types import SimpleNamespace

import pytest
import torch
from transformers import AutoModelForCausalLM

from workers.evaluators.ches import (
    ches_from_batch,
    ches_from_hidden,
    ches_pass,
    ches_scores,
    drop_top_fraction,
    last_hidden_inner,
    normalized_edit_distance,
)
from workers.evaluators.stats import average_ranks, histogram, spearman
from workers.modeling import apply_lora
from workers.packing import pack_pairs
from workers.tokenization import TokenizedPair


def test_ches_from_hidden_2d_by_hand():
    ches, ln = ches_from_hidden(
        torch.tensor([[1.0, 2.0], [1.0, 2.0]]),
        torch.tensor([[3.0, -1.0], [1.0, 2.0]]),
        torch.tensor([2, 2]),
        torch.tensor([4, 2]),
    )
    # pair 0: ⟨H+,H−⟩ = 3 − 2 = 1, ‖H+‖² = 5 → CHES −4; LN 1/(2·4) − 5/2² = −1.125
    # pair 1: identical responses → 0 and 0
    assert ches.tolist() == pytest.approx([-4.0, 0.0])
    assert ln.tolist() == pytest.approx([-1.125, 0.0])
    with pytest.raises(ValueError, match=r"zero-length rejected response at index \[1\]"):
        ches_from_hidden(torch.ones(2, 2), torch.ones(2, 2), torch.tensor([1, 1]), torch.tensor([1, 0]))


def test_ches_from_batch_uses_the_positions_that_predict_response_tokens():
    pair = TokenizedPair(prompt_ids=[1, 2], chosen_ids=[3, 4], rejected_ids=[5])
    batch = pack_pairs([pair], pad_id=0)  # row: x x c c r
    hidden = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [7.0, 7.0]]])
    ches, ln = ches_from_batch(hidden, batch)
    # chosen predicted from positions 1, 2 → H+ = (1, 1); rejected from position 1 → H− = (1, 0)
    assert ches.tolist() == pytest.approx([1.0 - 2.0])
    assert ln.tolist() == pytest.approx([1.0 / 2 - 2.0 / 4])
    # baseline: the final token of each sequence, (5, 5)·(7, 7) = 70
    assert last_hidden_inner(hidden, [pair]).tolist() == pytest.approx([70.0])


def _pairs(n: int, seed: int = 0) -> list[TokenizedPair]:
    rng = random.Random(seed)

    def ids(k: int) -> list[int]:
        return [rng.randrange(3, 400) for _ in range(k)]

    # lengths vary so batches pad; pair 0 has a one-token rejected response
    return [
        TokenizedPair(ids(rng.randint(2, 8)), ids(rng.randint(1, 9)), ids(1 if i == 0 else rng.randint(1, 9)))
        for i in range(n)
    ]


def _slow(model, pairs):
    """Razin et al.'s recipe: each sequence alone, hidden_states[-1] from the last prompt position on."""
    out = []
    for pair in pairs:
        p, sums, last = len(pair.prompt_ids), [], []
        for response in (pair.chosen_ids, pair.rejected_ids):
            ids = torch.tensor([pair.prompt_ids + response])
            states = model(input_ids=ids, output_hidden_states=True).hidden_states[-1][0].double()
            sums.append(states[p - 1 : p - 1 + len(response)].sum(0))  # drops the final position
            last.append(states[-1])
        c, r = len(pair.chosen_ids), len(pair.rejected_ids)
        cross, own = sums[0] @ sums[1], sums[0] @ sums[0]
        out.append((float(cross - own), float(cross / (c * r) - own / (c * c)), float(last[0] @ last[1])))
    return torch.tensor(out, dtype=torch.float64)


@torch.no_grad()
def test_ches_scores_match_a_slow_direct_computation_and_ignore_the_adapter(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    pairs = _pairs(11)  # more than one scoring batch of 8
    expected = _slow(model, pairs)
    peft = apply_lora(
        model, SimpleNamespace(r=4, alpha=8.0, dropout=0.0, target_modules=["q_proj", "v_proj"])
    )
    for name, param in peft.named_parameters():
        if "lora_B" in name:
            param.normal_(std=0.5)  # a trained-looking adapter: CHES must still come from π_ref
    peft.eval()
    assert not torch.allclose(_slow(peft, pairs[:2]), expected[:2], rtol=1e-3)  # the adapter does matter
    scores = ches_pass(peft, pairs, pad_id=0)
    assert torch.allclose(scores.ches, expected[:, 0], rtol=1e-4, atol=1e-3)
    assert torch.allclose(scores.ln_ches, expected[:, 1], rtol=1e-4, atol=1e-4)
    assert torch.allclose(scores.last_hidden_inner, expected[:, 2], rtol=1e-4, atol=1e-4)
    ches, ln = ches_scores(peft, pairs, pad_id=0)
    assert torch.equal(ches, scores.ches) and torch.equal(ln, scores.ln_ches)


def test_ches_pass_refuses_empty_and_zero_length():
    with pytest.raises(ValueError, match="E5: no pairs"):
        ches_pass(torch.nn.Linear(1, 1), [], pad_id=0)
    with pytest.raises(ValueError, match="pair 0 has a zero-length chosen response"):
        ches_pass(torch.nn.Linear(1, 1), [TokenizedPair([1], [], [2])], pad_id=0)


def test_drop_top_fraction():
    values = [0.3, -1.0, 2.0, 0.3, 5.0]
    assert drop_top_fraction(values, 0.4) == [0, 1, 3]  # drops ⌊0.4·5⌋ = 2 highest: 5.0, 2.0
    assert drop_top_fraction(values, 0.6) == [0, 1]  # tie at 0.3: the earlier index is kept
    assert drop_top_fraction(values, 0.0) == [0, 1, 2, 3, 4]
    assert len(drop_top_fraction([float(i) for i in range(380)], 0.95)) == 19  # the paper's 5 % lowest
    with pytest.raises(ValueError, match="q must be in"):
        drop_top_fraction(values, 1.5)


def test_normalized_edit_distance():
    assert normalized_edit_distance([1, 2, 3], [1, 3]) == pytest.approx(1 / 3)
    assert normalized_edit_distance([1, 2, 3, 4], [5, 6]) == 1.0
    assert normalized_edit_distance([7, 8], [7, 8]) == 0.0
    kitten, sitting = [ord(ch) for ch in "kitten"], [ord(ch) for ch in "sitting"]
    assert normalized_edit_distance(kitten, sitting) == pytest.approx(3 / 7)
    with pytest.raises(ValueError, match="zero-length"):
        normalized_edit_distance([], [1])


def test_spearman_with_ties_by_hand():
    assert average_ranks([5, 6, 7, 8, 7]) == [1, 2, 3.5, 5, 3.5]
    # rank deviations (−2,−1,0,1,2)·(−2,−1,.5,2,.5) = 8; Σdx² = 10; Σdy² = 9.5
    assert spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(8 / math.sqrt(95))
    assert spearman([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 2, 3], [4, 4, 4]))
    with pytest.raises(ValueError, match="at least two"):
        spearman([1], [2])


def test_histogram_counts():
    assert histogram([0, 1, 2, 3, 4], bins=2) == {"edges": [0, 2, 4], "counts": [2, 3]}  # max in last bin
    assert histogram([3.0, 3.0], bins=4) == {"edges": [3.0, 3.0], "counts": [2]}
    with pytest.raises(ValueError, match="no values"):
        histogram([])
