"""Celery tasks for annotation: publish a rubric's items to Argilla, sync responses back.

Thin, take ids, run on the `annotation` queue (CPU; never behind a training run). Argilla being down
or answering 5xx is retried with exponential backoff, and every failed try is written to the link
(`last_sync_error` / `status_reason`) so the studio shows why; other errors fail at once with their
message. Sync is idempotent (store.annotations.apply_sync), so a retry never duplicates anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict
from typing import Any

from annotation.errors import AnnotationError, ArgillaUnavailable
from recipes.preference_data import PreferenceRecord
from recipes.row_mapper import Skip, records_from_row
from store import annotation_retrain, annotations
from store.annotations import PUBLISH_TASK_NAME, SYNC_TASK_NAME
from workers.celery_app import app
from workers.errors import UserFacingError

log = logging.getLogger(__name__)
MAX_RETRIES = 8
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 120.0


def backoff_s(retries: int) -> float:
    """2, 4, 8, ... seconds (base: STUDIO_ANNOTATION_RETRY_BASE_S), capped at two minutes."""
    base = float(os.environ.get("STUDIO_ANNOTATION_RETRY_BASE_S") or BACKOFF_BASE_S)
    return min(base * 2**retries, BACKOFF_MAX_S)


@app.task(name=SYNC_TASK_NAME, bind=True, max_retries=MAX_RETRIES)
def sync_annotations(self: Any, link_id: int) -> dict[str, Any]:
    from annotation import service  # the argilla SDK: imported by annotation work only

    annotations.sync_starting(link_id)  # webhook events from now on must queue another sync
    try:
        counts = service.sync(link_id)
    except ArgillaUnavailable as error:
        wait = backoff_s(self.request.retries)
        annotations.record_sync_error(link_id, _retry_note(error, self.request.retries, wait))
        raise self.retry(exc=error, countdown=wait) from None
    except AnnotationError as error:
        annotations.record_sync_error(link_id, str(error))
        return {"error": str(error)}
    except Exception as error:  # the task boundary: the link says what happened, the log has the rest
        annotations.record_sync_error(link_id, f"internal error: {type(error).__name__}: {error}")
        raise
    log.info("synced annotation link %s: %s", link_id, counts)
    return asdict(counts) | {"retrain": _maybe_retrain(link_id)}


def _maybe_retrain(link_id: int) -> str | None:
    """`annotation.retrain_after`: start a run after that many newly completed records (and only if
    the agreement gate lets training start: a run that fails its gate at once helps nobody)."""
    from annotation import service

    link = annotations.get_link(link_id)
    every = service.spec_of(link).retrain_after
    if every is None or link.completed_records - link.trained_at_completed < every:
        return None
    reasons = service.gate_reasons(link, service.spec_of(link))
    if reasons:
        return "not retraining yet: annotation gate: " + "; ".join(reasons)
    outcome = annotation_retrain.maybe_retrain(link, every)
    if outcome.run_id:
        annotations.update_link(link_id, status_reason=outcome.message)
    log.info("annotation link %s: %s", link_id, outcome.message)
    return outcome.message


@app.task(name=PUBLISH_TASK_NAME, bind=True, max_retries=MAX_RETRIES)
def publish_annotations(self: Any, link_id: int) -> dict[str, Any]:
    from annotation import service

    try:
        published = service.publish(link_id, items_to_publish(link_id))
    except ArgillaUnavailable as error:
        wait = backoff_s(self.request.retries)
        note = _retry_note(error, self.request.retries, wait)
        annotations.update_link(link_id, status="publishing", status_reason=note)
        raise self.retry(exc=error, countdown=wait) from None
    except (AnnotationError, UserFacingError) as error:  # e.g. the items file is missing or empty
        annotations.update_link(link_id, status="failed", status_reason=str(error))
        return {"error": str(error)}
    except Exception as error:  # the task boundary: never leave the link "publishing" forever
        reason = f"internal error: {type(error).__name__}: {error}"
        annotations.update_link(link_id, status="failed", status_reason=reason)
        raise
    return asdict(published)


def items_to_publish(link_id: int) -> list[tuple[str, PreferenceRecord]]:
    """The rubric's `items` read like a data source; each item's id is a hash of its prompt and
    responses, so publishing the same file again updates records instead of adding copies."""
    from annotation import service
    from workers.data import file_rows, hub_rows

    spec = service.spec_of(annotations.get_link(link_id))
    source = spec.items
    if source is None:
        raise AnnotationError("the recipe's annotation block lists no items to publish (annotation.items)")
    rows = file_rows(source.path, source.format) if source.kind == "file" else hub_rows(source, source.split)
    items: dict[str, PreferenceRecord] = {}
    for number, row in enumerate(rows):
        if source.limit is not None and number >= source.limit:
            break
        result = row if isinstance(row, Skip) else records_from_row(row, source)
        for record in [] if isinstance(result, Skip) else result:
            items.setdefault(item_id(record), record)
    return list(items.items())


def item_id(record: PreferenceRecord) -> str:
    text = json.dumps([record.prompt, record.responses], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _retry_note(error: Exception, retries: int, wait: float) -> str:
    if retries >= MAX_RETRIES:
        return f"{error} — gave up after {MAX_RETRIES} retries"
    return f"{error} — retry {retries + 1} of {MAX_RETRIES} in {wait:.0f} s"
