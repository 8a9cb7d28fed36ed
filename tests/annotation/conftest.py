"""The real Argilla stack for the annotation integration tests, started once per test session:
argilla-server 2.8 from its own venv (created on first use, then cached), SQLite, a real Redis from
`store.broker`, its rq worker, and the studio's SQL search engine. Without it these tests skip
locally and FAIL under CI=1. (Helpers live here: with --import-mode=importlib tests cannot import.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from annotation.errors import AnnotationError

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ArgillaStack:
    url: str
    api_key: str
    redis_url: str
    data_dir: Path
    server: Any

    def owner(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-Argilla-Api-Key": self.api_key}, timeout=30)

    def login(self, username: str, password: str) -> httpx.Client:
        """A client that talks like the web UI: a bearer token from POST /api/v1/token."""
        token = httpx.post(f"{self.url}/api/v1/token", data={"username": username, "password": password})
        token.raise_for_status()
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        return httpx.Client(base_url=self.url, headers=bearer, timeout=30)


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"annotation integration prerequisites missing under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def argilla_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArgillaStack]:
    from annotation.local_server.server import LocalArgilla
    from store import broker

    data_dir = tmp_path_factory.mktemp("argilla-stack")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STUDIO_DATA_DIR", str(data_dir))
        patch.delenv("STUDIO_REDIS_URL", raising=False)
        redis = broker.start_redis()
        server = LocalArgilla(home=data_dir / "argilla", redis_url=redis.url)
        try:
            server.start(say=lambda message: None)
            server.wait_healthy()
        except AnnotationError as error:
            server.stop()
            broker.stop_owned_redis()
            _missing(str(error))
    try:
        yield ArgillaStack(server.url, server.api_key, redis.url, data_dir, server)
    finally:
        server.stop()
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("STUDIO_DATA_DIR", str(data_dir))
            broker.stop_owned_redis()


@pytest.fixture
def argilla(
    argilla_stack: ArgillaStack, monkeypatch: pytest.MonkeyPatch, _isolated_env: None
) -> ArgillaStack:
    """The shared server, with this test's store (its own data dir) pointed at it."""
    monkeypatch.setenv("STUDIO_ARGILLA_URL", argilla_stack.url)
    monkeypatch.setenv("STUDIO_ARGILLA_API_KEY", argilla_stack.api_key)
    monkeypatch.setenv("STUDIO_REDIS_URL", argilla_stack.redis_url)
    # Annotator passwords belong with the server, which outlives each test's data dir.
    monkeypatch.setenv("STUDIO_ARGILLA_HOME", str(argilla_stack.data_dir / "argilla"))
    return argilla_stack


# --- the queue side: a Celery worker on `annotation`, and the webhook receiver --------------------------
QUEUE_REDIS_DB = 3  # not db 0: test_argilla_outage runs its own annotation worker there


@dataclass
class QueueStack:
    env: dict[str, str]
    data_dir: Path
    argilla: ArgillaStack


def _with_db(url: str, db: int) -> str:
    return url.rsplit("/", 1)[0] + f"/{db}" if url.count("/") > 2 else f"{url}/{db}"


@pytest.fixture(scope="session")
def queue_stack(
    argilla_stack: ArgillaStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[QueueStack]:
    """A real Celery worker consuming `annotation` for the tests that go through the queue (CLI, webhooks,
    browser), with a data dir (DB) of its own that those tests share with it."""
    import subprocess
    import time

    from studio.services import stop_process, unique_node_name, worker_answers_ping, worker_command

    data_dir = tmp_path_factory.mktemp("queue-stack")
    env = {
        "STUDIO_DATA_DIR": str(data_dir),
        "STUDIO_REDIS_URL": _with_db(argilla_stack.redis_url, QUEUE_REDIS_DB),
        "STUDIO_ARGILLA_URL": argilla_stack.url,
        "STUDIO_ARGILLA_API_KEY": argilla_stack.api_key,
        "STUDIO_ARGILLA_HOME": str(argilla_stack.data_dir / "argilla"),
        "STUDIO_ANNOTATION_RETRY_BASE_S": "0.5",
    }
    node = unique_node_name()
    log = open(data_dir / "annotation-worker.log", "wb")  # noqa: SIM115 - open for the worker's lifetime
    proc = subprocess.Popen(
        worker_command(queues="annotation", node_name=node),
        env=dict(os.environ, **env, PYTHONPATH=str(REPO_ROOT)), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True, cwd=REPO_ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not worker_answers_ping(env["STUDIO_REDIS_URL"], node):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc, 5)
            pytest.fail(f"the annotation worker did not start: see {data_dir / 'annotation-worker.log'}")
        time.sleep(0.5)
    try:
        yield QueueStack(env, data_dir, argilla_stack)
    finally:
        stop_process(proc, 10)
        log.close()


@pytest.fixture
def queued(queue_stack: QueueStack, monkeypatch: pytest.MonkeyPatch, _isolated_env: None) -> QueueStack:
    """This test talks to the same DB, Redis db and Argilla as the session's annotation worker."""
    for key, value in queue_stack.env.items():
        monkeypatch.setenv(key, value)
    return queue_stack


@pytest.fixture(scope="session")
def webhook_receiver(queue_stack: QueueStack) -> Iterator[Any]:
    """`studio.webhooks` as `studio up` runs it: a subprocess that registers with the real Argilla."""
    import time

    from studio.webhooks import WebhookService

    with pytest.MonkeyPatch.context() as patch:
        for key, value in queue_stack.env.items():
            patch.setenv(key, value)
        service = WebhookService(type("Redis", (), {"url": queue_stack.env["STUDIO_REDIS_URL"]})())
        service.start()
    deadline = time.monotonic() + service.startup_timeout_s
    while not service.healthy():
        if not service.alive() or time.monotonic() > deadline:
            service.stop(force=True)
            pytest.fail(f"the webhook receiver did not start: {service.failure_hint()}")
        time.sleep(0.3)
    try:
        yield service
    finally:
        service.stop()


def wait_for(predicate: Any, timeout_s: float, what: str) -> Any:
    import time

    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.3)
    return value


@pytest.fixture
def wait() -> Any:
    """`wait(predicate, timeout_s, what)`: poll until truthy, or fail the test saying what never came."""
    return wait_for
