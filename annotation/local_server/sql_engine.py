"""An argilla-server `SearchEngine` answered from the server's own SQL database (SQLite).

argilla-server 2.8 refuses to start without Elasticsearch or OpenSearch, and neither can be installed
on one machine from PyPI/npm/Debian. Its `SearchEngine` registry lets another class stand in: this one
keeps no index at all (indexing is a no-op, the records, responses and suggestions already live in the
database) and answers every read — the annotator queue, filters, text query, sort, progress and
metadata metrics — with SQL. Vector (similarity) search is refused with a clear message.

Loaded inside the argilla-server process and its rq worker (its own venv): import only argilla_server,
sqlalchemy and the stdlib here. Register it by importing this module before the app starts, then set
`ARGILLA_SEARCH_ENGINE=studio-sql` (see `launch.py`). docker/ uses Elasticsearch and never this file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from argilla_server.database import AsyncSessionLocal
from argilla_server.enums import MetadataPropertyType, SimilarityOrder
from argilla_server.errors.future import UnprocessableEntityError
from argilla_server.models import (
    Dataset,
    Field,
    MetadataProperty,
    Record,
    Response,
    Suggestion,
    User,
    VectorSettings,
)
from argilla_server.search_engine.base import (
    FloatMetadataMetrics,
    IntegerMetadataMetrics,
    MetadataMetrics,
    SearchEngine,
    SearchResponseItem,
    SearchResponses,
    TermsMetrics,
)
from argilla_server.settings import settings
from sqlalchemy import Text, and_, cast, func, select, true

from annotation.local_server import sql_filters
from annotation.local_server.sql_filters import UnsupportedQuery

ENGINE_NAME = "studio-sql"
ENGINE_VERSION = "1"


@SearchEngine.register(engine_name=ENGINE_NAME)
class SqlSearchEngine(SearchEngine):
    @classmethod
    async def new_instance(cls) -> SqlSearchEngine:
        if not settings.database_is_sqlite:
            raise RuntimeError(
                f"the '{ENGINE_NAME}' search engine reads SQLite's JSON functions; with another database "
                "use Elasticsearch (ARGILLA_SEARCH_ENGINE=elasticsearch)"
            )
        return cls()

    async def close(self) -> None:
        return None

    async def ping(self) -> bool:
        async with AsyncSessionLocal() as db:
            return (await db.execute(select(1))).scalar() == 1

    async def info(self) -> dict:
        return {"version": {"number": ENGINE_VERSION, "distribution": ENGINE_NAME}}

    # Indexing: the database already holds everything a search reads, so there is nothing to keep.
    async def create_index(self, dataset: Dataset) -> None:
        return None

    async def delete_index(self, dataset: Dataset) -> None:
        return None

    async def configure_metadata_property(
        self, dataset: Dataset, metadata_property: MetadataProperty
    ) -> None:
        return None

    async def index_records(self, dataset: Dataset, records: Iterable[Record]) -> None:
        return None

    async def partial_record_update(self, record: Record, **update: Any) -> None:
        return None

    async def delete_records(self, dataset: Dataset, records: Iterable[Record]) -> None:
        return None

    async def update_record_response(self, response: Response) -> None:
        return None

    async def delete_record_response(self, response: Response) -> None:
        return None

    async def update_record_suggestion(self, suggestion: Suggestion) -> None:
        return None

    async def delete_record_suggestion(self, suggestion: Suggestion) -> None:
        return None

    async def get_dataset_progress(self, dataset: Dataset) -> dict:
        """Records per status, as the ES terms aggregation on `status` returns them."""
        if dataset.is_draft:
            return {}
        query = (
            select(Record.status, func.count()).where(Record.dataset_id == dataset.id).group_by(Record.status)
        )
        counts = await _rows(query)
        return {"total": sum(n for _, n in counts), **{str(status): n for status, n in counts}}

    async def get_dataset_user_progress(self, dataset: Dataset, user: User) -> dict:
        """This user's responses in this dataset per status (submitted, discarded, draft)."""
        if dataset.is_draft:
            return {}
        query = (
            select(Response.status, func.count())
            .join(Record, Record.id == Response.record_id)
            .where(Record.dataset_id == dataset.id, Response.user_id == user.id)
            .group_by(Response.status)
        )
        counts = await _rows(query)
        return {"total": sum(n for _, n in counts), **{str(status): n for status, n in counts}}

    async def search(
        self,
        dataset: Dataset,
        query: Any = None,
        filter: Any = None,  # noqa: A002 - the base class's keyword
        sort: list | None = None,
        offset: int = 0,
        limit: int = 100,
        user_id: UUID | None = None,
    ) -> SearchResponses:
        try:
            condition = await self._condition(dataset, query, filter)
            orders = [sql_filters.build_order(order) for order in sort or []]
        except UnsupportedQuery as error:
            raise UnprocessableEntityError(str(error)) from error
        if user_id is not None and not orders:
            return await _per_user_order(condition, user_id, offset, limit)
        orders += [Record.inserted_at.asc(), Record.id.asc()]
        total = (await _rows(select(func.count()).select_from(Record).where(condition)))[0][0]
        ids = await _rows(select(Record.id).where(condition).order_by(*orders).offset(offset).limit(limit))
        return _responses([record_id for (record_id,) in ids], total)

    async def _condition(self, dataset: Dataset, query: Any, filter_: Any) -> Any:
        field_names = [
            name for (name,) in await _rows(select(Field.name).where(Field.dataset_id == dataset.id))
        ]
        parts = [Record.dataset_id == dataset.id, sql_filters.build_text_query(query, field_names)]
        if filter_ is not None:
            parts.append(sql_filters.build_filter(filter_))
        return and_(*parts)

    async def compute_metrics_for(self, metadata_property: MetadataProperty) -> MetadataMetrics:
        path = sql_filters.json_path(metadata_property.name)
        in_dataset = Record.dataset_id == metadata_property.dataset_id
        if metadata_property.type == MetadataPropertyType.terms:
            each = func.json_each(Record.metadata_, path).table_valued("value")
            value = cast(each.c.value, Text)
            query = (
                select(value, func.count())
                .select_from(Record)
                .join(each, true())  # a lateral-style join: json_each reads each row's metadata
                .where(in_dataset)
                .group_by(value)
            )
            counts = await _rows(query)
            values = [
                TermsMetrics.TermCount(term=term, count=n) for term, n in sorted(counts, key=lambda c: -c[1])
            ]
            return TermsMetrics(total=sum(n for _, n in counts), values=values)
        number = func.json_extract(Record.metadata_, path)
        ((low, high),) = await _rows(select(func.min(number), func.max(number)).where(in_dataset))
        if metadata_property.type == MetadataPropertyType.integer:
            return IntegerMetadataMetrics(min=low, max=high)
        return FloatMetadataMetrics(min=low, max=high)

    async def similarity_search(
        self,
        dataset: Dataset,
        vector_settings: VectorSettings,
        value: list[float] | None = None,
        record: Record | None = None,
        query: Any = None,
        filter: Any = None,  # noqa: A002
        max_results: int = 100,
        order: SimilarityOrder = SimilarityOrder.most_similar,
        threshold: float | None = None,
    ) -> SearchResponses:
        raise UnprocessableEntityError(
            f"vector (similarity) search needs Elasticsearch or OpenSearch; this server runs the studio's "
            f"'{ENGINE_NAME}' engine, which answers text, filter and sort queries only"
        )


async def _rows(query: Any) -> list[tuple]:
    async with AsyncSessionLocal() as db:
        return [tuple(row) for row in (await db.execute(query)).all()]


async def _per_user_order(condition: Any, user_id: UUID, offset: int, limit: int) -> SearchResponses:
    """The queue order the ES engine gives a user: `random_score` seeded with the user id — a shuffle
    that differs between annotators (so overlapping annotators spread out) and is stable for each."""
    ids = [record_id for (record_id,) in await _rows(select(Record.id).where(condition))]
    ids.sort(key=lambda record_id: hashlib.blake2b(f"{user_id}:{record_id}".encode(), digest_size=8).digest())
    return _responses(ids[offset : offset + limit], len(ids))


def _responses(ids: list[UUID], total: int) -> SearchResponses:
    # ES scores every match_all hit 1.0; nothing in the UI ranks by this number.
    return SearchResponses(items=[SearchResponseItem(record_id=i, score=1.0) for i in ids], total=total)
