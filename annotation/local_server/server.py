"""Start and stop the real argilla-server (web app + rq worker) on 127.0.0.1 for one data dir.

Order: venv (installed once) → schema migration → default owner with the studio's API key → web app
and rq worker, both with the studio's SQL search engine registered → wait until the API answers.
The URL and API key land in `<home>/server.json`, which `annotation.connection` reads.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

from annotation.errors import AnnotationError
from annotation.local_server.venv import REPO_ROOT, ensure_server_venv

ENGINE_NAME = "studio-sql"  # == sql_engine.ENGINE_NAME (not imported: that module needs argilla_server)
OWNER = "argilla"
START_TIMEOUT_S = 120.0
ARGILLA_REDIS_DB = 1  # the studio's Celery queues use db 0


@dataclass
class LocalArgilla:
    home: Path
    redis_url: str
    port: int = 0
    redis_db: int = ARGILLA_REDIS_DB
    api_key: str = ""
    password: str = ""
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, say=print) -> str:
        """Install if needed, migrate, start both processes; returns the URL (not yet healthy)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self._load_credentials()
        python = ensure_server_venv(say=say)
        self._cli(python, "database", "migrate")
        self._cli(python, "database", "users", "create_default", "--api-key", self.api_key,
                  "--password", self.password, "--quiet")  # fmt: skip
        self.port = self.port or _free_port()
        self._spawn(python, "server", ["server", "--host", "127.0.0.1", "--port", str(self.port)])
        self._spawn(python, "worker", ["worker"])
        self._write_state()
        return self.url

    def wait_healthy(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.healthy():
            if not self.alive():
                raise AnnotationError(f"argilla-server exited during start-up: {self.failure_hint()}")
            if time.monotonic() > deadline:
                raise AnnotationError(
                    f"argilla-server not ready after {timeout_s:.0f} s: {self.failure_hint()}"
                )
            time.sleep(0.5)

    def healthy(self) -> bool:
        request = urllib.request.Request(f"{self.url}/api/v1/me", headers={"X-Argilla-Api-Key": self.api_key})
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def alive(self) -> bool:
        return bool(self.procs) and all(proc.poll() is None for proc in self.procs.values())

    def failure_hint(self) -> str:
        return (
            f"see {self.home / 'server.log'} and {self.home / 'worker.log'}{_tail(self.home / 'server.log')}"
        )

    def stop(self, grace_s: float = 10.0) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for log in self._logs:
            log.close()
        self.procs.clear()
        self._logs.clear()
        (self.home / "server.json").unlink(missing_ok=True)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for key in [key for key in env if key.startswith(("VIRTUAL_ENV", "PYTHONHOME"))]:
            env.pop(key)
        env.update(
            ARGILLA_HOME_PATH=str(self.home),
            ARGILLA_DATABASE_URL=f"sqlite+aiosqlite:///{self.home / 'argilla.db'}?check_same_thread=False",
            ARGILLA_REDIS_URL=_with_db(self.redis_url, self.redis_db),
            ARGILLA_SEARCH_ENGINE=ENGINE_NAME,
            ARGILLA_ENABLE_SHARE_YOUR_PROGRESS="false",  # it loads images from a CDN
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_OFFLINE="1",
            PYTHONPATH=str(REPO_ROOT),  # only `annotation.local_server` is imported from the repo
        )
        return env

    def _cli(self, python: Path, *args: str) -> None:
        command = [str(python), "-m", "annotation.local_server.launch", "cli", *args]
        result = subprocess.run(
            command, env=self.env(), capture_output=True, text=True, timeout=300, cwd=self.home
        )
        if result.returncode != 0:
            tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
            raise AnnotationError(
                f"argilla-server `{' '.join(args)}` failed (exit {result.returncode}): {tail}"
            )

    def _spawn(self, python: Path, name: str, args: list[str]) -> None:
        log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - open for the child's lifetime
        self._logs.append(log)
        command = [str(python), "-m", "annotation.local_server.launch", *args]
        # Own session: Ctrl-C reaches `studio up`, which then stops these in order.
        self.procs[name] = subprocess.Popen(
            command, env=self.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=self.home,
        )  # fmt: skip

    def _load_credentials(self) -> None:
        """The owner's API key and password: given, else `<home>/credentials.json`, else new ones."""
        path = self.home / "credentials.json"
        saved = json.loads(path.read_text()) if path.exists() else {}
        self.api_key = self.api_key or os.environ.get("STUDIO_ARGILLA_API_KEY") or saved.get("api_key", "")
        self.password = (
            self.password or os.environ.get("STUDIO_ARGILLA_PASSWORD") or saved.get("password", "")
        )
        self.api_key = self.api_key or f"studio.{secrets.token_urlsafe(24)}"
        self.password = self.password or secrets.token_urlsafe(12)
        path.write_text(json.dumps({"username": OWNER, "api_key": self.api_key, "password": self.password}))
        path.chmod(0o600)

    def _write_state(self) -> None:
        state = {"url": self.url, "api_key": self.api_key, "pids": {n: p.pid for n, p in self.procs.items()}}
        (self.home / "server.json").write_text(json.dumps(state))


def _with_db(redis_url: str, db: int) -> str:
    parts = urlsplit(redis_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except FileNotFoundError:
        return ""
    return f" — last line: {lines[-1][:300]}" if lines else ""
