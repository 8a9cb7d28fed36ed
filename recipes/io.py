"""Recipes in and out: YAML parsing with readable errors, canonical dumping, hashing, schema, migrations."""

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from recipes.errors import Problem, RecipeError, problems_from_validation_error
from recipes.recipe import CURRENT_SCHEMA_VERSION, Recipe

# schema_version N → a function turning a version-N dict into a version-(N+1) dict (none while only v1).
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

_DATA_PATH_KEYS = ("path", "heldout_path")


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a recipe dict from its schema_version up to the current one (a missing version means 1)."""
    version = data.get("schema_version", CURRENT_SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RecipeError(
            [Problem("schema_version", f"must be a whole number from 1 to {CURRENT_SCHEMA_VERSION}")]
        )
    if version > CURRENT_SCHEMA_VERSION:
        newer = f"version {version} is newer than this studio understands ({CURRENT_SCHEMA_VERSION})"
        raise RecipeError([Problem("schema_version", f"{newer}; upgrade the studio")])
    while version < CURRENT_SCHEMA_VERSION:
        data = {**MIGRATIONS[version](data), "schema_version": version + 1}
        version += 1
    return data


def _yaml_problem(exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    what = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return Problem("", f"YAML syntax error at {where}{what}; fix the indentation or quoting there")


def _resolve_data_paths(data: dict[str, Any], base_dir: str | os.PathLike) -> dict[str, Any]:
    annotation = data.get("annotation")
    if isinstance(annotation, dict) and isinstance(annotation.get("items"), dict):
        # The items to annotate are read like `data`: their relative paths start at the recipe too.
        items = _resolve_data_paths({"data": annotation["items"]}, base_dir)["data"]
        data = {**data, "annotation": {**annotation, "items": items}}
    source = data.get("data")
    if not isinstance(source, dict) or source.get("kind") != "file":
        return data
    resolved = dict(source)
    for key in _DATA_PATH_KEYS:
        value = resolved.get(key)
        if isinstance(value, str) and value:
            value = os.path.expanduser(value)
            absolute = os.path.isabs(value)
            resolved[key] = value if absolute else os.path.normpath(os.path.join(os.fspath(base_dir), value))
    return {**data, "data": resolved}


def recipe_from_dict(data: Any, base_dir: str | os.PathLike | None = None) -> Recipe:
    """Validate a plain dict (already parsed YAML/JSON) into a Recipe; every problem is reported at once."""
    if not isinstance(data, dict):
        raise RecipeError([Problem("", "a recipe must be a mapping of keys (name, data, method, ...)")])
    data = migrate(data)
    if base_dir is not None:
        data = _resolve_data_paths(data, base_dir)
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(problems_from_validation_error(exc)) from None


def parse_recipe(text: str, base_dir: str | os.PathLike | None = None) -> Recipe:
    """YAML text → Recipe. Relative data paths are resolved against base_dir when it is given."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RecipeError([_yaml_problem(exc)]) from None
    return recipe_from_dict(data, base_dir)


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read a recipe file; its relative data paths start at the file's folder."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError([Problem("", f"recipe file {file} does not exist; check the path")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError([Problem("", f"cannot read recipe file {file}: {exc}")]) from None
    return parse_recipe(text, base_dir=file.resolve().parent)


def dump_recipe(recipe: Recipe) -> str:
    """YAML with every value explicit, keys in field order; parse_recipe(dump_recipe(r)) == r."""
    data = recipe.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def canonical_json(recipe: Recipe) -> str:
    return json.dumps(
        recipe.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def recipe_hash(recipe: Recipe) -> str:
    """sha256 (hex) of the canonical JSON: equal recipes hash equal, whatever their YAML formatting."""
    return hashlib.sha256(canonical_json(recipe).encode("utf-8")).hexdigest()


def recipe_json_schema() -> dict[str, Any]:
    """JSON schema of a recipe (descriptions, bounds, enums) for the UI form and editors."""
    return Recipe.model_json_schema()
