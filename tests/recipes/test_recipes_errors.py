import pytest
from pydantic import ValidationError

from recipes import METHOD_SPECS, DPOSpec, RecipeError, parse_recipe
from recipes.errors import Problem, problems_from_validation_error

BASE = """
name: demo
data: {kind: file, path: x.jsonl, preset: prompt_chosen_rejected}
method: {method: dpo}
"""


def problems(text: str) -> dict[str, str]:
    with pytest.raises(RecipeError) as caught:
        parse_recipe(text)
    found = {problem.path: problem.message for problem in caught.value.problems}
    assert len(found) == len(caught.value.problems), "one problem per field path"
    return found


def test_bound_message_names_path_and_fix():
    found = problems(BASE.replace("{method: dpo}", "{method: dpo, beta: 0}"))
    assert found == {"method.beta": "must be greater than 0.0 (got 0) — β is the KL strength, try 0.1"}


def test_unknown_key_suggests_the_closest_field():
    found = problems(BASE.replace("{method: dpo}", "{method: dpo, betta: 0.2}"))
    assert found["method.betta"].startswith("unknown field 'betta' (did you mean 'beta'?)")


def test_unknown_key_without_a_close_match_has_no_suggestion():
    found = problems(BASE + "training: {zzzzz: 1}\n")
    assert found["training.zzzzz"].startswith("unknown field 'zzzzz';")


def test_wrong_method_name_lists_the_valid_ones():
    found = problems(BASE.replace("{method: dpo}", "{method: dpp}"))
    valid = ", ".join(sorted(METHOD_SPECS))  # every registered method, so a new one needs no edit here
    assert found == {"method": f"'dpp' is not a known method (did you mean 'dpo'?); choose one of: {valid}"}


def test_missing_method_tag_and_missing_required_fields():
    found = problems("name: demo\ndata: {kind: file, preset: pandalm}\nmethod: {beta: 0.1}\n")
    assert found["method"].startswith("'method' is missing; choose one of: dpo")
    assert found["data.path"].startswith("is required")


def test_wrong_data_kind_lists_the_kinds():
    found = problems(BASE.replace("kind: file", "kind: s3"))
    assert found["data"] == "'s3' is not a known kind; choose one of: argilla, file, hub"


def test_literal_errors_in_lists_keep_the_index():
    found = problems(BASE + "evaluation: {metrics: [ranking_accuracy, win_ratio]}\n")
    assert list(found) == ["evaluation.metrics[1]"]
    assert "choose one of: ranking_accuracy, reward_accuracy" in found["evaluation.metrics[1]"]


def test_union_tags_are_dropped_from_nested_data_paths():
    found = problems(BASE.replace("preset: prompt_chosen_rejected", "preset: hh, format: xlsx"))
    assert set(found) == {"data.preset", "data.format"}
    assert "choose one of: chosen_rejected" in found["data.preset"]


def test_model_validators_report_both_fields():
    found = problems(BASE + "training: {max_length: 64, max_prompt_length: 64}\n")
    assert "max_prompt_length (64)" in found["training"] and "max_length (64)" in found["training"]


def test_bad_name_is_explained():
    found = problems(BASE.replace("name: demo", "name: My Recipe!"))
    assert found["name"].startswith("'My Recipe!' is not a valid name — use lowercase letters")


def test_wrong_type_mentions_what_was_given():
    found = problems(BASE + "training: {batch_size: lots}\n")
    assert found["training.batch_size"] == "must be a whole number (got 'lots') — try 4"


def test_incomplete_field_mapping_says_what_is_missing():
    text = BASE.replace("preset: prompt_chosen_rejected", "fields: {responses: [a, b]}")
    found = problems(text)
    assert found["data"].startswith("the field mapping is incomplete: missing prompt; a signal")


def test_all_problems_are_reported_at_once():
    found = problems(
        BASE.replace("{method: dpo}", "{method: dpo, beta: -1, loss: l2}") + "training: {batch_size: 0}\n"
    )
    assert set(found) == {"method.beta", "method.loss", "training.batch_size"}


def test_problems_work_with_another_root_model():
    with pytest.raises(ValidationError) as caught:
        DPOSpec(method="dpo", beta=20)
    (problem,) = problems_from_validation_error(caught.value, root=DPOSpec)
    assert problem == Problem("beta", "must be at most 10.0 (got 20) — β is the KL strength, try 0.1")


def test_recipe_error_text_lists_every_problem():
    error = RecipeError([Problem("a.b", "bad"), Problem("c", "worse")])
    assert str(error) == "a.b: bad; c: worse"
