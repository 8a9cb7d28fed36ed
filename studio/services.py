"""A tiny service supervisor for `studio up` / `studio demo`: start in order with a health check,
stop in reverse.

Each service is one small class; Argilla and the Gradio app become two more entries in the list.
The studio never imports `workers`: the worker is a `python -m celery` subprocess that shares only
the data dir (DB) and the Redis URL with us.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from studio import REPO_ROOT
from studio.cli_errors import CliError

WORKER_APP = "workers.celery_app"
DEFAULT_QUEUE = "gpu"  # == store's TRAIN_QUEUE; the worker only consumes what `studio run` enqueues


class Service(Protocol):
    name: str
    startup_timeout_s: float

    def start(self) -> str:
        """Start (or attach to) the service; return a one-line description such as its URL."""

    def healthy(self) -> bool: ...

    def alive(self) -> bool: ...

    def failure_hint(self) -> str:
        """What to look at when the service died or never became healthy."""

    def stop(self, force: bool = False) -> None:
        """Stop cleanly; `force`: the user insisted (second Ctrl-C), skip any grace period."""


class RedisService:
    """The broker: an external one from STUDIO_REDIS_URL, or the embedded one `store.broker` starts."""

    name = "redis"
    startup_timeout_s = 30.0

    def __init__(self) -> None:
        self.url = ""
        self.started_here = False

    def start(self) -> str:
        from store import broker

        # Starts the embedded server, or reuses STUDIO_REDIS_URL / the data dir's running one.
        handle = broker.start_redis()
        self.url, self.started_here = handle.url, handle.started_here
        return self.url if handle.started_here else f"{self.url} (already running)"

    def healthy(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=2).ping())
        except redis.RedisError:
            return False

    def alive(self) -> bool:
        return self.healthy()

    def failure_hint(self) -> str:
        return f"Redis at {self.url} does not answer PING"

    def stop(self, force: bool = False) -> None:
        from store import broker

        # Only a server we started: another `studio up` or an external Redis may be serving others.
        if self.started_here:
            broker.stop_owned_redis()


def worker_command(concurrency: int = 1, queues: str = DEFAULT_QUEUE, node_name: str = "") -> list[str]:
    command = [
        sys.executable, "-m", "celery", "-A", WORKER_APP, "worker",
        "-Q", queues, "-c", str(concurrency), "--pool", "prefork", "-l", "info",
    ]  # fmt: skip
    return command + (["-n", node_name] if node_name else [])


def unique_node_name() -> str:
    """A node name of our own, so the health check pings this worker and not another one."""
    return f"studio-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"


def worker_env(redis_url: str) -> dict[str, str]:
    """The worker shares our data dir and Redis; our repo root goes on its path so `workers` imports."""
    from store import settings

    env = dict(os.environ)
    env["STUDIO_REDIS_URL"] = redis_url
    # Absolute, so a worker started from another folder still finds the same DB and runs folder.
    env["STUDIO_DATA_DIR"] = str(settings.data_dir())
    if (REPO_ROOT / "workers").is_dir():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    return env


def stop_process(proc: subprocess.Popen, grace_s: float, first: int = signal.SIGTERM) -> int:
    """Ask politely, then SIGKILL the whole process group (the worker's pool children too)."""
    if proc.poll() is None:
        proc.send_signal(first)
        try:
            proc.wait(timeout=grace_s)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            # A second Ctrl-C while stopping means "now": skip the rest of the grace period.
            _kill_group(proc)
            proc.wait(timeout=10)
    return proc.returncode


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # started with start_new_session: pgid == pid
    except (ProcessLookupError, PermissionError):
        proc.kill()


class WorkerService:
    """One Celery worker subprocess, in its own session so the terminal's Ctrl-C reaches only us."""

    name = "worker"
    startup_timeout_s = 90.0

    def __init__(
        self, redis: RedisService, concurrency: int = 1, grace_s: float = 20.0, queues: str = DEFAULT_QUEUE
    ) -> None:
        self.redis = redis
        self.queues = queues
        if queues != DEFAULT_QUEUE:
            self.name = f"worker ({queues})"
        self.concurrency = concurrency
        self.grace_s = grace_s
        self.node_name = unique_node_name()
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> str:
        from store import settings

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.log_path = settings.data_dir() / "logs" / f"worker-{stamp}-{os.getpid()}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.proc = subprocess.Popen(
            worker_command(self.concurrency, queues=self.queues, node_name=self.node_name),
            env=worker_env(self.redis.url),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return f"pid {self.proc.pid} (log: {self.log_path})"

    def healthy(self) -> bool:
        return self.alive() and worker_answers_ping(self.redis.url, self.node_name)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def failure_hint(self) -> str:
        return f"see the worker log {self.log_path}{log_tail(self.log_path)}"

    def stop(self, force: bool = False) -> None:
        if self.proc is not None:
            stop_process(self.proc, 0 if force else self.grace_s)
        if self._log is not None:
            self._log.close()


class ArgillaService:
    """The real argilla-server (own venv, SQLite, our Redis, its rq worker, web UI) for annotation.

    `annotation.local_server` does the work; the studio only starts and watches it (docs/annotation.md).
    """

    name = "argilla"
    startup_timeout_s = 180.0

    def __init__(self, redis: RedisService) -> None:
        self.redis = redis
        self.server = None

    def start(self) -> str:
        from annotation.connection import argilla_home
        from annotation.local_server.server import LocalArgilla

        self.server = LocalArgilla(home=argilla_home(), redis_url=self.redis.url)
        url = self.server.start()  # installs the server's venv on first use (a few minutes, once)
        return f"annotation UI {url} (owner 'argilla'; password in {self.server.home / 'credentials.json'})"

    def healthy(self) -> bool:
        return self.server is not None and self.server.healthy()

    def alive(self) -> bool:
        return self.server is not None and self.server.alive()

    def failure_hint(self) -> str:
        return self.server.failure_hint() if self.server else "argilla-server was not started"

    def stop(self, force: bool = False) -> None:
        if self.server is not None:
            self.server.stop(grace_s=0 if force else 10)


class StudioAppService:
    """The Gradio app (`python -m studio.app`) as a subprocess sharing our data dir and Redis."""

    name = "studio"
    startup_timeout_s = 120.0

    def __init__(self, redis: RedisService, host: str = "127.0.0.1", port: int = 7860) -> None:
        self.redis, self.host, self.port = redis, host, port
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{shown}:{self.port}"

    def start(self) -> str:
        from store import settings

        self.log_path = settings.data_dir() / "logs" / f"studio-{os.getpid()}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        command = [sys.executable, "-m", "studio.app", "--host", self.host, "--port", str(self.port)]
        # Its stdout goes to our terminal too: on first start it prints the admin password once.
        self.proc = subprocess.Popen(
            command, env=worker_env(self.redis.url), stdin=subprocess.DEVNULL, start_new_session=True
        )
        return self.url

    def healthy(self) -> bool:
        import urllib.request

        try:
            return self.alive() and urllib.request.urlopen(self.url + "/", timeout=2).status == 200
        except OSError:
            return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def failure_hint(self) -> str:
        return f"the studio app did not answer at {self.url} (is port {self.port} taken?)"

    def stop(self, force: bool = False) -> None:
        if self.proc is not None:
            stop_process(self.proc, 0 if force else 10)
        if self._log is not None:
            self._log.close()


def worker_answers_ping(redis_url: str, node_name: str) -> bool:
    """True once this worker answers a Celery control ping, i.e. its consumer is ready."""
    from celery import Celery

    client = Celery("studio-ping", broker=redis_url)
    try:
        replies = client.control.ping(destination=[node_name], timeout=1.0) or []
    finally:
        client.close()
    return any(node_name in reply for reply in replies)


def log_tail(path: Path | None, lines: int = 1) -> str:
    """The last meaningful line of a log, for a one-line error ("— last line: ...")."""
    if path is None or not path.exists():
        return ""
    text = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return f" — last line: {text[-1][:200]}" if text[-lines:] else ""


class Supervisor:
    """Starts services in order (each must become healthy first) and stops the started ones in reverse."""

    def __init__(self, services: list[Service], say: Callable[[str], None] = print) -> None:
        self.services = services
        self.say = say
        self.started: list[Service] = []

    def __enter__(self) -> Supervisor:
        self.start_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start_all(self) -> None:
        try:
            for service in self.services:
                self._start_one(service)
        except BaseException:
            self.stop_all()
            raise

    def _start_one(self, service: Service) -> None:
        description = service.start()
        self.started.append(service)  # started, even if not healthy yet: it must be stopped
        deadline = time.monotonic() + service.startup_timeout_s
        while not service.healthy():
            if not service.alive() or time.monotonic() > deadline:
                state = "exited" if not service.alive() else "did not become ready"
                raise CliError(f"{service.name} {state} during start-up: {service.failure_hint()}")
            time.sleep(0.5)
        self.say(f"{service.name}: {description}")

    def stop_all(self, force: bool = False) -> None:
        while self.started:
            service = self.started.pop()
            try:
                service.stop(force)
            except Exception as exc:  # keep stopping the others; report this one
                self.say(f"could not stop {service.name} cleanly: {type(exc).__name__}: {exc}")

    def check(self) -> None:
        """Raise CliError if a started service died."""
        for service in self.started:
            if not service.alive():
                raise CliError(f"{service.name} stopped unexpectedly: {service.failure_hint()}")

    def wait(self, poll_s: float = 1.0) -> None:
        """Block until a service dies (→ CliError) or Ctrl-C / SIGTERM (→ KeyboardInterrupt)."""
        while True:
            self.check()
            time.sleep(poll_s)


@contextmanager
def interrupt_on_stop_signals() -> Iterator[None]:
    """SIGTERM and SIGINT raise KeyboardInterrupt, so `finally` blocks stop the services (Ctrl-C, systemd,
    docker stop, kill). SIGINT too: a process started in the background by a non-interactive shell (CI,
    `nohup … &`) inherits SIGINT *ignored*, and Python then never raises KeyboardInterrupt for it."""

    def _raise(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, _raise) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
