"""Listwise ranking (PRO, methods.md §3B): the loss by hand, list building, packing, listwise E1."""

import math

import pytest
import torch
from transformers import AutoModelForCausalLM

from recipes.preference_data import PreferenceRecord
from workers.evaluators.listwise import listwise_metrics, longer_first_exact_match, order_agreement
from workers.list_packing import list_logps, pack_lists, plain_rows
from workers.logprobs import response_logps
from workers.losses import pro_ranking_loss
from workers.methods.ranking import list_gaps, mean_gap
from workers.ranked_lists import TokenizedList, lists_from_records, ranked_list, tokenize_list


def _loss(scores, top, levels, sizes, sft_weight=0.0, scale=None, min_gap=0.1):
    lists = [TokenizedList([1], tuple([[2]] * len(lv)), tuple(lv)) for lv in levels]
    gaps, beats = list_gaps(lists, len(scores[0]), scale, min_gap)
    return pro_ranking_loss(
        torch.tensor(scores), torch.tensor(top), gaps, beats, torch.tensor(sizes), sft_weight
    )


def test_three_responses_match_a_hand_computation():
    # s = (−1, −2, −3), d = 1: −log(e^−1 / (e^−1 + e^−2 + e^−3)) − log(e^−2 / (e^−2 + e^−3))
    # = 0.407606 + 0.313262; SFT: 0.05 · (3 − 1)² · 12 = 2.4
    out = _loss([[-1.0, -2.0, -3.0]], [-12.0], [[3, 2, 1]], [3], sft_weight=0.05)
    assert out.rank_losses.item() == pytest.approx(0.407606 + 0.313262, abs=1e-5)
    assert out.sft_losses.item() == pytest.approx(2.4)
    assert out.losses.item() == pytest.approx(0.720868 + 2.4, abs=1e-5)


def test_two_responses_reduce_to_a_logistic_loss_with_the_gap_as_temperature():
    # n = 2: −log σ(d·(s1 − s2)); score gaps: levels 0.9 vs 0.4 over a mean gap of 0.25 → d = 2
    out = _loss([[-1.5, -1.0]], [-3.0], [[0.9, 0.4]], [2], sft_weight=0.1, scale=0.25)
    expected = -math.log(1 / (1 + math.exp(-2 * (-1.5 + 1.0))))
    assert out.rank_losses.item() == pytest.approx(expected, rel=1e-6)
    assert out.sft_losses.item() == pytest.approx(0.1 * 1 * 3.0)


def test_score_gaps_use_the_self_gap_and_the_floor():
    # levels (1.0, 0.5, 0.49), scale 1, floor 0.1: position 1 gaps (0.5, 0.51), self-gap 0.51;
    # position 2 gap 0.01 → floored to 0.1.
    s = [-1.0, -2.0, -2.5]
    out = _loss([s], [0.0], [[1.0, 0.5, 0.49]], [3], scale=1.0)
    first = -0.51 * s[0] + math.log(math.exp(0.51 * s[0]) + math.exp(0.5 * s[1]) + math.exp(0.51 * s[2]))
    second = -0.1 * s[1] + math.log(math.exp(0.1 * s[1]) + math.exp(0.1 * s[2]))
    assert out.rank_losses.item() == pytest.approx(first + second, rel=1e-6)


def test_exact_ties_never_compete():
    # levels (2, 1, 1): position 1 beats both, the tied pair adds no term; the result equals the
    # three-way softmax for position 1 alone.
    out = _loss([[-1.0, -2.0, -3.0]], [0.0], [[2, 1, 1]], [3])
    expected = -math.log(math.exp(-1) / (math.exp(-1) + math.exp(-2) + math.exp(-3)))
    assert out.rank_losses.item() == pytest.approx(expected, rel=1e-6)


def test_ragged_lists_in_one_batch_equal_each_list_alone():
    together = _loss([[-1.0, -2.0, -3.0], [-0.5, -0.7, 0.0]], [-5.0, -2.0], [[3, 2, 1], [2, 1]], [3, 2], 0.05)
    alone = _loss([[-0.5, -0.7]], [-2.0], [[2, 1]], [2], 0.05)
    first = _loss([[-1.0, -2.0, -3.0]], [-5.0], [[3, 2, 1]], [3], 0.05)
    assert together.losses[1].item() == pytest.approx(alone.losses.item(), rel=1e-6)
    assert together.losses[0].item() == pytest.approx(first.losses.item(), rel=1e-6)


