"""The real stack for the integration tests: a Redis server started through `store.broker` in a temp
data dir, and real `python -m celery -A workers.celery_app worker` subprocesses running the
sleep-and-report pipeline (`workers.testing_pipeline`). Every process started here is killed by a
finalizer. (All in conftest.py: with `--import-mode=importlib` test helpers cannot be imported.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from store import broker
from studio.services import worker_answers_ping

REPO_ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_S = 0.5
STALE_AFTER_S = 5.0
STEP_S = 0.2
RECIPE = """
name: e2e-{name}
data: {{kind: file, path: {data}, preset: prompt_chosen_rejected}}
method: {{method: dpo}}
training: {{max_steps: {steps}}}
"""


@dataclass
class Stack:
    data_dir: Path
    redis_url: str = ""
    workers: list[subprocess.Popen] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """What every process of this stack (worker, CLI) sees."""
        env = dict(os.environ)
        env.update(
            STUDIO_DATA_DIR=str(self.data_dir),
            STUDIO_REDIS_URL=self.redis_url,
            STUDIO_PIPELINE="workers.testing_pipeline:run_recipe",
            STUDIO_TEST_STEP_S=str(STEP_S),
            STUDIO_HEARTBEAT_S=str(HEARTBEAT_S),
            STUDIO_STALE_AFTER_S=str(STALE_AFTER_S),
            PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p),
        )
        env.pop("STUDIO_DATABASE_URL", None)
        return env

    def start_worker(self, **extra_env: str) -> subprocess.Popen:
        node = f"e2e-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        log = open(self.data_dir / f"worker-{node.split('@')[0]}.log", "wb")  # noqa: SIM115
        command = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", "gpu",
                   "-c", "1", "--pool", "prefork", "-l", "info", "-n", node]  # fmt: skip
        # Own session: the finalizer kills the whole group, pool children included.
        proc = subprocess.Popen(
            command, env={**self.env, **extra_env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=REPO_ROOT,
        )  # fmt: skip
        self.workers.append(proc)
        self.logs.append(log)
        deadline = time.monotonic() + 60
        while not worker_answers_ping(self.redis_url, node):
            assert proc.poll() is None, f"worker exited: {Path(log.name).read_text()[-2000:]}"
            assert time.monotonic() < deadline, "worker did not answer ping within 60 s"
            time.sleep(0.5)
        return proc

    def studio(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "studio.cli", *args],
            env=self.env, capture_output=True, text=True, timeout=timeout, cwd=self.data_dir,
        )  # fmt: skip

    def recipe(self, steps: int, name: str = "run") -> Path:
        data = self.data_dir / "pairs.jsonl"
        data.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n")
        path = self.data_dir / f"{name}.yaml"
        path.write_text(RECIPE.format(name=name, data=data, steps=steps))
        return path

    @staticmethod
    def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str, poll_s: float = 0.2) -> Any:
        return wait_for(predicate, timeout_s, what, poll_s)

    def kill_all(self) -> None:
        for proc in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for log in self.logs:
            log.close()


def start_stack(data_dir: Path) -> Stack:
    data_dir.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STUDIO_DATA_DIR", str(data_dir))
        patch.delenv("STUDIO_REDIS_URL", raising=False)
        handle = broker.start_redis()  # a real redis-server on 127.0.0.1 and a free port
    assert handle.started_here
    return Stack(data_dir=data_dir, redis_url=handle.url)


def stop_stack(stack: Stack) -> None:
    try:
        stack.kill_all()
    finally:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("STUDIO_DATA_DIR", str(stack.data_dir))
            broker.stop_owned_redis()


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str, poll_s: float = 0.2) -> Any:
    """Poll until `predicate()` is truthy and return its value; fail naming `what` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(poll_s)


def _point_at(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make this test process's store calls (DB, queue) go to the stack's data dir and Redis."""
    monkeypatch.setenv("STUDIO_DATA_DIR", str(stack.data_dir))
    monkeypatch.setenv("STUDIO_REDIS_URL", stack.redis_url)
    monkeypatch.delenv("STUDIO_DATABASE_URL", raising=False)


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One Redis + one worker for the tests that do not break their worker."""
    stack = start_stack(tmp_path_factory.mktemp("e2e-stack"))
    try:
        stack.start_worker()
        yield stack
    finally:
        stop_stack(stack)


@pytest.fixture
def stack(shared_stack: Stack, monkeypatch: pytest.MonkeyPatch, _isolated_env: None) -> Stack:
    # Depends on _isolated_env (root conftest) so our env wins over its per-test data dir.
    _point_at(shared_stack, monkeypatch)
    return shared_stack


@pytest.fixture
def own_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_env: None) -> Iterator[Stack]:
    """A private Redis (and no worker yet) for a test that kills its worker."""
    stack = start_stack(tmp_path / "own-stack")
    try:
        _point_at(stack, monkeypatch)
        yield stack
    finally:
        stop_stack(stack)
