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
