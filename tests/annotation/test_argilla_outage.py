"""Argilla goes away while a sync is queued: the real Celery task retries with backoff, the link says why,
and once the server is back the sync completes with nothing lost or duplicated."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from annotation import service
from annotation.connection import annotator_password
from annotation.local_server.server import LocalArgilla
from recipes.annotation_spec import AnnotationSpec
from recipes.preference_data import PreferenceRecord
from store import annotations
from studio.services import stop_process, unique_node_name, worker_answers_ping, worker_command

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC = AnnotationSpec(annotators=["dora", "emil"], overlap=2, rationale=None)
ITEMS = [(f"o-{i}", PreferenceRecord(prompt=f"p{i}", responses=[f"a{i}", f"b{i}"])) for i in range(3)]


def _wait(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.3)
    return value


@pytest.fixture
def private_server(argilla_stack, tmp_path, monkeypatch):
    """An Argilla server of this test's own (the shared one must stay up for the others)."""
    # Its own Redis database: rq workers of two servers on one queue would take each other's jobs.
    server = LocalArgilla(home=tmp_path / "argilla", redis_url=argilla_stack.redis_url, redis_db=2)
    server.start(say=lambda message: None)
    server.wait_healthy()
    for key, value in {
        "STUDIO_ARGILLA_URL": server.url,
        "STUDIO_ARGILLA_API_KEY": server.api_key,
        "STUDIO_ARGILLA_HOME": str(server.home),
        "STUDIO_REDIS_URL": argilla_stack.redis_url,
    }.items():
        monkeypatch.setenv(key, value)  # fmt: skip
    yield server
    server.stop()


@pytest.fixture
def annotation_worker(private_server, tmp_path):
    node = unique_node_name()
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), STUDIO_ANNOTATION_RETRY_BASE_S="0.5")
    proc = subprocess.Popen(
        worker_command(queues="annotation", node_name=node), env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True, cwd=REPO_ROOT,
    )  # fmt: skip
    _wait(lambda: worker_answers_ping(os.environ["STUDIO_REDIS_URL"], node), 90, "the annotation worker")
    yield proc
    stop_process(proc, 10)
    log.close()


def test_sync_retries_while_argilla_is_down_then_loses_nothing(private_server, annotation_worker):
    link = service.link_for("outage", "studio", f"outage-{uuid.uuid4().hex[:8]}", SPEC)
    published = service.publish(link.id, ITEMS)
    ids = _record_ids(private_server, published.dataset_id)
    for name, label in (("dora", "a_better"), ("emil", "b_better")):
        client = _login(private_server, name)
        for record_id in ids:
            body = {"values": {"overall": {"value": label}}, "status": "submitted"}
            assert client.post(f"/api/v1/records/{record_id}/responses", json=body).status_code == 201

    private_server.stop()
    annotations.enqueue_sync(link.id)
    error = _wait(lambda: annotations.get_link(link.id).last_sync_error, 60, "the failed try to be recorded")
    assert "unreachable" in error and "retry" in error
    assert annotations.responses_of(link.id) == []

    private_server.start(say=lambda message: None)  # same home, port and data
    private_server.wait_healthy()
    _wait(lambda: annotations.get_link(link.id).last_sync_at, 90, "the retried sync to succeed")
    linked = annotations.get_link(link.id)
    assert linked.last_sync_error is None and linked.completed_records == 3
    assert len(annotations.responses_of(link.id)) == 6

    first_sync = linked.last_sync_at
    annotations.enqueue_sync(link.id)  # once more: nothing changes
    _wait(lambda: annotations.get_link(link.id).last_sync_at != first_sync, 60, "the second sync")
    keys = [(r.record_id, r.username) for r in annotations.responses_of(link.id)]
    assert len(keys) == len(set(keys)) == 6


def _record_ids(server: LocalArgilla, dataset_id: str) -> list[str]:
    import httpx

    headers = {"X-Argilla-Api-Key": server.api_key}
    found = httpx.get(f"{server.url}/api/v1/datasets/{dataset_id}/records", headers=headers).json()
    return [record["id"] for record in found["items"]]


def _login(server: LocalArgilla, username: str):
    import httpx

    form = {"username": username, "password": annotator_password(username)}
    token = httpx.post(f"{server.url}/api/v1/token", data=form)
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )


def test_argilla_dying_mid_sync_keeps_every_synced_response_and_the_next_sync_completes(
    private_server, monkeypatch
):
    """The server stops between two pages of a sync: the half-read snapshot is not applied (no synced
    response is deleted for being absent from it), and the next sync brings everything, once."""
    from annotation import backend as argilla_backend
    from annotation.errors import ArgillaUnavailable

    link = service.link_for("outage", "studio", f"midsync-{uuid.uuid4().hex[:8]}", SPEC)
    published = service.publish(link.id, ITEMS)
    ids = _record_ids(private_server, published.dataset_id)
    _submit(private_server, "dora", ids, "a_better")
    assert service.sync(link.id).added == 3
    _submit(private_server, "emil", ids, "b_better")

    monkeypatch.setattr(argilla_backend, "PAGE", 1)  # three pages: the server dies after the first
    read_page = argilla_backend.ArgillaBackend._get

    def first_page_then_stop(self, path, params=None):
        answer = read_page(self, path, params)
        if path.endswith("/records") and params["offset"] == 0:
            private_server.stop()
        return answer

    monkeypatch.setattr(argilla_backend.ArgillaBackend, "_get", first_page_then_stop)
    with pytest.raises(ArgillaUnavailable, match="unreachable"):
        service.sync(link.id)
    kept = annotations.responses_of(link.id)
    assert sorted((r.username, r.record_id) for r in kept) == sorted(("dora", i) for i in ids)

    monkeypatch.setattr(argilla_backend.ArgillaBackend, "_get", read_page)
    private_server.start(say=lambda message: None)
    private_server.wait_healthy()
    for _ in range(2):  # twice: the second sync changes nothing
        service.sync(link.id)
        keys = [(r.record_id, r.username) for r in annotations.responses_of(link.id)]
        assert len(keys) == len(set(keys)) == 6


def _submit(server: LocalArgilla, username: str, record_ids: list[str], label: str) -> None:
    client = _login(server, username)
    for record_id in record_ids:
        body = {"values": {"overall": {"value": label}}, "status": "submitted"}
        assert client.post(f"/api/v1/records/{record_id}/responses", json=body).status_code == 201
