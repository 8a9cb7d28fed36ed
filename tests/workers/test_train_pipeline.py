"""The real training pipeline on the tiny model: weights move, cancel stops, bad rows are counted."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from recipes.io import parse_recipe
from workers.errors import UserFacingError
from workers.pipelines.train import run_recipe
from workers.progress import ListProgress, RunCancelled

LLMBAR = Path(__file__).resolve().parents[3] / "shared" / "data" / "llmbar" / "LLMBar_Natural.json"


def _pairs(n: int) -> list[dict]:
    rows = json.loads(LLMBAR.read_text())[:n]
    return [
        {"prompt": r["input"], "chosen": r[f"output_{r['label']}"], "rejected": r[f"output_{3 - r['label']}"]}
        for r in rows
    ]


def _write_jsonl(path: Path, rows: list[dict], extra_lines: list[bytes] = ()) -> Path:
    with path.open("wb") as handle:
        for row in rows:
            handle.write(json.dumps(row).encode() + b"\n")
        for line in extra_lines:
            handle.write(line + b"\n")
    return path


def _recipe(model_dir: Path, data: Path, **training):
    settings = {
        "max_steps": 2,
        "batch_size": 2,
        "max_length": 96,
        "max_prompt_length": 48,
        "logging_steps": 1,
        "learning_rate": 0.01,
        "heldout_fraction": 0.25,
        "precision": "fp32",
    } | training
    text = json.dumps(
        {
            "name": "tiny",
            "model": {"name_or_path": str(model_dir), "lora": {"r": 4, "alpha": 8}},
            "data": {"kind": "file", "path": str(data), "preset": "prompt_chosen_rejected"},
            "method": {"method": "dpo", "beta": 0.1},
            "training": settings,
            "evaluation": {
                "bootstrap_samples": 100,
                "kl_prompts": 4,
                "kl_max_new_tokens": 8,
                "perplexity_windows": 4,
            },
        }
    )
    return parse_recipe(text)


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    return _write_jsonl(tmp_path / "pairs.jsonl", _pairs(16))


def test_two_steps_change_every_lora_b_matrix_and_write_artifacts(tiny_model_dir, data_file, tmp_path):
    progress = ListProgress()
    result = run_recipe(_recipe(tiny_model_dir, data_file), tmp_path / "run", progress)
    weights = load_file(result.artifacts["adapter"] / "adapter_model.safetensors")
    lora_b = {k: v for k, v in weights.items() if "lora_B" in k}
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b.values())  # B starts at zero in LoRA
    assert [step for step, *_ in progress.logs][:2] == [1, 2]
    assert progress.logs[0][2] is not None and "rewards/margin" in progress.logs[0][3]
    report = json.loads(result.artifacts["report_json"].read_text())
    assert report["report_version"] == 1 and report["metrics"]["heldout_pairs"] >= 1
    assert [point["step"] for point in report["curves"]] == [1, 2]
    assert "rewards/accuracy" in report["curves"][0]["metrics"]
    meta = json.loads((result.artifacts["adapter"] / "studio_adapter.json").read_text())
    assert meta["recipe_hash"] == report["recipe_hash"] and meta["versions"]["peft"]
    assert "Ranking accuracy" in result.artifacts["report_md"].read_text()
    assert "data:image/png;base64," in result.artifacts["report_html"].read_text()


def test_adapter_loads_with_peft_on_its_base(tiny_model_dir, data_file, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    result = run_recipe(_recipe(tiny_model_dir, data_file), tmp_path / "run", ListProgress())
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir), result.artifacts["adapter"]
    )
    assert torch.isfinite(model(input_ids=torch.tensor([[1, 5, 9]])).logits).all()


def test_cancel_stops_training(tiny_model_dir, data_file, tmp_path):
    progress = ListProgress(stop_after=1)
    with pytest.raises(RunCancelled):
        run_recipe(_recipe(tiny_model_dir, data_file, max_steps=50), tmp_path / "run", progress)
    assert max(step for step, *_ in progress.logs) <= 2  # checked after every step, so it stops at once


def test_bad_rows_are_skipped_and_counted(tiny_model_dir, tmp_path):
    good = _pairs(12)
    bad = [
        {"prompt": "p", "chosen": "a"},
        {"prompt": "p", "chosen": " ", "rejected": "b"},
        {"prompt": "p", "chosen": "same", "rejected": "same"},
    ]
    data = _write_jsonl(tmp_path / "mixed.jsonl", good + bad, [b'{"prompt": "caf\xe9"}', b"{not json"])
    result = run_recipe(_recipe(tiny_model_dir, data), tmp_path / "run", ListProgress())
    skipped = result.data_report["data_skipped"]
    assert skipped == {
        "bad_json": 1,
        "empty_response": 1,
        "identical_responses": 1,
        "missing_field": 1,
        "non_utf8": 1,
    }
    assert result.data_report["data_pairs"] == 12


def test_no_usable_row_is_one_line_user_error(tiny_model_dir, tmp_path):
    data = _write_jsonl(
        tmp_path / "bad.jsonl", [{"prompt": "p", "chosen": "x", "rejected": "x"}], [b"\xff\xfe"]
    )
    with pytest.raises(UserFacingError) as info:
        run_recipe(_recipe(tiny_model_dir, data), tmp_path / "run", ListProgress())
    assert "no usable rows" in str(info.value) and "\n" not in str(info.value)
    assert "identical_responses 1" in str(info.value) and "non_utf8 1" in str(info.value)


def test_report_has_e2_e4_and_the_ches_data_check(tiny_model_dir, data_file, tmp_path):
    result = run_recipe(
        _recipe(tiny_model_dir, data_file, drop_top_ln_ches=0.5), tmp_path / "run", ListProgress()
    )
    report = json.loads(result.artifacts["report_json"].read_text())
    metrics, ches = report["metrics"], report["ches"]
    assert {"e2_alignment_gap", "e4_displacement_rate", "e4_both_decrease_rate"} <= set(metrics)
    assert {"kl_k1_sequence", "kl_k3_sequence", "ppl_base", "ppl_delta", "ppl_in_domain_delta"} <= set(
        metrics
    )
    assert metrics["kl_k3_sequence"] >= 0 and metrics["ppl_base"] > 1
    assert ches["train_pairs"] == len(ches["ln_ches"]) and ches["dropped_pairs"] == ches["train_pairs"] // 2
    assert report["training"]["train_pairs"] == ches["train_pairs"] - ches["dropped_pairs"]


def test_win_rate_uses_a_judge_trained_on_text_nobody_trains_or_evaluates_on(tiny_model_dir, tmp_path):
    data = _write_jsonl(tmp_path / "pairs.jsonl", _pairs(32))
    recipe = _recipe(tiny_model_dir, data)
    evaluation = recipe.evaluation.model_copy(
        update={"metrics": ["ranking_accuracy", "reward_accuracy", "win_rate"], "judge_fraction": 0.25,
                "win_rate_prompts": 3, "win_rate_max_new_tokens": 6}
    )  # fmt: skip
    result = run_recipe(
        recipe.model_copy(update={"evaluation": evaluation}), tmp_path / "run", ListProgress()
    )
    metrics, data_report = result.metrics, result.data_report
    assert data_report["judge_pairs"] > 0 and data_report["judge_leakage"] == {"train": 0, "heldout": 0}
    assert 0 <= metrics["win_rate"] <= 1 and metrics["win_rate_prompts"] == 3
    assert {"judge_accuracy", "win_rate_judge_weak", "win_rate_length_controlled"} <= set(metrics)
    assert (tmp_path / "run" / "judge").is_dir()
