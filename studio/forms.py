"""The recipe form, generated from the recipe JSON schema: nothing here names a recipe field.

`form_tree(schema)` turns `recipes.io.recipe_json_schema()` into a tree of
- `Field`: one widget (its kind, label, help text with bounds, default and choices from the schema),
- `Section`: a nested object (optional ones get an on/off toggle, e.g. a field mapping),
- `Choice`: a discriminated union (data `kind`, `method`): a picker and one Section per member.

Pure functions convert between the widgets' values (a dict keyed by `Field.key`) and a recipe dict,
and map `recipes.errors` problems (dotted field paths) back onto widget keys. No Gradio here: the
renderer is `studio.ui_form`. A method added to `recipes.methods` appears in the picker with its own
hyperparameters and descriptions without any change in this file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

TOGGLE = "?"  # suffix of a Section's on/off widget key
PICKER = "#"  # suffix of a Choice's picker widget key
YAML_KINDS = ("yaml",)


@dataclass(frozen=True)
class Field:
    key: str  # unique widget key: the value path with union members in it, e.g. "method.dpo.beta"
    path: str  # the recipe path it fills, e.g. "method.beta" (what recipes.errors reports)
    name: str
    kind: str  # number | integer | text | choice | flag | choices | list | strlist | yaml
    label: str
    help: str
    default: Any = None
    required: bool = False
    nullable: bool = False
    choices: tuple[Any, ...] = ()
    column: bool = False  # names a column of the data file (the UI offers the uploaded file's columns)


@dataclass(frozen=True)
class Section:
    key: str
    path: str
    name: str
    label: str
    help: str
    children: tuple[Any, ...] = ()
    optional: bool = False  # None unless switched on (anyOf [object, null])


@dataclass(frozen=True)
class Choice:
    key: str
    path: str
    name: str
    label: str
    help: str
    tag: str  # the discriminator property, e.g. "method"
    variants: dict[str, Section] = field(default_factory=dict)
    default: str | None = None


Node = Field | Section | Choice


def form_tree(schema: dict[str, Any]) -> Section:
    """The whole form for a recipe JSON schema (its root object)."""
    return _object_section(schema, schema.get("$defs", {}), key="", path="", name="", required=True)


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    if "allOf" in node and len(node["allOf"]) == 1:
        merged = {**_resolve(node["allOf"][0], defs), **{k: v for k, v in node.items() if k != "allOf"}}
        return _resolve(merged, defs)
    return node


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _object_section(
    schema: dict, defs: dict, *, key: str, path: str, name: str, required: bool, optional: bool = False
) -> Section:
    children = []
    required_names = set(schema.get("required", ()))
    for child_name, child in schema.get("properties", {}).items():
        if "const" in _resolve(child, defs):
            continue  # a discriminator value or schema_version: set by the picker / the studio
        node = _node(child, defs, key=_join(key, child_name), path=_join(path, child_name), name=child_name,
                     required=child_name in required_names)  # fmt: skip
        children.append(node)
    label = name.replace("_", " ").capitalize() if name else _label(schema, name)  # not the class name
    return Section(key=key, path=path, name=name, label=label, help=_help(schema),
                   children=tuple(children), optional=optional)  # fmt: skip


def _node(schema: dict, defs: dict, *, key: str, path: str, name: str, required: bool) -> Node:
    described = schema
    schema = _resolve(schema, defs)
    if "discriminator" in schema and "oneOf" in schema:
        return _choice(schema, defs, key=key, path=path, name=name)
    members = [_resolve(m, defs) for m in schema.get("anyOf", [])]
    non_null = [m for m in members if m.get("type") != "null"]
    nullable = len(non_null) < len(members)
    if len(non_null) == 1 and non_null[0].get("type") == "object" and "properties" in non_null[0]:
        body = {**non_null[0], "description": described.get("description", non_null[0].get("description"))}
        return _object_section(body, defs, key=key, path=path, name=name, required=False, optional=True)
    if schema.get("type") == "object" and "properties" in schema:
        return _object_section(schema, defs, key=key, path=path, name=name, required=required)
    value_schema = non_null[0] if len(non_null) == 1 else schema
    kind, choices = _kind(value_schema, non_null)
    bounds = _bounds(value_schema)
    return Field(key=key, path=path, name=name, kind=kind, label=_label(schema, name),
                 help=_help(schema, bounds), default=schema.get("default"), required=required,
                 nullable=nullable, choices=choices,
                 column=kind in ("text", "strlist") and ".fields." in f".{path}.")  # fmt: skip


def _choice(schema: dict, defs: dict, *, key: str, path: str, name: str) -> Choice:
    tag = schema["discriminator"]["propertyName"]
    variants = {}
    for ref in schema["discriminator"]["mapping"].values():
        member = _resolve({"$ref": ref}, defs)
        value = member["properties"][tag]["const"]
        variants[value] = _object_section(member, defs, key=_join(key, value), path=path, name=value,
                                          required=True)  # fmt: skip
    return Choice(key=key, path=path, name=name, label=_label(schema, name), help=_help(schema), tag=tag,
                  variants=variants, default=next(iter(variants), None))  # fmt: skip


def _kind(schema: dict, non_null: list[dict]) -> tuple[str, tuple]:
    if "enum" in schema:
        return "choice", tuple(schema["enum"])
    kind = schema.get("type")
    if kind == "boolean":
        return "flag", ()
    if kind in ("integer", "number"):
        return kind, ()
    if kind == "string":
        return "text", ()
    if kind == "array" and "prefixItems" not in schema:
        items = schema.get("items", {})
        if "enum" in items:
            return "choices", tuple(items["enum"])
        if items.get("type") == "string":
            return "list", ()
    if len(non_null) > 1 and all(_is_text_or_text_list(m) for m in non_null):
        return "strlist", ()  # "a column, or several columns": one name, or a comma-separated list
    return "yaml", ()


def _is_text_or_text_list(schema: dict) -> bool:
    if schema.get("type") == "string":
        return True
    return schema.get("type") == "array" and schema.get("items", {}).get("type") == "string"


def _label(schema: dict, name: str) -> str:
    return schema.get("title") or name.replace("_", " ").capitalize()


def _bounds(schema: dict) -> str:
    parts = []
    signs = (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))
    for keyword, sign in signs:
        if keyword in schema:
            parts.append(f"{sign} {schema[keyword]:g}")
    return " and ".join(parts)


def _help(schema: dict, bounds: str = "") -> str:
    text = schema.get("description", "")
    if bounds:
        text = f"{text} ({bounds})" if text else bounds
    return text


def walk(node: Node):
    """Every node of the tree, depth first."""
    yield node
    if isinstance(node, Section):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, Choice):
        for variant in node.variants.values():
            yield from walk(variant)


def widget_keys(tree: Section) -> list[str]:
    """The key of every widget in a fixed order: fields, section toggles and union pickers."""
    keys = []
    for node in walk(tree):
        if isinstance(node, Field):
            keys.append(node.key)
        elif isinstance(node, Section) and node.optional:
            keys.append(node.key + TOGGLE)
        elif isinstance(node, Choice):
            keys.append(node.key + PICKER)
    return keys


def initial_values(tree: Section) -> dict[str, Any]:
    """Widget values of an untouched form: the schema's defaults, first union member picked."""
    return values_from_recipe(tree, {})


