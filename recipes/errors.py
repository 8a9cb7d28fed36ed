"""Pydantic errors → one (dotted field path, human message that names the fix) per problem."""

import difflib
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

# Extra advice for fields where the bare bound is not enough to know what to type.
_HINTS: dict[str, str] = {
    "beta": "β is the KL strength, try 0.1",
    "learning_rate": "try 5e-5 for a LoRA adapter",
    "batch_size": "try 4",
    "name": "use lowercase letters, digits, '-', '_' or '.', e.g. my-first-dpo",
    "label_smoothing": "the assumed share of flipped labels, try 0.1",
}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class RecipeError(Exception):
    """An invalid recipe; `.problems` lists every problem at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated/Optional: the walk sees a model, a tuple of models (a union), list[X] or dict."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = tuple(a for a in typing.get_args(annotation) if a is not type(None))
        return _unwrap(members[0]) if len(members) == 1 else tuple(_unwrap(m) for m in members)
    return annotation


def _tag_of(model: type[BaseModel]) -> set[str]:
    """Names pydantic may put in a loc for this union member: its discriminator value(s) and class name."""
    tags = {model.__name__}
    for name in ("method", "kind"):
        field = model.model_fields.get(name)
        if field is not None and typing.get_origin(field.annotation) is typing.Literal:
            tags.update(str(v) for v in typing.get_args(field.annotation))
    return tags


def _is_model(node: Any) -> bool:
    return isinstance(node, type) and issubclass(node, BaseModel)


def _step(node: Any, item: Any) -> tuple[Any, bool, FieldInfo | None]:
    """Follow one loc item from `node`: (next node, whether the item is union noise, field info)."""
    if isinstance(node, tuple):  # a union of models: the item is the tag naming a member
        for member in node:
            if _is_model(member) and str(item) in _tag_of(member):
                return member, True, None
        return None, isinstance(item, str) and "[" in item, None
    if _is_model(node) and isinstance(item, str) and item in node.model_fields:
        info = node.model_fields[item]
        return _unwrap(info.annotation), False, info
    if _is_model(node) and str(item) in _tag_of(node):  # a one-member union still puts its tag in the loc
        return node, True, None
    origin = typing.get_origin(node)
    if origin in (list, tuple) and isinstance(item, int):
        return _unwrap(typing.get_args(node)[0]), False, None
    if origin is dict:
        return _unwrap(typing.get_args(node)[1]), False, None
    return None, False, None


def walk_loc(root: type[BaseModel], loc: tuple) -> tuple[str, type[BaseModel] | None, FieldInfo | None, Any]:
    """(dotted path without union tags, the model owning the last field, its field info, the node reached)."""
    node: Any = root
    parts: list[str] = []
    owner = root if _is_model(root) else None
    info = None
    for item in loc:
        previous = node
        node, is_noise, info = _step(node, item)
        if is_noise:
            continue
        if _is_model(previous):
            owner = previous
        parts.append(f"[{item}]" if isinstance(item, int) else str(item))
    return ".".join(parts).replace(".[", "["), owner, info, node


def _fix(field_name: str, info: FieldInfo | None) -> str:
    if field_name in _HINTS:
        return _HINTS[field_name]
    if info is not None and info.description:
        text = info.description.rstrip(".")
        # Lower-case the first letter unless it starts an acronym ("LoRA rank").
        return text if text[1:2].isupper() else text[:1].lower() + text[1:]
    return ""


def _closest(word: str, options: list[str]) -> str:
    match = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _message(error: dict, owner: type[BaseModel] | None, info: FieldInfo | None, field_name: str) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "extra_forbidden":
        options = list(owner.model_fields) if owner else []
        return f"unknown field '{field_name}'{_closest(field_name, options)}; remove it or fix its spelling"
    if kind == "literal_error":
        valid = [t.strip(" '") for t in str(ctx.get("expected", "")).replace(" or ", ", ").split(",")]
        return f"'{value}' is not allowed{_closest(value, valid)}; choose one of: {', '.join(valid)}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "missing":
        base = "is required"
    elif kind == "string_pattern_mismatch":
        base = f"'{value}' is not a valid {field_name}"
    elif kind in _BOUND_TEXT:
        base = f"{_BOUND_TEXT[kind].format(**ctx)} (got {value!r})"
    else:
        base = _TYPE_TEXT.get(kind, error["msg"][:1].lower() + error["msg"][1:])
        base = f"{base} (got {value!r})" if not isinstance(value, dict | list) else base
    fix = _fix(field_name, info)
    return f"{base} — {fix}" if fix else base


def _tag_message(error: dict, node: Any) -> str:
    """Wrong or missing discriminator (method / kind): list the valid values, suggest the closest."""
    ctx = error.get("ctx") or {}
    tag_name = str(ctx.get("discriminator", "")).strip("'")
    members = node if isinstance(node, tuple) else (node,)
    valid = sorted({str(v) for m in members if _is_model(m) for v in _literal_values(m, tag_name)})
    if error["type"] == "union_tag_not_found":
        return f"'{tag_name}' is missing; choose one of: {', '.join(valid)}"
    tag = ctx.get("tag")
    return f"'{tag}' is not a known {tag_name}{_closest(tag, valid)}; choose one of: {', '.join(valid)}"


def _literal_values(model: type[BaseModel], field_name: str) -> tuple:
    field = model.model_fields.get(field_name)
    return typing.get_args(field.annotation) if field is not None else ()


_TYPE_TEXT = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys",
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
}

_BOUND_TEXT = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "too_short": "needs at least {min_length} item(s)",
    "too_long": "allows at most {max_length} item(s)",
    "string_too_short": "needs at least {min_length} character(s)",
    "string_too_long": "allows at most {max_length} characters",
}


def problems_from_validation_error(
    exc: ValidationError, root: type[BaseModel] | None = None
) -> list[Problem]:
    """One Problem per pydantic error, with union tags dropped from the path and a message naming the fix."""
    if root is None:
        from recipes.recipe import (
            Recipe,
        )  # late: recipe imports every spec, errors must stay importable alone

        root = Recipe
    problems = []
    for error in exc.errors(include_url=False):
        path, owner, info, node = walk_loc(root, tuple(error["loc"]))
        field_name = path.rsplit(".", 1)[-1] if path else ""
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            message = _tag_message(error, node)
        else:
            message = _message(error, owner, info, field_name)
        problems.append(Problem(path, message))
    return problems