def test_padding_slots_get_no_gradient():
    scores = torch.tensor([[-0.5, -0.7, -9.0]], requires_grad=True)
    lists = [TokenizedList([1], ([2], [3]), (2.0, 1.0))]
    gaps, beats = list_gaps(lists, 3, None, 0.1)
    pro_ranking_loss(scores, scores[:, 0] * 4, gaps, beats, torch.tensor([2]), 0.05).losses.sum().backward()
    assert scores.grad[0, 2].item() == 0.0 and scores.grad[0, 0].item() < 0  # raising s¹ lowers the loss


def test_lists_follow_ranks_then_ratings_and_skip_pairs():
    ranked = PreferenceRecord(prompt="p", responses=["a", "b", "c", "d", "e"], ranking=[2, 0, 4, 1, 3])
    rated = PreferenceRecord(prompt="q", responses=["x", "y", "z"], ratings={"help": {0: 2, 1: 5, 2: 2}})
    pair = PreferenceRecord(prompt="r", responses=["u", "v"], pair=(0, 1))
    lists, skipped = lists_from_records([ranked, rated, pair], use_scores=False, max_responses=4)
    assert lists[0].responses == ("c", "a", "e", "b") and lists[0].levels == (5.0, 4.0, 3.0, 2.0)
    assert lists[1].responses == ("y", "x", "z") and lists[1].levels == (1.0, 0.25, 0.25)  # x, z tie
    assert skipped == {"no_ranked_responses": 1}
    assert ranked_list(rated, use_scores=False, max_responses=2).responses == ("y", "x")


def test_score_gaps_refuse_rank_only_records_and_scale_to_a_mean_gap_of_one():
    ranked = PreferenceRecord(prompt="p", responses=["a", "b"], ranking=[1, 0])
    assert lists_from_records([ranked], use_scores=True, max_responses=4)[1] == {"ranks_without_scores": 1}
    items = [TokenizedList([1], ([2], [3], [4]), (1.0, 0.5, 0.0))]  # gaps 0.5, 1.0, 0.5
    assert mean_gap(items) == pytest.approx(2 / 3)


class _Tokens:  # the PairTokenizer surface tokenize_list uses, on characters
    max_length = 6

    def prompt_ids(self, prompt):
        return [ord(c) for c in prompt]

    def response_ids(self, response):
        return [ord(c) for c in response] + [0]


def test_truncation_that_makes_responses_identical_drops_the_worse_one():
    from workers.ranked_lists import RankedList

    made = tokenize_list(RankedList("pq", ("abcdX", "abcdY", "zz"), (3.0, 2.0, 1.0)), _Tokens())
    assert [len(ids) for ids in made.response_ids] == [4, 3] and made.levels == (3.0, 1.0)
    assert tokenize_list(RankedList("pq", ("abcdX", "abcdY"), (2.0, 1.0)), _Tokens()) is None


LISTS = [
    TokenizedList([1, 5, 6, 7], ([9, 10, 11], [12, 13, 14, 15, 16], [17]), (3.0, 2.0, 1.0)),
    TokenizedList([1, 4], ([20, 21, 22, 23, 24, 25], [30]), (2.0, 1.0)),
]


