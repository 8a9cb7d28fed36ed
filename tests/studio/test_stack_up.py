"""`studio up` as a user runs it: Redis, a worker and the studio app start in order and print where they
are; Ctrl-C (SIGINT) or SIGTERM stops every process it started, leaving no orphan behind. Argilla is left
out here (`--no-argilla`: its server has its own tests, and its start costs a minute); docs/studio.md
records a run with it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from studio import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Output:
    """What `studio up` prints, read by a thread (a pipe read in the test would block it)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.text = ""
        self._thread = threading.Thread(target=self._pump, args=(proc,), daemon=True)
        self._thread.start()

    def _pump(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.text += line

    def until(self, marker: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while marker not in self.text:
            assert time.monotonic() < deadline, f"no {marker!r} within {timeout_s:.0f} s:\n{self.text}"
            time.sleep(0.2)
        return self.text

    def rest(self) -> str:
        self._thread.join(timeout=30)
        return self.text


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (children, their children, ...), read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _gone(pid: int) -> bool:
    """Exited, or a zombie nobody reaps here (an orphan that still runs would be 'R' or 'S')."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_studio_up_starts_redis_a_worker_and_the_app_and_stops_them_all(
    tmp_path: Path, stop: signal.Signals
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "STUDIO_DATA_DIR": str(tmp_path / "data"),
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p),
    }
    env.pop("STUDIO_REDIS_URL", None)
    env.pop("STUDIO_DATABASE_URL", None)
    command = [sys.executable, "-m", "studio.cli", "up", "--no-argilla", "--port", str(port), "--grace", "5"]
    # Own session: a signal for it cannot reach this test; Ctrl-C in a terminal reaches only `studio up`
    # too, as every service it starts runs in a session of its own.
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)  # fmt: skip
    started: set[int] = set()
    try:
        output = _Output(proc)
        shown = output.until("ready:", 180)
        started = _descendants(proc.pid)
        redis_url = re.search(r"redis: (redis://127\.0\.0\.1:\d+\S*)", shown).group(1)
        assert re.search(r"worker: pid \d+", shown), shown
        assert f"studio: http://127.0.0.1:{port}" in shown, shown
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).status == 200
        assert redis.Redis.from_url(redis_url).ping()
        assert len(started) >= 4, started  # redis-server, celery main + its pool child, the app

        proc.send_signal(stop)
        proc.wait(timeout=180)  # a worker still importing torch on a loaded machine stops late
        rest = output.rest()[len(shown) :]
        assert proc.returncode == 0, shown + rest
        assert "stopping ..." in rest and rest.rstrip().endswith("stopped"), rest
        assert "Traceback" not in shown + rest
        deadline = time.monotonic() + 20
        while not all(_gone(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid in started if not _gone(pid)] == [], "orphans left running"
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(redis_url, socket_timeout=2).ping()
    except BaseException:
        _kill_all(proc, started)
        raise


def _kill_all(proc: subprocess.Popen, started: set[int]) -> None:
    """After a failure: nothing this test started may outlive it (the services have their own sessions)."""
    for pid in [proc.pid, *(started or _descendants(proc.pid))]:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=10)
