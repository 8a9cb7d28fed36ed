"""Publish, sync, training data and the gate for one annotation link — what the tasks and the CLI call.

Each function reads the link (and its stored rubric) from the store, talks to Argilla through
`ArgillaBackend`, and writes the outcome back to the link, so the studio can show it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from annotation.agreement import check_gate
from annotation.backend import ArgillaBackend, Published
from annotation.connection import annotator_password, argilla_connection
from annotation.errors import AnnotationError
from annotation.export import to_preference_records
from annotation.layout import records_for
from annotation.sync import sync_rows
from recipes.annotation_spec import AnnotationSpec
from recipes.preference_data import PreferenceRecord
from store import annotations
from store.annotations import SyncCounts
from store.tables import AnnotationLink

ItemList = list[tuple[str, PreferenceRecord]]


def link_for(recipe_name: str, workspace: str, dataset: str, spec: AnnotationSpec) -> AnnotationLink:
    return annotations.ensure_link(recipe_name, workspace, dataset, spec.model_dump(mode="json"))


def spec_of(link: AnnotationLink) -> AnnotationSpec:
    return AnnotationSpec.model_validate(link.spec)


def backend() -> ArgillaBackend:
    return ArgillaBackend(*argilla_connection())


def publish(link_id: int, items: ItemList, source: str = "") -> Published:
    """Create the dataset (rubric → questions) and upsert the items as records; record the link."""
    link = annotations.get_link(link_id)
    spec = spec_of(link)
    layout = records_for(items, spec, source)
    if not layout.records:
        skipped = ", ".join(f"{reason}: {n}" for reason, n in layout.skipped.items()) or "no items"
        raise AnnotationError(f"nothing to publish to {link.workspace}/{link.dataset} ({skipped})")
    annotations.update_link(link_id, status="publishing", status_reason=None)
    published = backend().publish(spec, link.dataset, link.workspace, layout, annotator_password)
    annotations.update_link(
        link_id, status="published", argilla_dataset_id=published.dataset_id, url=published.url,
        published_records=published.records, status_reason=None,
    )  # fmt: skip
    return published


def sync(link_id: int) -> SyncCounts:
    """Bring the dataset's submitted responses into the store (idempotent, see store.annotations)."""
    link = annotations.get_link(link_id)
    client = backend()
    dataset_id = link.argilla_dataset_id or client.find_dataset_id(link.dataset, link.workspace)
    if dataset_id is None:
        raise AnnotationError(f"Argilla has no dataset {link.workspace}/{link.dataset}; publish it first")
    if link.argilla_dataset_id is None:  # a dataset filled another way (e.g. imported annotations)
        annotations.update_link(link_id, argilla_dataset_id=dataset_id, url=client.annotation_url(dataset_id))
    records, submitted, summary = sync_rows(client.snapshot(dataset_id), spec_of(link))
    return annotations.apply_sync(link_id, records, submitted, summary)


def import_responses(link_id: int, answers: list[tuple[str, str, dict[str, Any]]]) -> int:
    """Existing annotations into the published dataset as submitted responses: (item id, username,
    {question: value}); e.g. a data set's own annotators (`make example-argilla`). Sync brings them back."""
    link = annotations.get_link(link_id)
    client = backend()
    dataset_id = link.argilla_dataset_id or client.find_dataset_id(link.dataset, link.workspace)
    if dataset_id is None:
        raise AnnotationError(f"Argilla has no dataset {link.workspace}/{link.dataset}; publish it first")
    return client.import_responses(dataset_id, answers)


def training_records(link_id: int) -> list[PreferenceRecord]:
    """One PreferenceRecord per synced submitted response (record × annotator), in a stable order."""
    link = annotations.get_link(link_id)
    return to_preference_records(
        annotations.responses_of(link_id), annotations.record_fields(link_id), spec_of(link)
    )


def gate_reasons(link: AnnotationLink, spec: AnnotationSpec) -> list[str]:
    """Why training must wait (empty: it may start), from the last sync's agreement and progress."""
    return check_gate(link.agreement or {}, link.completed_records, spec.gate)


def snapshot_summary(link: AnnotationLink) -> dict[str, Any]:
    """What a run freezes about the annotations it trained on: counts, sync time, agreement."""
    return {
        "dataset": f"{link.workspace}/{link.dataset}",
        "url": link.url,
        "synced_at": (link.last_sync_at or datetime.now(UTC)).isoformat(),
        "records": link.published_records,
        "completed_records": link.completed_records,
        "progress": link.progress,
        "alpha": {name: entry.get("alpha") for name, entry in (link.agreement or {}).items()},
    }


# Argilla 2.8 events after which a sync brings in something new: what annotators do in the UI (or through
# `POST /records/{id}/responses`). Not `record.updated`: every re-published record fires it, and building
# and delivering 10,000 of those costs minutes; responses imported with `records.log` fire only that
# (docs/argilla.md trap 2), so whoever imports syncs afterwards (`studio annotate sync`).
WEBHOOK_EVENTS = ["response.created", "response.updated", "response.deleted", "record.completed"]


def register_webhook(url: str, owner: str) -> str:
    """Point this studio's Argilla webhook at `url` (created once per `owner`); its signing secret."""
    return backend().ensure_webhook(url, WEBHOOK_EVENTS, owner)


def disable_webhook(owner: str) -> None:
    backend().disable_webhook(owner)
