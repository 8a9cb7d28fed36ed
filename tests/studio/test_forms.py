"""The recipe form is generated from the schema: round trips, problems next to their fields, new methods."""

from __future__ import annotations

import yaml

from recipes.errors import RecipeError
from recipes.io import dump_recipe, load_recipe, recipe_from_dict, recipe_json_schema
from studio import forms

DEMO = "examples/demo-dpo.yaml"


def _tree() -> forms.Section:
    return forms.form_tree(recipe_json_schema())


def test_the_demo_recipe_round_trips_through_the_form_widgets() -> None:
    tree, recipe = _tree(), load_recipe(DEMO)
    values = forms.values_from_recipe(tree, yaml.safe_load(dump_recipe(recipe)))
    data, unreadable = forms.recipe_from_values(tree, values)
    assert unreadable == {} and recipe_from_dict(data) == recipe


def test_every_method_of_the_union_gets_its_own_hyperparameters_with_help() -> None:
    method = next(n for n in forms.walk(_tree()) if isinstance(n, forms.Choice) and n.path == "method")
    assert "dpo" in method.variants
    beta = next(
        f for f in forms.walk(method.variants["dpo"]) if isinstance(f, forms.Field) and f.name == "beta"
    )
    assert beta.kind == "number" and beta.default == 0.1 and "KL" in beta.help and "> 0" in beta.help
    schema_methods = set(recipe_json_schema()["properties"]["method"]["discriminator"]["mapping"])
    assert set(method.variants) == schema_methods  # methods added to recipes/ appear with no UI change


def test_a_wrong_value_is_placed_on_its_widget() -> None:
    tree = _tree()
    values = forms.values_from_recipe(tree, {"data": {"kind": "file"}, "method": {"method": "dpo"}})
    values.update({"name": "x", "method.dpo.beta": -1, "data.file.path": "d.jsonl"})
    values["data.file.preset"] = "prompt_chosen_rejected"
    data, _ = forms.recipe_from_values(tree, values)
    try:
        recipe_from_dict(data)
    except RecipeError as exc:
        placed, general = forms.place_problems(tree, values, [(p.path, p.message) for p in exc.problems])
    assert "method.dpo.beta" in placed and "greater than 0" in placed["method.dpo.beta"][0]
    assert general == []


def test_empty_widgets_leave_the_recipe_defaults_and_bad_text_is_reported() -> None:
    tree = _tree()
    values = forms.values_from_recipe(tree, {"method": {"method": "dpo"}})
    assert values["method.dpo.beta_rejected"] == ""  # optional number: an empty text box
    data, _ = forms.recipe_from_values(tree, values)
    assert "beta_rejected" not in data["method"]
    values["method.dpo.beta_rejected"] = "abc"
    _, unreadable = forms.recipe_from_values(tree, values)
    assert unreadable == {"method.dpo.beta_rejected": "'abc' is not a number"}
