"""Argilla's search filters and sort orders as SQL over the server's own tables (SQLite JSON functions).

Runs inside the argilla-server process: imports only argilla_server, sqlalchemy and the stdlib.
The semantics follow argilla_server/search_engine/commons.py (the Elasticsearch engine), clause by
clause; each function names the ES clause it reproduces.
"""

from __future__ import annotations

from typing import Any

from argilla_server.enums import ResponseStatusFilter
from argilla_server.models import Question, Record, Response, Suggestion
from argilla_server.search_engine.base import (
    AndFilter,
    Filter,
    MetadataFilterScope,
    Order,
    RangeFilter,
    RecordFilterScope,
    ResponseFilterScope,
    SuggestionFilterScope,
    TermsFilter,
    TextQuery,
)
from sqlalchemy import ColumnElement, Text, and_, cast, exists, func, not_, or_, select, true

RECORD_PROPERTIES = ("id", "external_id", "status", "inserted_at", "updated_at")
SUGGESTION_PROPERTIES = ("value", "score", "agent", "type")


class UnsupportedQuery(ValueError):
    """A filter or sort this engine cannot answer; the message says which."""


def json_path(*keys: str) -> str:
    # Argilla validates question, field and metadata names against ^[a-z0-9_-]+$ (metadata: a bit
    # wider, but never a double quote), so quoting each key is enough.
    return "$" + "".join(f'."{key}"' for key in keys)


def build_filter(filter_: Filter) -> ColumnElement[bool]:
    if isinstance(filter_, AndFilter):
        return and_(true(), *(build_filter(inner) for inner in filter_.filters))
    scope = filter_.scope
    if isinstance(scope, ResponseFilterScope):
        return _response_filter(filter_, scope)
    if isinstance(scope, RecordFilterScope):
        return _compare(_record_column(scope.property), filter_)
    if isinstance(scope, MetadataFilterScope):
        return _json_compare(Record.metadata_, json_path(scope.metadata_property), filter_)
    if isinstance(scope, SuggestionFilterScope):
        return _suggestion_filter(filter_, scope)
    raise UnsupportedQuery(f"unknown filter scope {scope!r}")


def build_text_query(query: TextQuery | str | None, field_names: list[str]) -> ColumnElement[bool]:
    """ES `simple_query_string` with AND: every word must occur (case-insensitively) in the field(s)."""
    if query is None:
        return true()
    if isinstance(query, str):
        query = TextQuery(q=query)
    names = [query.field] if query.field else field_names
    # json_extract returns a string field unescaped (the column's JSON text escapes non-ASCII).
    texts = [func.lower(func.json_extract(Record.fields, json_path(name))) for name in names]
    words = [word.lower() for word in str(query.q).split() if word.strip()]
    return and_(
        true(), *(or_(*(text.like(_like_any(word), escape="\\") for text in texts)) for word in words)
    )


def build_order(order: Order) -> ColumnElement[Any]:
    """One ORDER BY term; missing values sort last in both directions, as in Elasticsearch."""
    expression = _order_expression(order.scope)
    ordered = expression.desc() if str(order.order) == "desc" else expression.asc()
    return ordered.nulls_last()


def _order_expression(scope: Any) -> ColumnElement[Any]:
    if isinstance(scope, RecordFilterScope):
        return _record_column(scope.property)
    if isinstance(scope, MetadataFilterScope):
        return func.json_extract(Record.metadata_, json_path(scope.metadata_property))
    if isinstance(scope, SuggestionFilterScope):
        column = _suggestion_column(scope.property)
        return (
            select(column)
            .join(Question, Question.id == Suggestion.question_id)
            .where(Suggestion.record_id == Record.id, Question.name == scope.question)
            .limit(1)
            .scalar_subquery()
        )
    if isinstance(scope, ResponseFilterScope):
        # ES: `mode: avg` over the nested responses (of this user, if the scope names one).
        key = scope.question or scope.property
        value = (
            func.json_extract(Response.values, json_path(key, "value")) if scope.question else Response.status
        )
        query = select(func.avg(value) if scope.question else func.min(value)).where(
            Response.record_id == Record.id
        )
        if scope.user is not None:
            query = query.where(Response.user_id == scope.user.id)
        return query.scalar_subquery()
    raise UnsupportedQuery(f"cannot sort by {scope!r}")


