"""Annotation bookkeeping: Argilla dataset links, the idempotent sync write, and a small read API.

The sync task hands over the full set of submitted responses it read from Argilla; `apply_sync`
makes the store equal to it in one transaction, keyed by (link, record, user): new rows are added,
changed ones updated, and rows whose response was discarded or deleted in Argilla removed. Running
it twice with the same input changes nothing. The studio's Annotation tab reads `link_overview`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from store.column_types import utcnow
from store.db import session_scope
from store.tables import AnnotationLink, AnnotationRecord, AnnotationResponse

ANNOTATION_QUEUE = "annotation"  # CPU work; never behind a training run on the `gpu` queue
PUBLISH_TASK_NAME = "studio.annotation.publish"
SYNC_TASK_NAME = "studio.annotation.sync"
_CHUNK = 500
SYNC_FLAG_TTL_S = 300  # longer than a queued sync normally waits; a dead worker's flag expires


@dataclass(frozen=True)
class SyncCounts:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0


def ensure_link(recipe_name: str, workspace: str, dataset: str, spec: Mapping[str, Any]) -> AnnotationLink:
    """The link for this Argilla dataset, created on first use (one per workspace + dataset name);
    `spec` (the recipe's annotation block as JSON) replaces the stored one."""
    with session_scope() as session:
        link = session.exec(
            select(AnnotationLink).where(
                AnnotationLink.workspace == workspace, AnnotationLink.dataset == dataset
            )
        ).first()
        if link is None:
            link = AnnotationLink(recipe_name=recipe_name, workspace=workspace, dataset=dataset)
        link.recipe_name, link.spec, link.updated_at = recipe_name, dict(spec), utcnow()
        session.add(link)
        session.flush()
        return link


def get_link(link_id: int) -> AnnotationLink:
    with session_scope() as session:
        link = session.get(AnnotationLink, link_id)
        if link is None:
            raise LookupError(f"no annotation link {link_id}")
        return link


def find_link(workspace: str, dataset: str) -> AnnotationLink | None:
    with session_scope() as session:
        query = select(AnnotationLink).where(
            AnnotationLink.workspace == workspace, AnnotationLink.dataset == dataset
        )
        return session.exec(query).first()


def list_links() -> list[AnnotationLink]:
    with session_scope() as session:
        return list(session.exec(select(AnnotationLink).order_by(AnnotationLink.id)))


def update_link(link_id: int, **values: Any) -> AnnotationLink:
    """Set columns of a link (status, url, counts, errors, ...); stamps `updated_at`."""
    with session_scope() as session:
        link = session.get(AnnotationLink, link_id)
        if link is None:
            raise LookupError(f"no annotation link {link_id}")
        for key, value in values.items():
            setattr(link, key, value)
        link.updated_at = utcnow()
        session.add(link)
        return link


def record_sync_error(link_id: int, message: str) -> None:
    """Keep the last sync's error where the studio shows it; the synced data stays as it was."""
    update_link(link_id, last_sync_error=message)


def apply_sync(
    link_id: int,
    records: Iterable[Mapping[str, Any]],
    responses: Iterable[Mapping[str, Any]],
    summary: Mapping[str, Any],
) -> SyncCounts:
    """Make the link's records and responses equal to what Argilla holds now (see module docstring).

    `records`: {record_id, external_id, status, fields}; `responses`: {record_id, external_id, user_id,
    username, values, updated_at}; `summary`: progress, completed_records, agreement.
    """
    with session_scope() as session:
        _replace_records(session, link_id, records)
        counts = _replace_responses(session, link_id, responses)
        link = session.get(AnnotationLink, link_id)
        link.progress = dict(summary.get("progress", {}))
        link.completed_records = int(summary.get("completed_records", 0))
        link.agreement = dict(summary.get("agreement", {}))
        link.last_sync_at = link.updated_at = utcnow()
        link.last_sync_error = None
        session.add(link)
        return counts


def _replace_records(session: Any, link_id: int, records: Iterable[Mapping[str, Any]]) -> None:
    existing = dict(
        session.execute(
            sa.select(AnnotationRecord.record_id, AnnotationRecord.id).where(
                AnnotationRecord.link_id == link_id
            )
        ).all()
    )
    incoming = {record["record_id"]: record for record in records}
    rows = [{**_record_row(record), "link_id": link_id} for record in incoming.values()]
    new = [row for row in rows if row["record_id"] not in existing]
    changed = [{**row, "id": existing[row["record_id"]]} for row in rows if row["record_id"] in existing]
    gone = [row_id for record_id, row_id in existing.items() if record_id not in incoming]
    _bulk(session, AnnotationRecord, new, changed, gone)


def _record_row(record: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("record_id", "external_id", "status", "fields")
    return {key: record.get(key) for key in keys}


def _replace_responses(session: Any, link_id: int, responses: Iterable[Mapping[str, Any]]) -> SyncCounts:
    query = sa.select(
        AnnotationResponse.record_id, AnnotationResponse.user_id, AnnotationResponse.id,
        AnnotationResponse.values, AnnotationResponse.updated_at,
    ).where(AnnotationResponse.link_id == link_id)  # fmt: skip
    existing = {(r, u): (row_id, values, at) for r, u, row_id, values, at in session.execute(query).all()}
    incoming = {(resp["record_id"], resp["user_id"]): resp for resp in responses}
    new, changed, unchanged = [], [], 0
    for key, response in incoming.items():
        row = {**_response_row(response), "link_id": link_id}
        if key not in existing:
            new.append(row)
        elif (existing[key][1], _naive(existing[key][2])) != (row["values"], _naive(row["updated_at"])):
            changed.append({**row, "id": existing[key][0]})
        else:
            unchanged += 1
    gone = [row_id for key, (row_id, _, _) in existing.items() if key not in incoming]
    _bulk(session, AnnotationResponse, new, changed, gone)
    return SyncCounts(added=len(new), updated=len(changed), removed=len(gone), unchanged=unchanged)


def _response_row(response: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("record_id", "external_id", "user_id", "username", "values", "updated_at")
    return {key: response.get(key) for key in keys}


def _naive(moment: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without a zone; compare instants, not representations.
    return moment.replace(tzinfo=None) if moment is not None and moment.tzinfo else moment


def _bulk(session: Any, table: Any, new: list[dict], changed: list[dict], gone: list[int]) -> None:
    for start in range(0, len(new), _CHUNK):
        session.execute(sa.insert(table), new[start : start + _CHUNK])
    if changed:
        session.execute(sa.update(table), changed)  # ORM bulk UPDATE by primary key
    for start in range(0, len(gone), _CHUNK):
        session.execute(sa.delete(table).where(table.id.in_(gone[start : start + _CHUNK])))


def responses_of(link_id: int) -> list[AnnotationResponse]:
    with session_scope() as session:
        query = select(AnnotationResponse).where(AnnotationResponse.link_id == link_id)
        return list(session.exec(query.order_by(AnnotationResponse.id)))


def record_fields(link_id: int) -> dict[str, dict[str, Any]]:
    """{Argilla record id: its fields} for the link's synced records."""
    with session_scope() as session:
        query = sa.select(AnnotationRecord.record_id, AnnotationRecord.fields).where(
            AnnotationRecord.link_id == link_id
        )
        return {record_id: fields for record_id, fields in session.execute(query).all()}


def link_overview(link_id: int) -> dict[str, Any]:
    """What the studio's Annotation tab shows for one dataset (plain JSON-ready data)."""
    link = get_link(link_id)
    return {
        "id": link.id,
        "recipe": link.recipe_name,
        "dataset": f"{link.workspace}/{link.dataset}",
        "url": link.url,
        "status": link.status,
        "status_reason": link.status_reason,
        "published_records": link.published_records,
        "completed_records": link.completed_records,
        "progress": link.progress,  # {annotator: {"submitted": n, "discarded": n, "draft": n}}
        "last_sync_at": link.last_sync_at.isoformat() if link.last_sync_at else None,
        "last_sync_error": link.last_sync_error,
        "agreement": {  # {criterion: {"alpha": float | None, "level": ..., "n_pairable": n}}
            name: {key: entry.get(key) for key in ("alpha", "level", "n_pairable", "alpha_reason")}
            for name, entry in (link.agreement or {}).items()
        },
    }


def enqueue_publish(link_id: int) -> str:
    """`studio.annotation.publish(link_id)` on the annotation queue; the Celery task id."""
    return _send(PUBLISH_TASK_NAME, [link_id])


def enqueue_sync(link_id: int) -> str:
    """`studio.annotation.sync(link_id)` on the annotation queue; the Celery task id."""
    return _send(SYNC_TASK_NAME, [link_id])


def request_sync(link_id: int) -> bool:
    """Enqueue a sync unless one is already waiting for a worker (webhooks fire once per response:
    a burst of submissions becomes one sync). True if this call enqueued it. The flag is cleared by
    the task when it starts reading Argilla, so an event that arrives during a sync queues the next
    one; its expiry covers a worker that died before starting."""
    import redis

    from store.broker import redis_url

    client = redis.Redis.from_url(redis_url(), socket_timeout=5)
    try:
        if not client.set(_sync_flag(link_id), "1", nx=True, ex=SYNC_FLAG_TTL_S):
            return False
    finally:
        client.close()
    enqueue_sync(link_id)
    return True


def sync_starting(link_id: int) -> None:
    """Called by the sync task before it reads Argilla: later events must queue another sync."""
    import redis

    from store.broker import redis_url

    client = redis.Redis.from_url(redis_url(), socket_timeout=5)
    try:
        client.delete(_sync_flag(link_id))
    finally:
        client.close()


def _sync_flag(link_id: int) -> str:
    return f"studio:annotation:sync-requested:{link_id}"


def find_link_for_event(workspace: str | None, dataset: str | None, dataset_id: str | None):
    """The link an Argilla event is about: by workspace + dataset name, else by Argilla's dataset id."""
    link = find_link(workspace, dataset) if workspace and dataset else None
    if link is None and dataset_id:
        with session_scope() as session:
            query = select(AnnotationLink).where(AnnotationLink.argilla_dataset_id == dataset_id)
            link = session.exec(query).first()
    return link


def _send(name: str, args: list[Any]) -> str:
    from store.broker import redis_url
    from store.queue import _client

    return _client(redis_url()).send_task(name, args=args, queue=ANNOTATION_QUEUE).id
