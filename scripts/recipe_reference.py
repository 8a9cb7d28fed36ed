"""Writes docs/recipes.md, the recipe field reference, from the recipe JSON schema.

The descriptions, defaults and bounds live in `recipes/` only; this page is generated so it can never
drift from them (tests/recipes/test_recipes_reference_doc.py fails when it is stale).

    .venv/bin/python scripts/recipe_reference.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from recipes.io import recipe_json_schema  # noqa: E402

DOC = ROOT / "docs" / "recipes.md"
BOUNDS = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<",
          "minLength": "length ≥", "maxLength": "length ≤", "minItems": "items ≥"}  # fmt: skip
INTRO = """# Recipe reference (schema v1)

Generated from the recipe JSON schema by `scripts/recipe_reference.py`; do not edit by hand.
A recipe is YAML: `studio validate FILE` lists every problem at once, next to its field.
Relative data paths start at the recipe file's folder. Examples: `examples/*.yaml`.
"""


def _type(prop: dict) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "enum" in prop:
        return " \\| ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    if "anyOf" in prop or "oneOf" in prop:
        return " or ".join(_type(p) for p in prop.get("anyOf", prop.get("oneOf", [])))
    if prop.get("type") == "array":
        return f"list of {_type(prop.get('items', {}))}"
    return prop.get("type", "any")


def _bounds(prop: dict) -> str:
    parts = [f"{sign} {prop[key]}" for key, sign in BOUNDS.items() if key in prop]
    for option in prop.get("anyOf", []):
        parts += [f"{sign} {option[key]}" for key, sign in BOUNDS.items() if key in option]
    return ", ".join(parts)


def _row(name: str, prop: dict, required: set[str]) -> str:
    if name in required:
        default = "required"
    elif "default" not in prop and "$ref" in prop:
        default = "its defaults"  # a nested section built from its own field defaults
    else:
        default = json.dumps(prop.get("default"), ensure_ascii=False)
    description = " ".join(prop.get("description", "").split()).replace("|", "\\|")
    return f"| `{name}` | {_type(prop)} | {default} | {_bounds(prop)} | {description} |"


def _section(title: str, schema: dict) -> list[str]:
    lines = [f"## {title}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    lines += ["| field | type | default | bounds | meaning |", "|---|---|---|---|---|"]
    required = set(schema.get("required", []))
    lines += [_row(name, prop, required) for name, prop in schema.get("properties", {}).items()]
    return lines + [""]


def render() -> str:
    schema = recipe_json_schema()
    lines = [INTRO, *_section("Recipe", schema)]
    for name, definition in sorted(schema.get("$defs", {}).items()):
        lines += _section(name, definition)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
