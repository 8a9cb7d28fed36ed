"""Every registered method runs from a YAML recipe with `studio run --wait` through a real Redis and a
real Celery worker (the real training pipeline, tiny model), and its adapter loads with peft."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from recipes.methods import METHOD_SPECS
from tests.e2e.conftest import Stack, start_stack, stop_stack
from tests.workers.method_cases import CASES, tiny_recipe

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

REAL_PIPELINE = "workers.pipelines.train:run_recipe"


@pytest.fixture(scope="module")
def real_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(tmp_path_factory.mktemp("every-method"))
    try:
        stack.start_worker(STUDIO_PIPELINE=REAL_PIPELINE)
        yield stack
    finally:
        stop_stack(stack)


@pytest.mark.parametrize("method", sorted(METHOD_SPECS))
def test_method_runs_from_yaml_with_studio_run_wait(method: str, real_stack: Stack, tiny_model_dir: Path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    folder = real_stack.data_dir / method
    folder.mkdir()
    recipe = folder / "recipe.yaml"  # JSON is YAML: the file the CLI reads is a plain recipe file
    recipe.write_text(json.dumps(tiny_recipe(CASES[method], tiny_model_dir, folder, name=f"cli-{method}")))
    result = real_stack.studio("run", str(recipe), "--wait", "--json", timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    payload = json.loads(result.stdout)
    assert payload["status"] == "succeeded" and payload["metrics"]["heldout_pairs"] >= 1
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert PeftModel.from_pretrained(base, payload["artifacts"]["adapter"]) is not None
