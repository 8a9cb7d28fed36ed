"""RPS (methods.md §4B): direction math, E9 statistics, data roles, a real run and serving (tiny model)."""

import json
import math
from pathlib import Path

import pytest

from recipes.io import parse_recipe
from recipes.preference_data import PreferenceRecord
from tests.workers.method_cases import usr_records
from workers.directions import budgeted_neighbours, conditioned_prompt, instruction_weights, neighbours
from workers.evaluators.directional import (
    Comparison,
    bootstrap_over_prompts,
    directional_metrics,
    no_tie_win_rate,
)
from workers.methods.rps import best_along, generate_candidates, split_for_judge
from workers.pipelines.train import run_recipe
from workers.progress import ListProgress

GRID = [-40 + 5 * i for i in range(17)]


def test_neighbours_are_the_closest_trusted_directions():
    assert neighbours(10, GRID, 5, 30) == [10, 5, 15, 0, 20]  # ties: the lower angle first
    assert neighbours(40, GRID, 5, 30) == [40, 35, 30, 25, 20]
    assert neighbours(85, GRID, 5, 30) == []  # nothing trusted within 30°
    assert budgeted_neighbours(85, GRID, 3, 30) == [85, 85, 85]  # falls back to the target: the baseline
    assert budgeted_neighbours(65, GRID, 4, 30) == [40, 35, 40, 35]  # two trusted, cycled to k


def test_dpa_instruction_uses_rounded_integer_weights():
    assert instruction_weights(45) == (71, 71) and instruction_weights(0) == (100, 0)
    text = conditioned_prompt("Hi?", 30, ("helpfulness", "verbosity"))
    assert text.endswith("Maximize weighted rating = helpfulness*87 + verbosity*50.")


def _c(prompt, rps, base, covered=False, target=45.0):
    return Comparison(prompt, target, rps, base, covered)


def test_win_rate_excludes_ties_and_the_interval_resamples_prompts():
    comparisons = [_c(0, 1.0, 0.5), _c(0, 0.2, 0.2), _c(1, 0.1, 0.4), _c(2, 0.9, 0.3)]
    assert no_tie_win_rate(comparisons) == (2 / 3, 2, 1, 1)
    low, high = bootstrap_over_prompts(comparisons, samples=400)
    assert 0.0 <= low <= 2 / 3 <= high <= 1.0
    assert math.isnan(no_tie_win_rate([_c(0, 0.3, 0.3)])[0])


def test_directional_metrics_split_coverage_and_report_the_robustness_gap():
    comparisons = [_c(0, 0.8, 0.6, covered=True, target=10.0), _c(0, 0.4, 0.2), _c(1, 0.6, 0.1)]
    metrics = directional_metrics(comparisons)
    assert metrics["rps_ood_comparisons"] == 2 and metrics["rps_ood_win_rate_no_ties"] == 1.0
    assert metrics["rps_id_comparisons"] == 1
    assert metrics["rps_robustness_gap_rps"] == pytest.approx(0.8 - 0.5)
    assert metrics["rps_robustness_gap_baseline"] == pytest.approx(0.6 - 0.15)


def _record(prompt, a, b):
    return PreferenceRecord(prompt=prompt, responses=["x", "y", "z"], objective_scores={"a": a, "b": b})


def test_judge_prompts_are_disjoint_and_best_along_follows_the_direction():
    records = [_record(f"p{i}", {0: 0.9, 1: 0.1, 2: 0.5}, {0: 0.1, 1: 0.9, 2: 0.5}) for i in range(10)]
    selection, judge = split_for_judge(records, 0.3, seed=0)
    assert len(judge) == 3 and not {r.prompt for r in selection} & {r.prompt for r in judge}
    assert best_along(records[0], ("a", "b"), 0) == 0
    assert best_along(records[0], ("a", "b"), 90) == 1
    assert best_along(records[0], ("a", "b"), 45) in (0, 1, 2)


class _LengthModel:
    """A fake reward model: engagingness = reply length, groundedness = minus it."""

    def score(self, prompts, responses):
        return {"a": [len(r) for r in responses], "b": [-len(r) for r in responses]}


def test_human_agreement_is_the_mean_within_prompt_spearman_and_skips_unrankable_prompts():
    from workers.rps_evaluation import human_agreement

    records = [
        PreferenceRecord(prompt="p1", responses=["x", "yy", "zzz"], objective_scores={
            "a": {0: 0.1, 1: 0.5, 2: 0.9}, "b": {0: 0.2, 1: 0.2, 2: 0.2}}),  # b: all tied, no ranking
        PreferenceRecord(prompt="p2", responses=["xxx", "y"], objective_scores={
            "a": {0: 0.3, 1: 0.8}, "b": {0: 0.1, 1: 0.7}}),
    ]  # fmt: skip
    agreement = human_agreement(records, ("a", "b"), _LengthModel())
    assert agreement["a"] == pytest.approx((1.0 + -1.0) / 2)  # p1 ordered by length, p2 reversed
    assert agreement["b"] == pytest.approx(1.0)  # only p2 counts: shorter is better there


