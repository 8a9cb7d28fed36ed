"""docs/recipes.md is generated from the schema; it must match the code it documents."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_recipe_reference_doc_is_up_to_date():
    spec = importlib.util.spec_from_file_location(
        "recipe_reference", ROOT / "scripts" / "recipe_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "recipes.md").read_text(encoding="utf-8") == module.render(), (
        "docs/recipes.md is stale: run `.venv/bin/python scripts/recipe_reference.py`"
    )
