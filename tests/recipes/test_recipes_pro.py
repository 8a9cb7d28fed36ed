"""PRO (Preference Orchestrator) recipes: defaults, and every refusal names the field and the fix."""

from pathlib import Path

import pytest
import yaml

from recipes import parse_recipe
from recipes.errors import RecipeError
from recipes.io import load_recipe
from recipes.methods import METHOD_SPECS
from recipes.methods.pro import PROSpec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pro.yaml"
SCORES = {"help": "h", "brief": "b", "safe": "s"}


def _recipe(method: dict, fields: dict | None = None) -> str:
    data = {"kind": "file", "path": "x.jsonl",
            "fields": fields or {"prompt": "p", "responses": "r", "scores": SCORES}}  # fmt: skip
    return yaml.safe_dump(
        {"name": "pro-test", "data": data, "method": {"method": "pro"} | method}, sort_keys=False
    )


def _problems(text: str) -> str:
    with pytest.raises(RecipeError) as caught:
        parse_recipe(text)
    return str(caught.value)


def test_defaults_and_registry():
    spec = parse_recipe(_recipe({})).method
    assert isinstance(spec, PROSpec) and METHOD_SPECS["pro"] is PROSpec
    assert (spec.beta, spec.normalization, spec.temperature, spec.prompt_encoder) == (
        0.1,
        "zscore",
        1.0,
        "minilm",
    )
    assert (spec.min_gap, spec.pair_weighting, spec.objectives, spec.weights_override) == (
        0.1,
        "strength",
        None,
        None,
    )
    assert spec.PAPER == "https://arxiv.org/abs/2511.10656"


def test_the_example_recipe_is_valid():
    recipe = load_recipe(EXAMPLE)
    assert recipe.method.method == "pro" and len(recipe.data.fields.scores) == 5


def test_pair_data_without_objectives_is_refused_naming_the_fields():
    pairs = {"prompt": "p", "chosen": "c", "rejected": "r"}
    message = _problems(_recipe({}, pairs))
    assert "data.fields: pro weighs several objectives" in message
    assert "fields.scores" in message and "fields.ratings" in message


def test_a_single_objective_is_refused():
    message = _problems(_recipe({}, {"prompt": "p", "responses": "r", "scores": {"help": "h"}}))
    assert "at least two objectives" in message and "this mapping has 1" in message


def test_ratings_count_as_objectives():
    fields = {"prompt": "p", "responses": "r", "ratings": {"help": ["h1", "h2"], "safe": ["s1", "s2"]}}
    assert parse_recipe(_recipe({"objectives": ["help", "safe"]}, fields)).method.objectives == [
        "help",
        "safe",
    ]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ({"objectives": ["help", "tone"]}, "method.objectives: ['tone'] are not objectives of the data"),
        ({"weights_override": {"tone": 1.0}}, "method.weights_override: ['tone'] are not objectives"),
    ],
)
def test_names_that_the_data_does_not_have_are_refused(method, expected):
    message = _problems(_recipe(method))
    assert expected in message and "data.fields.scores has ['help', 'brief', 'safe']" in message


@pytest.mark.parametrize(
    ("method", "field", "expected"),
    [
        ({"temperature": 0}, "method.temperature", "greater than 0"),
        ({"objectives": ["help"]}, "method.objectives", "at least 2"),
        ({"objectives": ["help", "help"]}, "method.objectives", "name each objective once"),
        ({"weights_override": {"help": -1.0, "brief": 2.0}}, "method", "['help'] a negative weight"),
        ({"weights_override": {"help": 0.0}}, "method", "some objective a weight above 0"),
        (
            {"objectives": ["help", "safe"], "weights_override": {"brief": 1.0}},
            "method",
            "not in objectives",
        ),
        ({"margin_scale": 2.0}, "method", "set pair_weighting to margin"),
        ({"normalization": "softmax"}, "method.normalization", "zscore"),
        ({"adapter_validation_fraction": 0.95}, "method.adapter_validation_fraction", "less than 0.9"),
        ({"prompt_encoder": "bert"}, "method.prompt_encoder", "minilm"),
    ],
)
def test_bad_hyperparameters_name_the_field_and_the_fix(method, field, expected):
    with pytest.raises(RecipeError) as caught:
        parse_recipe(_recipe(method))
    problems = caught.value.problems
    assert any(p.path.startswith(field) and expected in p.message for p in problems), problems


def test_a_fixed_override_with_margin_is_accepted():
    spec = parse_recipe(
        _recipe(
            {
                "weights_override": {"help": 1, "brief": 1, "safe": 1},
                "pair_weighting": "margin",
                "margin_scale": 2,
            }
        )
    ).method
    assert spec.weights_override == {"help": 1.0, "brief": 1.0, "safe": 1.0} and spec.margin_scale == 2.0
