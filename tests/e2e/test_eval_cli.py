"""`studio eval` through the real stack: a real Redis, a real Celery worker running the real pipeline on
the tiny model, and the CLI in its own process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

REAL_PIPELINE = "workers.pipelines.train:run_recipe"
LLMBAR = Path(__file__).resolve().parents[3] / "shared" / "data" / "llmbar" / "LLMBar_Natural.json"


def _recipe(stack: Stack, model_dir: Path) -> Path:
    rows = json.loads(LLMBAR.read_text())[:12]
    data = stack.data_dir / "pairs.jsonl"
    data.write_text("".join(
        json.dumps({"prompt": r["input"], "chosen": r[f"output_{r['label']}"],
                    "rejected": r[f"output_{3 - r['label']}"]}) + "\n"
        for r in rows
    ))  # fmt: skip
    path = stack.data_dir / "eval.yaml"
    path.write_text(
        f"name: eval-cli\nmodel: {{name_or_path: {model_dir}, lora: {{r: 4, alpha: 8}}}}\n"
        f"data: {{kind: file, path: {data}, preset: prompt_chosen_rejected}}\n"
        "method: {method: dpo, beta: 0.1}\n"
        "training: {max_steps: 1, batch_size: 2, max_length: 64, max_prompt_length: 32,"
        " heldout_fraction: 0.25, precision: fp32}\n"
        "evaluation: {metrics: [reward_accuracy], bootstrap_samples: 100}\n"
    )
    return path


def test_eval_reevaluates_a_finished_run_on_a_worker(own_stack: Stack, tiny_model_dir: Path) -> None:
    own_stack.start_worker(STUDIO_PIPELINE=REAL_PIPELINE)
    trained = own_stack.studio(
        "run", str(_recipe(own_stack, tiny_model_dir)), "--wait", "--json", timeout=120
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    run = json.loads(trained.stdout)

    result = own_stack.studio(
        "eval", run["run_id"], "--suite", "reward_accuracy", "--wait", "--json", timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    payload = json.loads(result.stdout)
    assert payload["status"] == "succeeded" and payload["suite"] == ["reward_accuracy"]
    assert payload["metrics"]["reward_accuracy"] == pytest.approx(run["metrics"]["reward_accuracy"])
    assert payload["metrics"]["heldout_pairs"] == run["metrics"]["heldout_pairs"]
    report = Path(payload["artifacts"]["evaluation_report_html"])
    assert (
        report.parent == Path(run["artifacts"]["adapter"]).parent / "evaluations" / payload["evaluation_id"]
    )
    assert "data:image/png;base64," in report.read_text()

    shown = json.loads(own_stack.studio("runs", "show", run["run_id"], "--json").stdout)
    assert shown["status"] == "succeeded" and shown["artifacts"]["evaluation_report_json"]
    assert any(
        f"evaluation {payload['evaluation_id']} finished" in (e["message"] or "") for e in shown["events"]
    )

    refused = own_stack.studio("eval", run["run_id"], "--suite", "reward_acc,kl")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "unknown metric reward_acc: choose from ranking_accuracy, reward_accuracy" in refused.stderr
    unknown = own_stack.studio("eval", "r-nope")
    assert unknown.returncode == 1 and "no run with id 'r-nope'" in unknown.stderr

    # A failure on the worker comes back as its one line, printed by the waiting CLI (exit 1).
    config = Path(run["artifacts"]["adapter"]) / "adapter_config.json"
    config.rename(config.with_suffix(".moved"))
    failed = own_stack.studio("eval", run["run_id"], "--suite", "kl", "--wait", timeout=120)
    assert failed.returncode == 1 and "Traceback" not in failed.stdout + failed.stderr
    assert f"error: no PEFT adapter in {config.parent}" in " ".join(failed.stderr.split())
    events = json.loads(own_stack.studio("runs", "show", run["run_id"], "--json").stdout)["events"]
    assert "failed: no PEFT adapter in" in events[-1]["message"]
