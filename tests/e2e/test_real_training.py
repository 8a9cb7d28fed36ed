"""The real training pipeline through a real Redis and a real Celery worker, driven by the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

REAL_PIPELINE = "workers.pipelines.train:run_recipe"
LLMBAR = Path(__file__).resolve().parents[3] / "shared" / "data" / "llmbar" / "LLMBar_Natural.json"


def _recipe(stack: Stack, model_dir: Path, data: Path, name: str) -> Path:
    path = stack.data_dir / f"{name}.yaml"
    path.write_text(
        f"name: {name}\n"
        f"model: {{name_or_path: {model_dir}, lora: {{r: 4, alpha: 8}}}}\n"
        f"data: {{kind: file, path: {data}, preset: prompt_chosen_rejected}}\n"
        "method: {method: dpo, beta: 0.1}\n"
        "training: {max_steps: 3, batch_size: 2, max_length: 96, max_prompt_length: 48, logging_steps: 1,"
        " heldout_fraction: 0.25, precision: fp32}\n"
    )
    return path


def _llmbar_pairs(path: Path, n: int) -> Path:
    rows = json.loads(LLMBAR.read_text())[:n]
    lines = [
        json.dumps({"prompt": r["input"], "chosen": r[f"output_{r['label']}"],
                    "rejected": r[f"output_{3 - r['label']}"]})
        for r in rows
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def test_real_training_run_succeeds_and_its_adapter_loads(own_stack: Stack, tiny_model_dir: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    own_stack.start_worker(STUDIO_PIPELINE=REAL_PIPELINE)
    data = _llmbar_pairs(own_stack.data_dir / "pairs.jsonl", 16)
    result = own_stack.studio(
        "run", str(_recipe(own_stack, tiny_model_dir, data, "real")), "--wait", "--json", timeout=240
    )
    assert result.returncode == 0, result.stderr[-2000:]
    payload = json.loads(result.stdout)
    assert payload["status"] == "succeeded"
    assert 0.0 <= payload["metrics"]["reward_accuracy"] <= 1.0
    report = json.loads(Path(payload["artifacts"]["report_json"]).read_text())
    assert report["training"]["steps"] == 3
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert PeftModel.from_pretrained(base, payload["artifacts"]["adapter"]) is not None

    shown = own_stack.studio("runs", "show", payload["run_id"])
    assert "succeeded" in shown.stdout and "reward_accuracy" in shown.stdout


def test_a_file_with_no_usable_row_fails_with_one_line(own_stack: Stack, tiny_model_dir: Path) -> None:
    own_stack.start_worker(STUDIO_PIPELINE=REAL_PIPELINE)
    data = own_stack.data_dir / "bad.jsonl"
    data.write_bytes(b'{"prompt": "p", "chosen": "same", "rejected": "same"}\n\xff\xfe broken\n')
    result = own_stack.studio(
        "run", str(_recipe(own_stack, tiny_model_dir, data, "bad")), "--wait", "--json", timeout=240
    )
    payload = json.loads(result.stdout)
    assert result.returncode != 0 and payload["status"] == "failed"
    assert payload["reason"].startswith("no usable rows in") and "\n" not in payload["reason"]
    assert "identical_responses 1" in payload["reason"] and "non_utf8 1" in payload["reason"]
    shown = own_stack.studio("runs", "show", payload["run_id"])
    assert "no usable rows" in shown.stdout and "Traceback" not in shown.stdout + shown.stderr