# ---- widget values → recipe dict ----------------------------------------------------------------


class FieldValueError(ValueError):
    """A widget holds something that is not even the right shape (e.g. unparsable inline YAML)."""

    def __init__(self, key: str, path: str, message: str) -> None:
        super().__init__(message)
        self.key, self.path, self.message = key, path, message


def recipe_from_values(tree: Section, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(recipe dict, {widget key: message} for values that cannot even be read). Empty widgets are left
    out, so the recipe's own defaults apply."""
    errors: dict[str, str] = {}
    return _section_value(tree, values, errors) or {}, errors


def _section_value(section: Section, values: dict, errors: dict) -> dict | None:
    if section.optional and not values.get(section.key + TOGGLE):
        return None
    out: dict[str, Any] = {}
    for child in section.children:
        value = _node_value(child, values, errors)
        if value is not _EMPTY:
            out[child.name] = value
    return out


_EMPTY = object()


def _node_value(node: Node, values: dict, errors: dict) -> Any:
    if isinstance(node, Section):
        value = _section_value(node, values, errors)
        return _EMPTY if value is None else value
    if isinstance(node, Choice):
        picked = values.get(node.key + PICKER) or node.default
        variant = node.variants.get(picked)
        if variant is None:
            return {node.tag: picked}
        return {node.tag: picked, **(_section_value(variant, values, errors) or {})}
    try:
        return _field_value(node, values.get(node.key))
    except ValueError as exc:
        errors[node.key] = str(exc)
        return _EMPTY


def _field_value(node: Field, raw: Any) -> Any:
    if raw is None or raw == "" or raw == []:
        return _EMPTY
    if isinstance(raw, float) and math.isnan(raw):
        return _EMPTY
    if node.kind in ("number", "integer") and isinstance(raw, str):
        return _number_from_text(raw.strip(), node.kind)
    if node.kind == "integer" and isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if node.kind in ("list", "strlist"):
        items = [item.strip() for item in str(raw).split(",") if item.strip()]
        return items[0] if len(items) == 1 and node.kind == "strlist" else items
    if node.kind == "yaml":
        try:
            return yaml.safe_load(str(raw))
        except yaml.YAMLError:
            raise ValueError("not valid YAML: write it like {key: value} or [a, b]") from None
    return raw


def _number_from_text(text: str, kind: str) -> int | float:
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None
    if kind == "integer":
        if not number.is_integer():
            raise ValueError(f"'{text}' is not a whole number")
        return int(number)
    return number


# ---- recipe dict → widget values ----------------------------------------------------------------


def values_from_recipe(tree: Section, recipe: dict[str, Any]) -> dict[str, Any]:
    """Widget values showing `recipe` (a plain dict, valid or not); what it lacks shows its default."""
    values: dict[str, Any] = {}
    _fill_section(tree, recipe if isinstance(recipe, dict) else {}, values, present=True)
    return values


def _fill_section(section: Section, data: Any, values: dict, present: bool) -> None:
    if section.optional:
        values[section.key + TOGGLE] = present and isinstance(data, dict)
    data = data if isinstance(data, dict) else {}
    for child in section.children:
        _fill_node(child, data.get(child.name, _EMPTY), values)


def _fill_node(node: Node, value: Any, values: dict) -> None:
    if isinstance(node, Section):
        _fill_section(node, None if value is _EMPTY else value, values, present=value not in (_EMPTY, None))
    elif isinstance(node, Choice):
        data = value if isinstance(value, dict) else {}
        picked = data.get(node.tag) if data.get(node.tag) in node.variants else node.default
        values[node.key + PICKER] = picked
        for tag, variant in node.variants.items():
            _fill_section(variant, data if tag == picked else {}, values, present=True)
    else:
        values[node.key] = widget_value(node, node.default if value is _EMPTY else value)


def widget_value(node: Field, value: Any) -> Any:
    """A recipe value as its widget shows it."""
    if value is None:
        if node.kind == "choices":
            return []
        if node.kind == "flag":
            return False
        return None if node.kind in ("number", "integer") and not node.nullable else ""
    if node.kind in ("number", "integer") and node.nullable:
        return str(value)
    if node.kind in ("list", "strlist"):
        return ", ".join(value) if isinstance(value, list) else str(value)
    if node.kind == "yaml":
        return yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    if node.kind == "choices":
        return list(value)
    return value


# ---- problems → widgets -----------------------------------------------------------------------


def field_paths(tree: Section, values: dict[str, Any]) -> dict[str, str]:
    """{recipe path: widget key} for the widgets in use (the picked union members only)."""
    paths: dict[str, str] = {}

    def visit(node: Node) -> None:
        if isinstance(node, Field):
            paths[node.path] = node.key
        elif isinstance(node, Section):
            if node.optional:
                paths.setdefault(node.path, node.key + TOGGLE)
            for child in node.children:
                visit(child)
        elif isinstance(node, Choice):
            paths[node.path] = node.key + PICKER
            picked = values.get(node.key + PICKER) or node.default
            if picked in node.variants:
                visit(node.variants[picked])

    visit(tree)
    return paths


def place_problems(
    tree: Section, values: dict[str, Any], problems: list[tuple[str, str]]
) -> tuple[dict[str, list[str]], list[str]]:
    """({widget key: messages}, messages with no widget of their own), for (path, message) problems.

    A problem on a nested path without a widget (e.g. `training.lr[0]`) goes to the closest ancestor
    that has one; a recipe-level problem goes to the general list.
    """
    paths = field_paths(tree, values)
    placed: dict[str, list[str]] = {}
    general: list[str] = []
    for path, message in problems:
        key = _closest_key(path, paths)
        if key is None:
            general.append(f"{path}: {message}" if path else message)
        else:
            placed.setdefault(key, []).append(message)
    return placed, general


def _closest_key(path: str, paths: dict[str, str]) -> str | None:
    candidate = path.split("[", 1)[0]
    while candidate:
        if candidate in paths:
            return paths[candidate]
        candidate = candidate.rpartition(".")[0]
    return None
