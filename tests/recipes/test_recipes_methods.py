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


def test_dpo_option_defaults_keep_plain_dpo():
    spec = DPOSpec(method="dpo")
    assert (spec.pair_weighting, spec.margin_scale, spec.beta_rejected, spec.rationale) == (
        "none",
        1.0,
        None,
        None,
    )
    rationale = DPOSpec(method="dpo", rationale={}).rationale
    assert (rationale.weight, rationale.form, rationale.randomize_slot) == (0.1, "linear", True)


@pytest.mark.parametrize(
    "bad",
    [
        {"pair_weighting": "votes"},
        {"pair_weighting": "margin", "margin_scale": -1},
        {"beta_rejected": 0},
        {"beta_rejected": -0.1},
        {"rationale": {"weight": 0}},
        {"rationale": {"form": "quadratic"}},
        {"rationale": {"weigth": 0.1}},
    ],
)
def test_dpo_option_bounds(bad):
    with pytest.raises(ValueError):
        DPOSpec(method="dpo", **bad)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pair_weighting": "soft_label", "label_smoothing": 0.1}, "set label_smoothing to 0"),
        ({"margin_scale": 2.0}, "margin_scale is only used with pair_weighting margin"),
        (
            {"pair_weighting": "strength", "margin_scale": 2.0},
            "margin_scale is only used with pair_weighting",
        ),
        ({"pair_weighting": "margin", "loss": "ipo"}, "pair_weighting margin only works with loss sigmoid"),
        ({"pair_weighting": "soft_label", "loss": "robust"}, "set loss to sigmoid"),
        ({"beta_rejected": 0.05, "loss": "ipo"}, "remove beta_rejected or use loss sigmoid"),
    ],
)
def test_dpo_option_conflicts_name_the_field_and_the_fix(options, message):
    with pytest.raises(ValueError, match=message):
        DPOSpec(method="dpo", **options)


@pytest.mark.parametrize(
    "options",
    [
        {"pair_weighting": "margin", "margin_scale": 0.5, "label_smoothing": 0.1},
        {"pair_weighting": "strength", "loss": "hinge"},
        {"pair_weighting": "soft_label", "beta_rejected": 0.08},
        {"beta_rejected": 0.08, "loss": "robust", "label_smoothing": 0.1},
        {"rationale": {"weight": 0.01, "form": "saturating", "randomize_slot": False}},
    ],
)
def test_dpo_options_that_compose(options):
    assert DPOSpec(method="dpo", **options).method == "dpo"


def test_dpo_options_round_trip_through_yaml_and_report_problems_by_path():
    from recipes.errors import RecipeError
    from recipes.io import dump_recipe

    text = (
        "name: x\ndata: {kind: hub, dataset: d, preset: pandalm}\n"
        "method: {method: dpo, pair_weighting: soft_label, beta_rejected: 0.08,"
        " rationale: {form: saturating}}\n"
    )
    recipe = parse_recipe(text)
    assert parse_recipe(dump_recipe(recipe)) == recipe
    with pytest.raises(RecipeError) as info:
        parse_recipe(text.replace("beta_rejected: 0.08", "beta_rejected: 0"))
    assert any(p.path == "method.beta_rejected" for p in info.value.problems)
