"""The Annotation tab's window on the store: a small interface, so the tab does not depend on how the
Argilla side (`annotation/`, `store.annotations`, the publish/sync tasks) is built.

`StoreAnnotationView` reads `store.annotations` when it is there; without it (or with no Argilla
configured) every call says "Argilla not configured" instead of failing.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from store import settings

NOT_CONFIGURED = (
    "Argilla not configured: start it with `studio up`, or set STUDIO_ARGILLA_URL and STUDIO_ARGILLA_API_KEY."
)


@dataclass(frozen=True)
class DatasetStatus:
    """One published annotation dataset, as the tab shows it."""

    link_id: int
    recipe: str
    dataset: str
    url: str | None
    status: str
    reason: str | None
    published: int
    completed: int
    progress: dict[str, dict[str, int]] = field(default_factory=dict)  # annotator → {submitted, draft, ...}
    agreement: dict[str, dict[str, Any]] = field(default_factory=dict)  # criterion → {alpha, level, ...}


class AnnotationView(Protocol):
    def configured(self) -> bool: ...

    def argilla_url(self) -> str | None: ...

    def datasets(self) -> list[DatasetStatus]: ...

    def publish(self, recipe_name: str, workspace: str, dataset: str, spec: dict[str, Any]) -> str:
        """Queue publishing; return a one-line message for the user."""

    def sync(self, link_id: int) -> str: ...


class StoreAnnotationView:
    """Reads `store.annotations` (written by the annotation tasks); degrades to 'not configured'."""

    def _store(self) -> Any | None:
        try:
            return importlib.import_module("store.annotations")
        except ImportError:
            return None

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
        return self._store() is not None and self.argilla_url() is not None

    def datasets(self) -> list[DatasetStatus]:
        store = self._store()
        if store is None or not hasattr(store, "list_links"):
            return []
        return [_status(store.link_overview(link.id)) for link in store.list_links()]

    def publish(self, recipe_name: str, workspace: str, dataset: str, spec: dict[str, Any]) -> str:
        store = self._store()
        if store is None or not self.configured():
            return NOT_CONFIGURED
        link = store.ensure_link(recipe_name, workspace, dataset, spec)
        store.enqueue_publish(link.id)
        return f"Publishing {workspace}/{dataset}: a worker on the annotation queue creates the dataset."

    def sync(self, link_id: int) -> str:
        store = self._store()
        if store is None or not self.configured():
            return NOT_CONFIGURED
        store.enqueue_sync(link_id)
        return f"Sync of dataset #{link_id} queued."


def _status(overview: dict[str, Any]) -> DatasetStatus:
    return DatasetStatus(
        link_id=int(overview["id"]), recipe=str(overview.get("recipe") or ""),
        dataset=str(overview.get("dataset") or ""), url=overview.get("url"),
        status=str(overview.get("status") or ""), reason=overview.get("status_reason"),
        published=int(overview.get("published_records") or 0),
        completed=int(overview.get("completed_records") or 0),
        progress=dict(overview.get("progress") or {}), agreement=dict(overview.get("agreement") or {}),
    )  # fmt: skip
