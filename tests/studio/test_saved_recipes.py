"""Saved recipes: the canonical YAML in the DB by name, with its schema_version; saving again updates."""

from __future__ import annotations

import yaml

from recipes.io import load_recipe, parse_recipe
from store.db import session_scope
from store.tables import RecipeRow
from studio import ui_saved

DEMO = "examples/demo-dpo.yaml"


def test_save_list_and_load_round_trip() -> None:
    recipe = load_recipe(DEMO)
    row, created = ui_saved.save(recipe)
    assert created and row.schema_version == recipe.schema_version == 1
    assert ui_saved.names() == [recipe.name]
    assert parse_recipe(ui_saved.load(recipe.name)) == recipe

    changed = recipe.model_copy(update={"description": "second save"})
    row, created = ui_saved.save(changed)
    assert not created and ui_saved.names() == [recipe.name]
    assert parse_recipe(ui_saved.load(recipe.name)).description == "second save"


def test_a_save_that_no_longer_validates_comes_back_as_written() -> None:
    with session_scope() as session:
        session.add(RecipeRow(name="old", yaml="name: old\nmethod: {method: dpo, beta: -1}\n"))
    assert yaml.safe_load(ui_saved.load("old"))["method"]["beta"] == -1  # the form then flags β
    try:
        ui_saved.load("missing")
    except LookupError as exc:
        assert "no saved recipe named 'missing'" in str(exc)
    else:
        raise AssertionError("a missing name must raise")
