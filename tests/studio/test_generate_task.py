"""`studio.generate` and `studio.export_merged` on the worker side, called as plain functions (tiny Llama)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from store import queue, runs, settings

pytestmark = pytest.mark.timeout(300)


def _run_with_adapter(model_dir: Path) -> str:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    recipe = (
        f"name: gen\nmodel: {{name_or_path: {model_dir}}}\n"
        "data: {kind: file, path: x.jsonl, preset: prompt_chosen_rejected}\n"
        "method: {method: dpo}\n"
    )
    run = runs.create_run(recipe, "gen", "0" * 64)
    adapter = settings.runs_dir(run.id) / "adapter"
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(model_dir), LoraConfig(r=2, target_modules=["q_proj"])
    )
    model.save_pretrained(adapter)
    (adapter / "studio_adapter.json").write_text(json.dumps({"recipe_name": "gen"}))
    runs.add_artifact(run.id, "adapter", adapter)
    return run.id


def test_generate_answers_with_base_and_adapter(tiny_model_dir: Path) -> None:
    from workers.tasks import export_merged, generate

    run_id = _run_with_adapter(tiny_model_dir)
    result = generate(run_id, "Say hi", 4, None)
    assert set(result) == {"base", "adapter", "candidates", "selected"}
    assert isinstance(result["base"], str) and isinstance(result["adapter"], str)
    assert result["candidates"] == [] and result["selected"] is None
    json.dumps(result)  # travels as JSON
    merged = export_merged(run_id)
    assert (Path(merged["path"]) / "config.json").is_file()
    assert merged["metadata"]["recipe_name"] == "gen" and "merged" in merged["metadata"]


def test_direction_degrees_become_a_unit_vector() -> None:
    assert queue.direction_vector(0) == [1.0, 0.0]
    assert queue.direction_vector(90) == pytest.approx([0.0, 1.0])
