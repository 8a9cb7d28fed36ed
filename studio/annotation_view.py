"""The Annotation tab's window on the store: published datasets with their progress and agreement
(written by the annotation sync task into `store.annotations`), and Publish / Sync, which only enqueue
tasks for the worker on the `annotation` queue. The studio never talks to Argilla itself.

A small interface, so the tab can be tested against any implementation of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from store import annotations, settings
from store.broker import redis_url
from store.tables import AnnotationLink

NOT_CONFIGURED = (
    "Argilla not configured: start it with `studio up`, or set STUDIO_ARGILLA_URL and STUDIO_ARGILLA_API_KEY."
)


@dataclass(frozen=True)
class DatasetStatus:
    """One published annotation dataset, as the tab shows it."""

    link_id: int
    recipe: str
    dataset: str  # workspace/name
    url: str | None
    status: str
    reason: str | None
    published: int
    completed: int
    last_sync: str | None = None
    sync_error: str | None = None
    progress: dict[str, dict[str, int]] = field(default_factory=dict)  # annotator → {submitted, draft, ...}
    agreement: dict[str, dict[str, Any]] = field(default_factory=dict)  # criterion → {alpha, level, ...}


class AnnotationView(Protocol):
    def configured(self) -> bool: ...

    def argilla_url(self) -> str | None: ...

    def datasets(self) -> list[DatasetStatus]: ...

    def publish(self, recipe_name: str, workspace: str, dataset: str, spec: dict[str, Any]) -> str:
        """Queue publishing; return a one-line message for the user."""

    def sync(self, link_id: int) -> str: ...


class QueueUnavailable(RuntimeError):
    """The task could not be put on the queue; the message says what to start."""


class StoreAnnotationView:
    """Reads `store.annotations`; Publish and Sync enqueue the annotation tasks."""

    def argilla_url(self) -> str | None:
        """`STUDIO_ARGILLA_URL`, else the local server `studio up` noted in `<argilla home>/server.json`."""
        if os.environ.get("STUDIO_ARGILLA_URL"):
            return os.environ["STUDIO_ARGILLA_URL"]
        home = os.environ.get("STUDIO_ARGILLA_HOME")
        state = (Path(home).expanduser() if home else settings.data_dir() / "argilla") / "server.json"
        try:
            return json.loads(state.read_text()).get("url") or None
        except (OSError, ValueError):
            return None

    def configured(self) -> bool:
        return self.argilla_url() is not None

    def datasets(self) -> list[DatasetStatus]:
        # One query for all links (not list + one overview per link).
        return [_status(link) for link in annotations.list_links()]

    def publish(self, recipe_name: str, workspace: str, dataset: str, spec: dict[str, Any]) -> str:
        if not self.configured():
            return NOT_CONFIGURED
        link = annotations.ensure_link(recipe_name, workspace, dataset, spec)
        _enqueue(annotations.enqueue_publish, link.id)
        return (f"Publishing {workspace}/{dataset} (dataset #{link.id}): a worker on the annotation queue "
                "creates it in Argilla; its status shows below.")  # fmt: skip

    def sync(self, link_id: int) -> str:
        if not self.configured():
            return NOT_CONFIGURED
        link = annotations.get_link(link_id)
        _enqueue(annotations.enqueue_sync, link.id)
        return f"Sync of {link.workspace}/{link.dataset} queued: new responses show here when it has run."


def _enqueue(send: Any, link_id: int) -> str:
    try:
        return send(link_id)
    except Exception as exc:  # kombu / redis connection errors: say what to start, not a traceback
        raise QueueUnavailable(
            f"could not reach the task queue at {redis_url()} ({type(exc).__name__}): "
            "start it with `studio up`"
        ) from None


def _status(link: AnnotationLink) -> DatasetStatus:
    return DatasetStatus(
        link_id=int(link.id), recipe=link.recipe_name, dataset=f"{link.workspace}/{link.dataset}",
        url=link.url, status=link.status, reason=link.status_reason,
        published=int(link.published_records or 0), completed=int(link.completed_records or 0),
        last_sync=link.last_sync_at.strftime("%Y-%m-%d %H:%M UTC") if link.last_sync_at else None,
        sync_error=link.last_sync_error, progress=dict(link.progress or {}),
        agreement=dict(link.agreement or {}),
    )  # fmt: skip
