from pathlib import Path

import pytest

from recipes import (
    RecipeError,
    dump_recipe,
    load_recipe,
    migrate,
    parse_recipe,
    recipe_hash,
    recipe_json_schema,
)
from recipes.io import recipe_from_dict

MINIMAL = """
name: demo
data: {kind: file, path: data/pairs.jsonl, preset: prompt_chosen_rejected}
method: {method: dpo}
"""

FULL = """
schema_version: 1
name: pandalm-votes
description: "PandaLM with majority votes — ünïcode kept"
model:
  name_or_path: HuggingFaceTB/SmolLM2-135M-Instruct
  revision: main
  dtype: bfloat16
  lora: {r: 8, alpha: 16, dropout: 0.0, target_modules: [q_proj, v_proj]}
data:
  kind: file
  path: /data/testset-v1.json
  preset: pandalm
  fields:
    label_values: {1: a, 2: b, 0: tie}
    ratings: {helpful: [h1, h2]}
  limit: 100
method: {method: dpo, beta: 0.25, loss: robust, label_smoothing: 0.1}
training: {learning_rate: 1.0e-5, max_steps: 20, warmup_fraction: 0.1, lr_scheduler: cosine}
evaluation: {metrics: [ranking_accuracy], max_pairs: 50}
"""


@pytest.mark.parametrize("text", [MINIMAL, FULL])
def test_yaml_round_trip_is_exact_and_stable(text):
    recipe = parse_recipe(text)
    dumped = dump_recipe(recipe)
    assert parse_recipe(dumped) == recipe
    assert dump_recipe(parse_recipe(dumped)) == dumped
    assert recipe_hash(parse_recipe(dumped)) == recipe_hash(recipe)


def test_dump_writes_every_default_in_field_order():
    dumped = dump_recipe(parse_recipe(MINIMAL))
    top_keys = [line.split(":")[0] for line in dumped.splitlines() if line and not line.startswith(" ")]
    assert top_keys == [
        "schema_version",
        "name",
        "description",
        "model",
        "data",
        "method",
        "training",
        "evaluation",
        "annotation",
    ]
    assert "  beta: 0.1" in dumped and "  heldout_fraction: 0.2" in dumped and "  revision: null" in dumped
    data_block = dumped.split("data:\n")[1]
    assert data_block.startswith("  kind: file\n  path: data/pairs.jsonl")


def test_label_value_keys_survive_round_trip_as_text():
    recipe = parse_recipe(FULL)
    assert recipe.data.fields.label_values == {"1": "a", "2": "b", "0": "tie"}
    assert parse_recipe(dump_recipe(recipe)).data.fields.label_values == recipe.data.fields.label_values


def test_hash_changes_with_content_not_with_formatting():
    base = parse_recipe(MINIMAL)
    reformatted = parse_recipe(MINIMAL.replace("{method: dpo}", "\n  method: dpo\n  beta: 0.1"))
    assert recipe_hash(reformatted) == recipe_hash(base)
    assert recipe_hash(
        parse_recipe(MINIMAL.replace("{method: dpo}", "{method: dpo, beta: 0.2}"))
    ) != recipe_hash(base)
    assert len(recipe_hash(base)) == 64


def test_relative_data_paths_resolve_against_base_dir(tmp_path):
    text = MINIMAL.replace("preset:", "heldout_path: data/held.jsonl, preset:")
    recipe = parse_recipe(text, base_dir=tmp_path)
    assert recipe.data.path == str(tmp_path / "data" / "pairs.jsonl")
    assert recipe.data.heldout_path == str(tmp_path / "data" / "held.jsonl")
    assert parse_recipe(text).data.path == "data/pairs.jsonl"


def test_load_recipe_uses_the_file_folder(tmp_path):
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "r.yaml").write_text(MINIMAL)
    assert load_recipe(folder / "r.yaml").data.path == str(folder.resolve() / "data" / "pairs.jsonl")


def test_load_recipe_missing_file_is_a_recipe_error(tmp_path):
    with pytest.raises(RecipeError, match="does not exist") as caught:
        load_recipe(tmp_path / "nope.yaml")
    assert len(caught.value.problems) == 1


def test_yaml_syntax_error_names_line_and_column():
    with pytest.raises(RecipeError) as caught:
        parse_recipe("name: demo\nmethod: {method: dpo\ndata: [\n")
    (problem,) = caught.value.problems
    assert "YAML syntax error at line" in problem.message and "column" in problem.message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string", ""])
def test_non_mapping_documents_are_rejected(text):
    with pytest.raises(RecipeError, match="mapping"):
        parse_recipe(text)


def test_migrate_accepts_v1_and_rejects_newer_or_junk_versions():
    assert migrate({"schema_version": 1, "name": "x"}) == {"schema_version": 1, "name": "x"}
    with pytest.raises(RecipeError, match="newer than this studio"):
        parse_recipe(MINIMAL + "schema_version: 2\n")
    with pytest.raises(RecipeError) as caught:
        recipe_from_dict({"schema_version": "one"})
    assert caught.value.problems[0].path == "schema_version"


def test_json_schema_has_descriptions_bounds_and_the_method_union():
    schema = recipe_json_schema()
    defs = schema["$defs"]
    dpo = defs["DPOSpec"]["properties"]
    assert dpo["beta"]["exclusiveMinimum"] == 0 and dpo["beta"]["maximum"] == 10
    assert "KL strength" in dpo["beta"]["description"]
    assert set(dpo["loss"]["enum"]) == {"sigmoid", "ipo", "hinge", "robust"}
    assert schema["properties"]["method"]["discriminator"]["propertyName"] == "method"
    assert defs["TrainingSpec"]["properties"]["batch_size"]["minimum"] == 1


def _all_properties(schema: dict):
    for name, model in schema["$defs"].items():
        if name in {"PreferenceRecord", "PreferencePair"}:
            continue
        for field, prop in model.get("properties", {}).items():
            yield f"{name}.{field}", prop
    yield from ((f"Recipe.{k}", v) for k, v in schema["properties"].items())


def test_every_recipe_field_has_a_description():
    missing = [name for name, prop in _all_properties(recipe_json_schema()) if not prop.get("description")]
    assert missing == []


def test_example_recipe_file_round_trips(tmp_path):
    path = Path(tmp_path / "ok.yaml")
    path.write_text(dump_recipe(parse_recipe(FULL)))
    assert load_recipe(path) == parse_recipe(FULL)