def _record_column(name: str) -> Any:
    if name not in RECORD_PROPERTIES:
        raise UnsupportedQuery(
            f"records cannot be filtered or sorted by '{name}' ({', '.join(RECORD_PROPERTIES)})"
        )
    return getattr(Record, name)


def _suggestion_column(name: str) -> Any:
    if name not in SUGGESTION_PROPERTIES:
        raise UnsupportedQuery(f"suggestions have no property '{name}' ({', '.join(SUGGESTION_PROPERTIES)})")
    if name in ("value", "score"):
        return func.json_extract(getattr(Suggestion, name), "$")
    return getattr(Suggestion, name)


def _compare(column: Any, filter_: Filter) -> ColumnElement[bool]:
    if isinstance(filter_, TermsFilter):
        return column.in_([str(value) for value in filter_.values])
    if isinstance(filter_, RangeFilter):
        return _range(column, filter_)
    raise UnsupportedQuery(f"cannot process filter {filter_!r}")


def _range(expression: Any, filter_: RangeFilter) -> ColumnElement[bool]:
    bounds = [true()]
    if filter_.ge is not None:
        bounds.append(expression >= filter_.ge)
    if filter_.le is not None:
        bounds.append(expression <= filter_.le)
    return and_(*bounds)


def _json_compare(column: Any, path: str, filter_: Filter) -> ColumnElement[bool]:
    """Terms match a scalar or any element of a list (ES keyword arrays); ranges read a number."""
    if isinstance(filter_, RangeFilter):
        return _range(func.json_extract(column, path), filter_)
    if isinstance(filter_, TermsFilter):
        # json_each over a scalar yields the scalar itself, over an array its elements.
        each = func.json_each(column, path).table_valued("value")
        values = [str(value) for value in filter_.values]
        return exists(select(1).select_from(each).where(cast(each.c.value, Text).in_(values)))
    raise UnsupportedQuery(f"cannot process filter {filter_!r}")


def _suggestion_filter(filter_: Filter, scope: SuggestionFilterScope) -> ColumnElement[bool]:
    if scope.property in ("value", "score"):
        condition = _json_compare(getattr(Suggestion, scope.property), "$", filter_)
    else:
        condition = _compare(_suggestion_column(scope.property), filter_)
    return exists(
        select(1)
        .select_from(Suggestion)
        .join(Question, Question.id == Suggestion.question_id)
        .where(Suggestion.record_id == Record.id, Question.name == scope.question, condition)
    )


def _response_filter(filter_: Filter, scope: ResponseFilterScope) -> ColumnElement[bool]:
    if scope.question:
        path = json_path(scope.question, "value")
        return _responses_exist(scope, _json_compare(Response.values, path, filter_))
    if scope.property == "status" and isinstance(filter_, TermsFilter):
        return _response_status_filter(filter_.values, scope)
    raise UnsupportedQuery(f"cannot process response filter {scope!r}")


def _response_status_filter(values: list[str], scope: ResponseFilterScope) -> ColumnElement[bool]:
    """commons.py `_response_status_filter_to_es_filter`: "pending" = no response of this user at all
    (of anybody, without a user); other statuses = a response of this user with that status."""
    wanted = [str(value) for value in values]
    parts = []
    if ResponseStatusFilter.pending.value in wanted:
        parts.append(not_(_responses_exist(scope, true())))
    others = [value for value in wanted if value != ResponseStatusFilter.pending.value]
    if others or not parts:
        condition = Response.status.in_(others) if others else true()
        parts.append(_responses_exist(scope, condition))
    return or_(*parts)


def _responses_exist(scope: ResponseFilterScope, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    query = select(1).select_from(Response).where(Response.record_id == Record.id, condition)
    if scope.user is not None:
        query = query.where(Response.user_id == scope.user.id)
    return exists(query)


def _like_any(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
