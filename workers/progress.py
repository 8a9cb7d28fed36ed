"""Typed progress messages from a pipeline, and cooperative cancellation.

A pipeline only ever sees the `Progress` protocol, so the same code runs under the worker (events
go to the DB), in unit tests (a list) or nowhere at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from store import runs


class RunCancelled(Exception):  # noqa: N818 - the name reads as an event, like KeyboardInterrupt
    """Raised by a pipeline when `should_stop()` turned true; the lifecycle marks the run cancelled."""


@runtime_checkable
class Progress(Protocol):
    def on_log(
        self, step: int, total: int, loss: float | None = None, metrics: dict[str, Any] | None = None
    ) -> None: ...

    def message(self, text: str) -> None: ...

    def should_stop(self) -> bool: ...


class NullProgress:
    """Discards everything and never asks to stop."""

    def on_log(
        self, step: int, total: int, loss: float | None = None, metrics: dict[str, Any] | None = None
    ) -> None:
        return None

    def message(self, text: str) -> None:
        return None

    def should_stop(self) -> bool:
        return False


@dataclass
class ListProgress:
    """Keeps every call in memory; `stop_after` makes `should_stop()` true after that many logs."""

    logs: list[tuple[int, int, float | None, dict[str, Any]]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    stop_after: int | None = None

    def on_log(
        self, step: int, total: int, loss: float | None = None, metrics: dict[str, Any] | None = None
    ) -> None:
        self.logs.append((step, total, loss, dict(metrics or {})))

    def message(self, text: str) -> None:
        self.messages.append(text)

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.logs) >= self.stop_after


class StoreProgress:
    """Writes `RunEvent`s through `store.runs` and reads the run's cancel flag.

    `should_stop()` is called by the trainer after every step; a DB read per step would dominate tiny
    runs, so the flag is cached for `poll_s` seconds. Once true it stays true.
    """

    def __init__(self, run_id: str, poll_s: float = 1.0) -> None:
        self.run_id = run_id
        self.poll_s = poll_s
        self._checked_at = float("-inf")
        self._stop = False

    def on_log(
        self, step: int, total: int, loss: float | None = None, metrics: dict[str, Any] | None = None
    ) -> None:
        runs.append_event(
            self.run_id, step=step, total=total, loss=loss, metrics=dict(metrics or {}), message=None
        )

    def message(self, text: str) -> None:
        runs.append_event(self.run_id, step=None, total=None, loss=None, metrics={}, message=text)

    def should_stop(self) -> bool:
        if self._stop:
            return True
        now = time.monotonic()
        if now - self._checked_at >= self.poll_s:
            self._checked_at = now
            self._stop = bool(runs.cancel_requested(self.run_id))
        return self._stop
