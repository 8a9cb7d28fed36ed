"""The listwise ranking method (PRO, Preference Ranking Optimization): its spec and the recipe checks
that refuse data it cannot rank, each message naming the field and the fix."""

import pytest

from recipes.errors import RecipeError
from recipes.io import dump_recipe, recipe_from_dict
from recipes.methods import METHOD_SPECS
from recipes.methods.ranking import UI_LABEL, RankingSpec

RANKED_FIELDS = {"prompt": "prompt", "responses": "responses", "ranks": "ranks"}


def _recipe(method: dict, data: dict | None = None):
    data = data or {"kind": "file", "path": "ranked.jsonl", "fields": RANKED_FIELDS}
    return recipe_from_dict({"name": "r", "data": data, "method": {"method": "ranking"} | method})


def _problems(method: dict, data: dict | None = None) -> str:
    with pytest.raises(RecipeError) as caught:
        _recipe(method, data)
    return str(caught.value)


def test_defaults_follow_the_official_code_and_the_name_does_not_collide_with_pro():
    spec = _recipe({}).method
    assert (spec.sft_weight, spec.score_gaps, spec.max_responses) == (0.05, "ranks", 4)
    assert METHOD_SPECS["ranking"] is RankingSpec and RankingSpec.DATA_SHAPE == "ranked_list"
    assert RankingSpec.model_json_schema()["title"] == UI_LABEL
    assert "Preference Ranking Optimization" in UI_LABEL and "Orchestrator" not in UI_LABEL


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "file", "path": "p.jsonl", "preset": "prompt_chosen_rejected"},
        {"kind": "file", "path": "p.jsonl", "preset": "pairwise_label"},
        {"kind": "hub", "dataset": "Anthropic/hh-rlhf", "preset": "chosen_rejected"},
        {"kind": "file", "path": "p.jsonl", "fields": {"prompt": "q", "responses": ["a", "b"], "label": "l"}},
    ],
)
def test_pair_data_is_refused_naming_the_field_and_the_fix(data):
    message = _problems({}, data)
    assert "data.fields" in message and "ranked responses" in message and "method dpo" in message


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "file", "path": "trees.jsonl", "preset": "ranked_siblings"},
        {"kind": "file", "path": "r.jsonl", "fields": {"prompt": "q", "responses": ["a", "b", "c"],
                                                       "ratings": {"help": ["ha", "hb", "hc"]}}},
    ],
)  # fmt: skip
def test_ranked_or_rated_data_is_accepted(data):
    assert _recipe({}, data).method.method == "ranking"


def test_score_gaps_need_ratings_or_scores():
    message = _problems({"score_gaps": "scores"})
    assert "method.score_gaps" in message and "set score_gaps to ranks" in message
    rated = {"kind": "file", "path": "r.jsonl",
             "fields": {"prompt": "q", "responses": "rs", "scores": {"overall": "overall"}}}  # fmt: skip
    assert _recipe({"score_gaps": "scores", "min_gap": 0.2}, rated).method.min_gap == 0.2


def test_min_gap_without_score_gaps_is_refused():
    assert "min_gap is only used with score_gaps scores" in _problems({"min_gap": 0.3})


@pytest.mark.parametrize(
    "bad", [{"max_responses": 1}, {"max_responses": 9}, {"sft_weight": -0.1}, {"score_gaps": "votes"}]
)
def test_bounds_are_enforced(bad):
    assert next(iter(bad)) in _problems(bad)


def test_round_trip_through_yaml():
    recipe = _recipe({"sft_weight": 0.1, "max_responses": 6})
    assert recipe_from_dict(__import__("yaml").safe_load(dump_recipe(recipe))) == recipe
