"""The studio's calls to Argilla: accounts, publish, read back, webhooks. Every SDK bug is handled here.

Known SDK 2.8 problems (docs/argilla.md) and what we do:
- ranking answers are written without ranks and read back without them: we never write rankings
  through the SDK, and read every response from the REST API (`GET /datasets/{id}/records`);
- responses logged with `records.log` fire `record.updated` only, which the studio's webhook does not
  listen to (re-publishing would fire it per record): an import is followed by an explicit sync.
Errors: an unreachable server or a 5xx becomes `ArgillaUnavailable` (the tasks retry it); anything
else becomes `AnnotationError` with the server's message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import argilla as rg
import httpx
from argilla._exceptions import ArgillaAPIError, ArgillaError

from annotation.errors import AnnotationError, ArgillaUnavailable
from annotation.layout import Layout, dataset_settings
from recipes.annotation_spec import RANKING_QUESTION, AnnotationSpec

PAGE = 1000  # the server's largest page for GET /datasets/{id}/records
LOG_BATCH = 500


@dataclass(frozen=True)
class Published:
    dataset_id: str
    url: str
    records: int


@dataclass
class Snapshot:
    """Everything a sync read: records (fields, status) and responses (values with ranks)."""

    records: list[dict[str, Any]]
    responses: list[dict[str, Any]]  # every status; sync keeps the submitted ones
    usernames: dict[str, str]


@contextlib.contextmanager
def translated_errors(what: str) -> Iterator[None]:
    try:
        yield
    except (httpx.TransportError, ConnectionError) as error:
        raise ArgillaUnavailable(f"Argilla is unreachable while trying to {what}: {error}") from error
    except ArgillaAPIError as error:
        if error.status_code >= 500:
            raise ArgillaUnavailable(
                f"Argilla failed (HTTP {error.status_code}) to {what}: {error}"
            ) from error
        raise AnnotationError(f"Argilla refused to {what}: {error}") from error
    except httpx.HTTPStatusError as error:
        code = error.response.status_code
        message = f"Argilla answered HTTP {code} to {what}: {error.response.text[:300]}"
        raise (ArgillaUnavailable if code >= 500 else AnnotationError)(message) from error
    except ArgillaError as error:
        # The SDK wraps transport errors in its own base class; look at the cause to decide.
        if isinstance(error.__cause__, httpx.TransportError | ConnectionError):
            raise ArgillaUnavailable(f"Argilla is unreachable while trying to {what}: {error}") from error
        raise AnnotationError(f"could not {what}: {error}") from error


class ArgillaBackend:
    def __init__(self, url: str, api_key: str, timeout: int = 60) -> None:
        self.url = url.rstrip("/")
        with translated_errors("connect"):
            # retries=0: the Celery task owns retrying, with backoff, and says so in the link.
            self.client = rg.Argilla(api_url=self.url, api_key=api_key, timeout=timeout, retries=0)

    # --- accounts -------------------------------------------------------------------------------
    def ensure_workspace(self, name: str) -> rg.Workspace:
        with translated_errors(f"create workspace {name!r}"):
            workspace = self.client.workspaces(name)
            return (
                workspace if workspace is not None else rg.Workspace(name=name, client=self.client).create()
            )

    def ensure_annotators(
        self, usernames: list[str], workspace: rg.Workspace, password: Callable[[str], str]
    ):
        """Annotator accounts (role annotator) in the workspace; existing accounts are kept as they are."""
        with translated_errors("create annotator accounts"):
            members = {user.username for user in workspace.users}
            for username in usernames:
                user = self.client.users(username)
                if user is None:
                    user = rg.User(username=username, password=password(username), role="annotator",
                                   client=self.client).create()  # fmt: skip
                if username not in members:
                    workspace.add_user(user)

    # --- publish --------------------------------------------------------------------------------
    def publish(
        self,
        spec: AnnotationSpec,
        name: str,
        workspace_name: str,
        layout: Layout,
        password: Callable[[str], str],
    ) -> Published:
        """Create the dataset if missing, then upsert the records (keyed by item id: re-publishing the
        same items updates them, never duplicates them). `password(username)` for new annotators."""
        workspace = self.ensure_workspace(workspace_name)
        self.ensure_annotators(list(spec.annotators), workspace, password)
        with translated_errors(f"publish dataset {workspace_name}/{name}"):
            dataset = self.client.datasets(name, workspace=workspace)
            if dataset is None:
                dataset = rg.Dataset(name=name, workspace=workspace, settings=dataset_settings(spec),
                                     client=self.client).create()  # fmt: skip
            for start in range(0, len(layout.records), LOG_BATCH):
                dataset.records.log(layout.records[start : start + LOG_BATCH], batch_size=LOG_BATCH)
            total = self._get(f"/api/v1/datasets/{dataset.id}/progress").get("total", 0)
        return Published(str(dataset.id), self.annotation_url(str(dataset.id)), int(total))

    def annotation_url(self, dataset_id: str) -> str:
        return f"{self.url}/dataset/{dataset_id}/annotation-mode"

    def find_dataset_id(self, name: str, workspace_name: str) -> str | None:
        with translated_errors(f"find dataset {workspace_name}/{name}"):
            workspace = self.client.workspaces(workspace_name)
            dataset = workspace and self.client.datasets(name, workspace=workspace)
            return str(dataset.id) if dataset else None

    # --- read back ------------------------------------------------------------------------------
    def snapshot(self, dataset_id: str) -> Snapshot:
        """All records with all responses, from REST (the SDK drops ranking ranks on read)."""
        records, responses, offset = [], [], 0
        with translated_errors(f"read dataset {dataset_id}"):
            while True:
                page = self._get(
                    f"/api/v1/datasets/{dataset_id}/records",
                    params={"include": "responses", "offset": offset, "limit": PAGE},
                )
                for item in page["items"]:
                    records.append(_record(item))
                    responses += [_response(item, response) for response in item.get("responses") or []]
                offset += len(page["items"])
                if not page["items"] or offset >= page["total"]:
                    break
            users = self._get("/api/v1/users")["items"]
        return Snapshot(records, responses, {user["id"]: user["username"] for user in users})

    # --- imported responses -----------------------------------------------------------------------
    def import_responses(self, dataset_id: str, answers: list[tuple[str, str, dict[str, Any]]]) -> int:
        """Existing annotations as submitted responses: (record external id, username, {question: value}).

        Written with `records.log`, so Argilla fires only `record.updated` for them (docs/argilla.md
        trap 2). Rankings are refused: the SDK would write them without ranks (trap 1)."""
        ranked = sorted({q for _, _, values in answers for q in values if q == RANKING_QUESTION})
        if ranked:
            raise AnnotationError("importing rankings is not supported (the SDK drops their ranks)")
        repeated = len(answers) - len({(item, user) for item, user, _ in answers})
        if repeated:
            raise AnnotationError(f"{repeated} answers repeat an (item, annotator) pair: one response each")
        fields = {r["external_id"]: r["fields"] for r in self.snapshot(dataset_id).records}
        missing = sorted({item for item, _, _ in answers if item not in fields})
        if missing:
            raise AnnotationError(
                f"{len(missing)} answers are for records not in the dataset, e.g. {missing[0]}"
            )
        with translated_errors(f"import responses into dataset {dataset_id}"):
            users = {user["username"]: user["id"] for user in self._get("/api/v1/users")["items"]}
            unknown = sorted({name for _, name, _ in answers if name not in users})
            if unknown:
                raise AnnotationError(
                    f"no Argilla accounts for {', '.join(unknown)}: publish the rubric first"
                )
            by_record: dict[str, list[rg.Response]] = {}
            for item, username, values in answers:
                by_record.setdefault(item, []).extend(
                    rg.Response(question, value, user_id=users[username], status="submitted")
                    for question, value in values.items()
                )
            records = [rg.Record(id=item, fields=fields[item], responses=responses)
                       for item, responses in by_record.items()]  # fmt: skip
            dataset = self._dataset(dataset_id)
            for start in range(0, len(records), LOG_BATCH):
                dataset.records.log(records[start : start + LOG_BATCH], batch_size=LOG_BATCH)
        return len(answers)

    def _dataset(self, dataset_id: str) -> rg.Dataset:
        found = self.client.datasets(id=dataset_id)
        if found is None:
            raise AnnotationError(f"Argilla has no dataset {dataset_id}")
        return found.get()  # by id the SDK leaves the settings unloaded, and `records.log` needs them

    # --- webhooks -------------------------------------------------------------------------------
    def ensure_webhook(self, url: str, events: list[str], owner: str) -> str:
        """The webhook that `owner` (a description naming this studio) registered: created once,
        pointed at `url` with these events and enabled on every start; returns its signing secret.
        Argilla webhooks are server-wide, so one per studio, not one per dataset."""
        with translated_errors("register the webhook"):
            mine = [
                hook for hook in self._get("/api/v1/webhooks")["items"] if hook.get("description") == owner
            ]
            if not mine:
                body = {"url": url, "events": events, "description": owner}
                created = self.client.http_client.post("/api/v1/webhooks", json=body)
                created.raise_for_status()
                return created.json()["secret"]
            body = {"url": url, "events": events, "enabled": True}
            updated = self.client.http_client.patch(f"/api/v1/webhooks/{mine[0]['id']}", json=body)
            updated.raise_for_status()
            return updated.json()["secret"]

    def disable_webhook(self, owner: str) -> None:
        """Stop deliveries to a receiver that is going away (Argilla would retry into a closed port)."""
        with translated_errors("disable the webhook"):
            for hook in self._get("/api/v1/webhooks")["items"]:
                if hook.get("description") == owner and hook["enabled"]:
                    path = f"/api/v1/webhooks/{hook['id']}"
                    self.client.http_client.patch(path, json={"enabled": False}).raise_for_status()

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = self.client.http_client.get(path, params=params)
        response.raise_for_status()
        return response.json()


def _record(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "record_id": item["id"],
        "external_id": item.get("external_id"),
        "status": item.get("status", "pending"),
        "fields": item.get("fields") or {},
    }


def _response(item: Mapping[str, Any], response: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "record_id": item["id"],
        "external_id": item.get("external_id"),
        "user_id": response["user_id"],
        "status": response["status"],
        # {"question": {"value": v}} → {"question": v}; a ranking keeps its [{"value", "rank"}] list.
        "values": {name: answer.get("value") for name, answer in (response.get("values") or {}).items()},
        "updated_at": _timestamp(response.get("updated_at")),
    }


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # the server writes naive UTC
