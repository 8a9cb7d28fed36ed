import typing

import pytest

from recipes import METHOD_SPECS, DPOSpec, parse_recipe
from recipes.recipe import Recipe


def test_method_registry_matches_the_union():
    annotation = Recipe.model_fields["method"].annotation  # a one-member Union collapses to the member
    members = set(typing.get_args(annotation)) or {annotation}
    assert set(METHOD_SPECS.values()) == members
    assert METHOD_SPECS["dpo"] is DPOSpec


def test_every_method_declares_data_shape_paper_and_descriptions():
    for name, spec in METHOD_SPECS.items():
        assert spec.DATA_SHAPE in {"pairs", "ranked_list", "pairs_with_rationale", "rated_responses"}
        assert spec.PAPER.startswith("https://")
        assert all(field.description for field in spec.model_fields.values()), name
        assert "DATA_SHAPE" not in spec.model_fields


def test_dpo_defaults_and_bounds():
    spec = DPOSpec(method="dpo")
    assert (spec.beta, spec.loss, spec.label_smoothing) == (0.1, "sigmoid", 0.0)
    for bad in ({"beta": 0}, {"beta": 10.5}, {"label_smoothing": 0.5}, {"loss": "kto"}):
        with pytest.raises(ValueError):
            DPOSpec(method="dpo", **bad)


@pytest.mark.parametrize(
    ("loss", "ok"), [("sigmoid", True), ("robust", True), ("ipo", False), ("hinge", False)]
)
def test_label_smoothing_only_with_sigmoid_or_robust(loss, ok):
    if ok:
        assert DPOSpec(method="dpo", loss=loss, label_smoothing=0.1).label_smoothing == 0.1
    else:
        with pytest.raises(ValueError, match="label_smoothing only works with loss sigmoid or robust"):
            DPOSpec(method="dpo", loss=loss, label_smoothing=0.1)


def test_specs_are_frozen():
    recipe = parse_recipe("name: x\ndata: {kind: hub, dataset: d, preset: pandalm}\nmethod: {method: dpo}\n")
    with pytest.raises(ValueError):
        recipe.method.beta = 1.0
