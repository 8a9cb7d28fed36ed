"""`studio.generate` and `studio.export_merged` on the worker side, called as plain functions (tiny Llama);
the RPS branch on a real tiny RPS run, down to the table the Playground shows. The same calls through
Redis and a Celery worker: tests/studio/browser/ (the Playground step)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recipes.io import dump_recipe, parse_recipe, recipe_hash
from store import queue, runs, settings
from tests.workers.method_cases import usr_records

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
    assert set(result) == {"base", "adapter", "candidates", "selected", "in_coverage"}
    assert isinstance(result["base"], str) and isinstance(result["adapter"], str)
    assert result["candidates"] == [] and result["selected"] is None and result["in_coverage"] is None
    json.dumps(result)  # travels as JSON
    merged = export_merged(run_id)
    assert (Path(merged["path"]) / "config.json").is_file()
    assert merged["metadata"]["recipe_name"] == "gen" and "merged" in merged["metadata"]


def _tiny_rps_run(model_dir: Path, folder: Path) -> str:
    """A real RPS run (selection only: no training loop) trained by the worker's task function."""
    from workers.tasks import train_run

    method = {"method": "rps", "objectives": ["engagingness", "groundedness"], "k": 2, "max_new_tokens": 6,
              "eval_directions_deg": [10], "eval_prompts": 1, "training": "none"}  # fmt: skip
    recipe = parse_recipe(json.dumps({
        "name": "rps-play", "model": {"name_or_path": str(model_dir), "lora": {"r": 4, "alpha": 8}},
        "data": usr_records(folder), "method": method,
        "training": {"max_steps": 1, "batch_size": 2, "max_length": 128, "max_prompt_length": 96,
                     "heldout_fraction": 0.25, "precision": "fp32"},
        "evaluation": {"metrics": ["reward_accuracy"]},
    }))  # fmt: skip
    run = runs.create_run(dump_recipe(recipe), recipe.name, recipe_hash(recipe))
    assert train_run(run.id) == "succeeded", runs.get_run(run.id).status_reason
    return run.id


def test_rps_run_answers_with_candidates_and_the_playground_marks_the_selected_one(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from studio.tabs.playground import SELECTED, candidate_view, direction_controls, rps_spec
    from workers.tasks import generate

    run_id = _tiny_rps_run(tiny_model_dir, tmp_path)
    assert rps_spec(run_id).objectives == ("engagingness", "groundedness")
    controls = direction_controls(run_id)
    assert controls[0]["visible"] is True and "90° = all groundedness" in controls[1]["label"]

    result = generate(run_id, "Say hi.", 4, queue.direction_vector(45))
    json.dumps(result)
    assert isinstance(result["base"], str) and isinstance(result["adapter"], str)
    candidates = result["candidates"]
    assert [c["direction_deg"] for c in candidates] == [40.0, 35.0]  # the trusted grid nearest 45°
    assert result["in_coverage"] is False  # 45° is outside the default −30…30° coverage
    best = max(range(len(candidates)), key=lambda i: candidates[i]["score"])
    assert result["selected"] == best
    assert set(candidates[0]["objective_scores"]) == {"engagingness", "groundedness"}

    note, table = candidate_view(result, 45)
    frame = table["value"]
    assert list(frame.columns) == ["", "direction (°)", "score along target", "engagingness",
                                   "groundedness", "text"]  # fmt: skip
    assert list(frame[""]) == [SELECTED if i == best else "" for i in range(len(candidates))]
    assert f"candidate {best + 1} of 2" in note["value"] and "outside the trained coverage" in note["value"]


def test_direction_degrees_become_a_unit_vector() -> None:
    assert queue.direction_vector(0) == [1.0, 0.0]
    assert queue.direction_vector(90) == pytest.approx([0.0, 1.0])