def _recipe(model_dir: Path, folder: Path, **method):
    block = {"method": "rps", "objectives": ["engagingness", "groundedness"], "k": 2, "max_new_tokens": 6,
             "eval_directions_deg": [10, 45], "eval_prompts": 2, "training": "none"} | method  # fmt: skip
    text = json.dumps({
        "name": "rps-tiny", "model": {"name_or_path": str(model_dir), "lora": {"r": 4, "alpha": 8}},
        "data": usr_records(folder), "method": block,
        "training": {"max_steps": 2, "batch_size": 2, "max_length": 128, "max_prompt_length": 96,
                     "heldout_fraction": 0.25, "precision": "fp32"},
        "evaluation": {"metrics": ["reward_accuracy"]},
    })  # fmt: skip
    return parse_recipe(text)


def test_selection_only_run_reports_e9_and_serves_candidates(tiny_model_dir, tmp_path):
    recipe = _recipe(tiny_model_dir, tmp_path)
    result = run_recipe(recipe, tmp_path / "run", ListProgress())
    metrics = result.metrics
    assert metrics["rps_ood_comparisons"] == 2 and metrics["rps_id_comparisons"] == 2  # 2 prompts × 45°, 10°
    assert metrics["rps_generations"] == 2 * (4 + 2 * 2)  # pools {10, 5} + {40, 35}, 2 baselines × k = 2
    assert not math.isnan(metrics["rps_ood_neighbour_gain"]) and not math.isnan(
        metrics["rps_id_neighbour_gain"]
    )
    for role in ("selection", "judge"):  # both reward models checked against held-out human scores
        assert -1 <= metrics[f"rps_{role}_human_spearman_groundedness"] <= 1
    report = json.loads(result.artifacts["report_json"].read_text())
    assert report["training"]["steps"] == 0
    section = report["method_report"]
    assert [row["target_deg"] for row in section["per_direction"]] == [10.0, 45.0]
    samples = (tmp_path / "run" / "rps" / "evaluation_samples.jsonl").read_text().splitlines()
    assert len([line for line in samples if '"pool"' in line]) == 16
    assert (tmp_path / "run" / "rps" / "rps.json").exists()

    from workers.pipelines.train import _load_model  # serving loads the run's folder the same way

    _, tokenizer, model = _load_model(recipe, __import__("torch").device("cpu"))
    served = generate_candidates(model, tokenizer, recipe, tmp_path / "run" / "adapter", "Say hi.", [1, 1])
    assert len(served["candidates"]) == 2 and served["selected"] in (0, 1)
    assert [c["direction_deg"] for c in served["candidates"]] == [40.0, 35.0] and not served["in_coverage"]
    best = max(range(2), key=lambda i: served["candidates"][i]["score"])
    assert served["selected"] == best


@pytest.mark.parametrize(
    "method, message",
    [
        ({"k": 20}, "k = 20 is larger than the grid (17 directions"),
        ({"objectives": ["engagingness", "fun"]}, "method.objectives: ['fun'] are not scored by the data"),
        ({"coverage_min_deg": 40, "coverage_max_deg": 30}, "coverage_min_deg must not exceed"),
        ({"max_angle_deg": -5}, "max_angle_deg"),
    ],
)
def test_bad_rps_settings_are_refused_with_the_field_named(method, message, tiny_model_dir, tmp_path):
    from recipes.errors import RecipeError

    with pytest.raises(RecipeError, match=message.replace("(", r"\(").replace("[", r"\[")):
        _recipe(tiny_model_dir, tmp_path, **method)


def test_neighbour_gain_compares_neighbour_samples_with_the_targets_own_before_selection():
    from types import SimpleNamespace

    from workers.rps_evaluation import _neighbour_gain

    spec = SimpleNamespace(coverage_min_deg=-30, coverage_max_deg=30)
    judge = {"n1": (1.0, 0.0), "n2": (0.0, 1.0), "own1": (0.0, 0.0), "own2": (1.0, 1.0), "id": (0.5, 0.5)}
    pools = {(0, 90.0): (["n1", "n2"], ["own1", "own2"]), (0, 0.0): (["id"], ["id"])}
    # along 90° (outside the coverage): neighbours average (0 + 1) / 2, own samples (0 + 1) / 2 → gain 0;
    # along 0°: one sample on both sides → 0. Make the neighbours better along 90° and check the gain.
    assert _neighbour_gain(spec, pools, judge, covered=False) == pytest.approx(0.0)
    judge["n1"] = (1.0, 1.0)
    assert _neighbour_gain(spec, pools, judge, covered=False) == pytest.approx((1.0 + 1.0) / 2 - 0.5)
    assert _neighbour_gain(spec, pools, judge, covered=True) == pytest.approx(0.0)
