"""Liveness for a running run: periodic heartbeats, and suicide when the worker parent dies.

`store.runs.reap_stale` fails runs whose heartbeat is older than a timeout, so a crashed worker
never leaves a run "running" forever. The heartbeat is a daemon thread so it never keeps a finished
process alive.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from store import runs

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 5.0
# Exit status used when the child kills itself because its parent vanished (see _orphaned).
ORPHAN_EXIT_CODE = 70
ORPHAN_CHECK_S = 1.0

# Set in Celery prefork pool children (see workers.celery_app). Only there does a new parent mean the
# run is unsupervised: a solo-pool worker or a plain call may legitimately outlive its launcher.
_watch_parent_by_default = False


def watch_parent_in_this_process() -> None:
    global _watch_parent_by_default
    _watch_parent_by_default = True


def interval_from_env() -> float:
    """`STUDIO_HEARTBEAT_S` lets tests (and slow shared DBs) change the beat."""
    raw = os.environ.get("STUDIO_HEARTBEAT_S")
    return float(raw) if raw else DEFAULT_INTERVAL_S


class Heartbeat:
    """Context manager: beats every `interval_s` seconds until the block ends.

    `beat` and `exit_process` are injectable so the unit tests exercise the logic without a DB or
    without killing pytest.
    """

    def __init__(
        self,
        run_id: str,
        interval_s: float | None = None,
        beat: Callable[[str], object] | None = None,
        exit_process: Callable[[int], object] = os._exit,
        watch_parent: bool | None = None,
    ) -> None:
        self.run_id = run_id
        self.interval_s = interval_from_env() if interval_s is None else interval_s
        # Looked up at call time so tests can monkeypatch store.runs.heartbeat.
        self._beat = beat or (lambda rid: runs.heartbeat(rid))
        self._exit = exit_process
        self.watch_parent = _watch_parent_by_default if watch_parent is None else watch_parent
        self._parent = os.getppid()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.interval_s + 5)

    def _orphaned(self) -> bool:
        # If the worker's main process is SIGKILLed, its prefork child would keep training with
        # nobody to ack the task, and keep heartbeating, so the run would look alive forever. On
        # Linux, Celery (>= 5.3) asks the kernel to SIGKILL pool children when the parent dies
        # (PR_SET_PDEATHSIG); this check is the portable fallback for where that is unavailable
        # (macOS, prctl failing, other pools). A changed parent pid means we were re-parented to
        # init or a subreaper: die, so reap_stale fails the run. Remove only if every supported
        # platform gets a parent-death signal.
        return os.getppid() != self._parent

    def _loop(self) -> None:
        # The parent is checked more often than we beat: an orphan should stop burning the GPU
        # within a second, while beats only need to beat the stale timeout.
        tick = min(self.interval_s, ORPHAN_CHECK_S)
        next_beat = time.monotonic()
        while not self._stop.is_set():
            if self.watch_parent and self._orphaned():
                log.error("worker parent %s is gone; exiting run %s", self._parent, self.run_id)
                # os._exit, not sys.exit: a SystemExit in this thread would only end the thread, and
                # atexit/finally blocks in the training thread could hang on a dead parent's pipes.
                self._exit(ORPHAN_EXIT_CODE)
                return
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self.interval_s
                self._beat_once()
            self._stop.wait(tick)

    def _beat_once(self) -> None:
        try:
            self._beat(self.run_id)
        except Exception:  # a DB hiccup must not kill the beat thread; the next beat may succeed
            log.warning("heartbeat for run %s failed", self.run_id, exc_info=True)