def test_packed_lists_equal_one_plain_row_per_response(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    rows = plain_rows(LISTS, pad_id=0)
    with torch.no_grad():
        packed, counts = list_logps(model, pack_lists(LISTS, pad_id=0))
        by_row, row_counts = response_logps(
            model, rows["input_ids"], rows["attention_mask"], rows["response_mask"]
        )
        plain, plain_counts = list_logps(model, rows)
    assert counts.tolist() == plain_counts.tolist() == [[3, 5, 1], [6, 1, 0]]
    assert row_counts.tolist() == [3, 5, 1, 6, 1]
    assert torch.allclose(packed.flatten()[counts.flatten() > 0], by_row, atol=1e-4), (packed, by_row)
    assert torch.allclose(plain, packed, atol=1e-4)


def test_packed_layout_restarts_positions_and_hides_other_responses():
    batch = pack_lists(LISTS[:1], pad_id=0)
    assert batch["position_ids"][0].tolist() == [0, 1, 2, 3, 4, 5, 6, 4, 5, 6, 7, 8, 4]
    assert batch["pred_cols"].tolist() == [3, 4, 5, 3, 7, 8, 9, 10, 3]
    mask = batch["attention_mask"][0, 0]
    assert not mask[7:12][:, 4:7].any() and not mask[12, 4:12].any() and mask[12, :4].all()


def test_listwise_e1_counts_only_human_ordered_pairs():
    assert order_agreement([3, 2, 1], [-1, -2, -3]).exact
    wrong = order_agreement([3, 2, 1], [-1, -3, -2])
    assert (wrong.concordant, wrong.discordant, wrong.exact) == (2, 1, False)
    assert wrong.tau == pytest.approx(1 / 3)
    tied = order_agreement([2, 1, 1], [-1, -3, -2])  # the tied pair is not scored
    assert tied.ordered_pairs == 2 and tied.exact
    metrics = listwise_metrics([[3, 2, 1], [2, 1]], [[-1, -3, -2], [-2, -1]], when="_after")
    assert metrics["listwise_exact_match_after"] == 0.0 and metrics["listwise_top1_after"] == 0.5
    assert metrics["listwise_kendall_tau_after"] == pytest.approx((1 / 3 - 1) / 2)
    assert longer_first_exact_match([[2, 1], [2, 1]], [[5, 5], [6, 2]]) == 0.5  # equal lengths miss


def test_a_run_reports_the_listwise_e1_before_and_after(tiny_model_dir, tmp_path):
    import json

    from recipes.io import recipe_from_dict
    from tests.workers.method_cases import oasst_ranked_lists
    from workers.methods.ranking import SECTION_TITLE
    from workers.pipelines.train import run_recipe
    from workers.progress import ListProgress

    recipe = recipe_from_dict({
        "name": "ranking", "model": {"name_or_path": str(tiny_model_dir), "lora": {"r": 4, "alpha": 8}},
        "data": oasst_ranked_lists(tmp_path, n=16), "method": {"method": "ranking", "max_responses": 3},
        "training": {"max_steps": 2, "batch_size": 2, "max_length": 64, "max_prompt_length": 32,
                     "heldout_fraction": 0.25, "precision": "fp32"},
        "evaluation": {"metrics": ["ranking_accuracy", "reward_accuracy"], "bootstrap_samples": 100},
    })  # fmt: skip
    result = run_recipe(recipe, tmp_path / "run", ListProgress())
    m = result.metrics
    for when in ("before", "after"):
        assert 0 <= m[f"listwise_exact_match_{when}"] <= 1 and -1 <= m[f"listwise_kendall_tau_{when}"] <= 1
        # + 1e-12: the Wilson bound of a rate of 0 comes out at ~1e-17 in floating point
        assert m[f"listwise_exact_match_{when}_ci_low"] <= m[f"listwise_exact_match_{when}"] + 1e-12
    report = json.loads(result.artifacts["report_json"].read_text())
    section = report["method_report"]
    assert section["title"] == SECTION_TITLE and section["training"]["training_lists"] > 0
    assert sum(row["lists"] for row in section["by_list_size"]) == m["listwise_heldout_lists"]
    assert SECTION_TITLE in result.artifacts["report_md"].read_text()
    assert "By list size" in result.artifacts["report_html"].read_text()


def test_a_batch_is_packed_only_when_that_halves_its_token_slots():
    from workers.list_packing import layout_batch

    long_prompt = TokenizedList(list(range(1, 101)), tuple([[7, 8, 9]] * 6), (6.0, 5.0, 4.0, 3.0, 2.0, 1.0))
    short_prompt = TokenizedList([1, 2], ([5] * 50, [6] * 40), (2.0, 1.0))
    assert "pred_cols" in layout_batch([long_prompt], pad_id=0)  # 118 packed vs 6 · 103 plain slots
    assert "response_mask" in layout_batch([short_prompt], pad_id=0)  # 92 packed vs 2 · 52 plain
