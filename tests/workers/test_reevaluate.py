"""`studio eval`'s pipeline on the tiny model: a trained run evaluated again from its saved adapter gives
the training-time numbers for the same metric on the same held-out pairs; bad suites are refused."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from recipes.evaluation import resolve_suite
from recipes.io import dump_recipe, parse_recipe
from store import runs
from store.tables import RunStatus
from tests.workers.method_cases import usr_records
from workers.errors import UserFacingError
from workers.pipelines.reevaluate import EVALUATIONS_DIR, evaluate_run, execute
from workers.pipelines.train import run_recipe
from workers.progress import ListProgress

LLMBAR = Path(__file__).resolve().parents[3] / "shared" / "data" / "llmbar" / "LLMBar_Natural.json"


def _dpo_recipe(model_dir: Path, data: Path):
    rows = json.loads(LLMBAR.read_text())[:16]
    data.write_text("".join(
        json.dumps({"prompt": r["input"], "chosen": r[f"output_{r['label']}"],
                    "rejected": r[f"output_{3 - r['label']}"]}) + "\n"
        for r in rows
    ))  # fmt: skip
    return parse_recipe(json.dumps({
        "name": "tiny-eval",
        "model": {"name_or_path": str(model_dir), "lora": {"r": 4, "alpha": 8}},
        "data": {"kind": "file", "path": str(data), "preset": "prompt_chosen_rejected"},
        "method": {"method": "dpo", "beta": 0.1},
        "training": {"max_steps": 2, "batch_size": 2, "max_length": 96, "max_prompt_length": 48,
                     "learning_rate": 0.01, "heldout_fraction": 0.25, "precision": "fp32"},
        "evaluation": {"metrics": ["reward_accuracy", "kl", "perplexity"], "bootstrap_samples": 100,
                       "kl_prompts": 2, "kl_max_new_tokens": 4, "perplexity_windows": 2},
    }))  # fmt: skip


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    """(recipe, run folder, training-time metrics) of one DPO run, trained once for this module."""
    folder = tmp_path_factory.mktemp("reevaluate")
    recipe = _dpo_recipe(tiny_model_dir, folder / "pairs.jsonl")
    result = run_recipe(recipe, folder / "run", ListProgress())
    return recipe, folder / "run", result.metrics


def _same(a: dict, b: dict, keys: list[str]) -> None:
    for key in keys:
        if isinstance(a[key], float) and math.isnan(a[key]):
            assert math.isnan(b[key]), key
        else:
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), key


def test_a_different_suite_gives_the_training_numbers_of_the_same_metrics(trained):
    recipe, run_dir, at_training = trained
    progress = ListProgress()
    result = evaluate_run(recipe, run_dir, run_dir / "adapter", ["drift", "kl", "perplexity"], progress)
    m = result.metrics
    shared = [k for k in m if k.startswith(("ranking_accuracy", "reward_", "e4_", "kl_", "ppl", "flip_rate"))]
    assert {"reward_accuracy", "ranking_accuracy_after", "e4_displacement_rate", "kl_k3_sequence",
            "ppl_delta"} <= set(shared)  # fmt: skip
    _same(at_training, m, shared)
    assert m["heldout_pairs"] == at_training["heldout_pairs"]
    assert not any(k.startswith("e2_") for k in m)  # E2 was not asked for
    assert any("adapter on held-out pairs" in text for text in progress.messages)

    folder = run_dir / EVALUATIONS_DIR / result.id
    assert {p.name for p in folder.iterdir()} >= {"report.json", "report.md", "report.html"}
    report = json.loads((folder / "report.json").read_text())
    assert report["evaluation"]["suite"] == "drift, kl, perplexity"
    assert report["metrics"]["reward_accuracy"] == pytest.approx(at_training["reward_accuracy"])
    assert f"# Evaluation {result.id}: tiny-eval" in (folder / "report.md").read_text()
    page = (folder / "report.html").read_text()
    assert "evaluation of a finished run" in page and "Training curves" not in page
    assert (run_dir / "report.json").exists()  # the training report is left alone


def test_a_suite_without_pair_metrics_skips_the_scoring_passes(trained):
    recipe, run_dir, at_training = trained
    progress = ListProgress()
    result = evaluate_run(recipe, run_dir, run_dir / "adapter", ["kl"], progress)
    assert result.metrics["kl_k1_sequence"] == pytest.approx(at_training["kl_k1_sequence"], rel=1e-4)
    assert "reward_accuracy" not in result.metrics
    assert not any("held-out pairs:" in text for text in progress.messages)


@pytest.mark.parametrize(
    "suite, message",
    [
        (["reward_acc"], "unknown metric reward_acc: choose from ranking_accuracy, reward_accuracy"),
        (["directional"], "directional is only defined for rps runs; this run's method is dpo"),
        (["win_rate"], "win_rate needs the judge's share of the data"),
        ([], "unknown metric (none)"),
    ],
)
def test_bad_suites_are_refused_before_any_work(trained, tmp_path, suite, message):
    recipe, run_dir, _ = trained
    with pytest.raises(UserFacingError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        evaluate_run(recipe, tmp_path, run_dir / "adapter", suite, ListProgress())
    assert not (tmp_path / EVALUATIONS_DIR).exists()


def test_the_default_suite_is_the_recipes_own_without_other_methods_metrics():
    assert resolve_suite(None, "dpo", ["kl", "directional"]) == ["kl"]
    assert resolve_suite(None, "rps", ["kl", "directional"]) == ["kl", "directional"]
    assert resolve_suite([" kl", "kl", "drift "], "dpo", []) == ["kl", "drift"]


def _stored(recipe, run_dir: Path, succeeded: bool = True) -> str:
    """A run row as the lifecycle leaves it: the frozen recipe, the adapter artifact, the final status."""
    run = runs.create_run(dump_recipe(recipe), recipe.name, "hash")
    runs.mark_running(run.id, "test")
    runs.add_artifact(run.id, "adapter", run_dir / "adapter")
    if succeeded:
        runs.mark_succeeded(run.id, {})
    else:
        runs.mark_failed(run.id, "boom")
    return run.id


def test_the_task_records_events_and_artifacts_and_leaves_the_status(trained):
    recipe, run_dir, at_training = trained
    run_id = _stored(recipe, run_dir)
    outcome = execute(run_id, ["reward_accuracy"], "20261127T120000Z")
    assert outcome == {"evaluation_id": "20261127T120000Z", "status": "succeeded"}
    assert runs.get_run(run_id).status == RunStatus.SUCCEEDED
    events = runs.events(run_id)
    assert all(e.message.startswith("evaluation 20261127T120000Z") for e in events)
    final = events[-1].metrics
    assert final["evaluation_status"] == "succeeded" and final["suite"] == ["reward_accuracy"]
    assert final["results"]["reward_accuracy"] == pytest.approx(at_training["reward_accuracy"])
    kinds = {a.kind: Path(a.path) for a in runs.artifacts(run_id)}
    assert kinds["evaluation_report_html"].is_file() and kinds["evaluation_report_json"].is_file()


def test_the_task_turns_failures_into_one_event(trained):
    recipe, run_dir, _ = trained
    failed = _stored(recipe, run_dir, succeeded=False)
    outcome = execute(failed, None, "20261127T120001Z")
    assert outcome["status"] == "failed"
    line = runs.events(failed)[-1].message
    expected = f"run {failed} is failed: only a succeeded run has an adapter to evaluate"
    assert line == f"evaluation 20261127T120001Z failed: {expected}"
    assert runs.get_run(failed).status == RunStatus.FAILED

    ok = _stored(recipe, run_dir)
    assert execute(ok, ["nope"], "20261127T120002Z")["status"] == "failed"
    assert "unknown metric nope: choose from" in runs.events(ok)[-1].message
    assert execute(ok, ["kl"], "../../etc")["status"] == "failed"  # the id names a folder
    assert not any(a.kind.startswith("evaluation_") for a in runs.artifacts(ok))
    assert execute("r-nope", None, "20261127T120003Z")["reason"].startswith("no run with id 'r-nope'")


def _rps_recipe(model_dir: Path, folder: Path):
    return parse_recipe(json.dumps({
        "name": "rps-tiny", "model": {"name_or_path": str(model_dir), "lora": {"r": 4, "alpha": 8}},
        "data": usr_records(folder),
        "method": {"method": "rps", "objectives": ["engagingness", "groundedness"], "k": 2,
                   "max_new_tokens": 6, "eval_directions_deg": [10, 45], "eval_prompts": 2,
                   "training": "none"},
        "training": {"max_steps": 2, "batch_size": 2, "max_length": 128, "max_prompt_length": 96,
                     "heldout_fraction": 0.25, "precision": "fp32"},
        "evaluation": {"metrics": ["reward_accuracy"]},
    }))  # fmt: skip


def test_directional_reevaluates_rps_with_its_saved_selection_model(tiny_model_dir, tmp_path):
    recipe = _rps_recipe(tiny_model_dir, tmp_path)
    at_training = run_recipe(recipe, tmp_path / "run", ListProgress()).metrics
    result = evaluate_run(
        recipe, tmp_path / "run", tmp_path / "run" / "adapter", ["directional"], ListProgress()
    )
    rps_keys = [k for k in at_training if k.startswith("rps_")]
    assert "rps_ood_win_rate_no_ties" in rps_keys
    _same(at_training, result.metrics, rps_keys)
    folder = tmp_path / "run" / EVALUATIONS_DIR / result.id
    section = json.loads((folder / "report.json").read_text())["method_report"]
    assert [row["target_deg"] for row in section["per_direction"]] == [10.0, 45.0]
    assert (folder / "rps" / "evaluation_samples.jsonl").is_file()
    assert (folder / "plots" / "directional.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
