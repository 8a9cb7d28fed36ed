"""The contract every training method meets (architecture.md §4), run over every registered method:
YAML round trip, data shape, loss vs a hand computation, two steps move every LoRA B matrix, cancel
stops it. A new method joins by adding its case to tests/workers/method_cases.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from safetensors.torch import load_file

from recipes.io import dump_recipe, parse_recipe, recipe_json_schema
from recipes.methods import METHOD_SPECS
from tests.workers.method_cases import CASES, tiny_recipe
from workers.methods import RUNNERS
from workers.pipelines.train import run_recipe
from workers.progress import ListProgress, RunCancelled

METHODS = sorted(METHOD_SPECS)


def _recipe(case, model_dir: Path, folder: Path):
    return parse_recipe(json.dumps(tiny_recipe(case, model_dir, folder)))


def test_every_method_has_a_case_and_a_runner():
    assert set(CASES) == set(METHOD_SPECS) == set(RUNNERS)


@pytest.mark.parametrize("method", METHODS)
def test_recipe_round_trips_through_yaml(method, tmp_path, tiny_model_dir):
    recipe = _recipe(CASES[method], tiny_model_dir, tmp_path)
    assert parse_recipe(dump_recipe(recipe)) == recipe
    assert method in json.dumps(recipe_json_schema())


@pytest.mark.parametrize("method", METHODS)
def test_spec_documents_every_hyperparameter(method):
    spec = METHOD_SPECS[method]
    assert spec.DATA_SHAPE and spec.PAPER.startswith("https://")
    for name, info in spec.model_fields.items():
        assert info.description, f"{method}.{name} has no description for the UI"


@pytest.mark.parametrize("method", METHODS)
def test_loss_matches_a_hand_computation(method):
    CASES[method].hand_loss_check()


@pytest.mark.parametrize("method", METHODS)
def test_two_steps_move_every_lora_b_matrix(method, tmp_path, tiny_model_dir):
    progress = ListProgress()
    result = run_recipe(_recipe(CASES[method], tiny_model_dir, tmp_path), tmp_path / "run", progress)
    weights = load_file(result.artifacts["adapter"] / "adapter_model.safetensors")
    lora_b = {k: v for k, v in weights.items() if "lora_B" in k}
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b.values())  # B starts at zero in LoRA
    losses = [loss for _, _, loss, _ in progress.logs if loss is not None]
    assert len(losses) == 2 and all(math.isfinite(loss) for loss in losses)
    assert 0.0 <= result.metrics["reward_accuracy"] <= 1.0
    assert result.metrics["e4_dispersion_responses"] == 2 * result.metrics["heldout_pairs"]


@pytest.mark.parametrize("method", METHODS)
def test_cancel_stops_training(method, tmp_path, tiny_model_dir):
    recipe = _recipe(CASES[method], tiny_model_dir, tmp_path)
    recipe = recipe.model_copy(update={"training": recipe.training.model_copy(update={"max_steps": 50})})
    progress = ListProgress(stop_after=1)
    with pytest.raises(RunCancelled):
        run_recipe(recipe, tmp_path / "run", progress)
    assert max(step for step, *_ in progress.logs) < 50
