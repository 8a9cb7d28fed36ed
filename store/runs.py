"""Run lifecycle: the ONLY module that changes a run's status.

    queued ──► running ──► succeeded | failed | cancelled
    queued ──► cancelled | failed

Every transition is one guarded UPDATE (`... WHERE id = :id AND status IN (allowed sources)`), so two
processes racing (a cancel against a worker start, the reaper against a late heartbeat) can never
both win, and a finished run never changes again. Transitions return False when the guard refused
them and raise `RunNotFound` when there is no such run.

Everything returned is a detached row (sessions use expire_on_commit=False), safe to read anywhere.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from store.column_types import utcnow
from store.db import session_scope
from store.errors import AmbiguousRunId, RunNotFound
from store.tables import FINISHED_STATUSES, Artifact, Run, RunEvent, RunStatus

QUEUED, RUNNING = RunStatus.QUEUED, RunStatus.RUNNING
MAX_REASON_CHARS = 500


def new_run_id() -> str:
    """`r-YYYYMMDD-xxxxxx`: sortable by day, short enough to type, unique enough (16^6 per day)."""
    return f"r-{utcnow():%Y%m%d}-{secrets.token_hex(3)}"


def create_run(
    recipe_yaml: str,
    recipe_name: str,
    recipe_hash: str,
    schema_version: int = 1,
    recipe_id: int | None = None,
) -> Run:
    """Freeze a recipe snapshot into a new queued run."""
    run = Run(
        id=new_run_id(),
        recipe_id=recipe_id,
        recipe_name=recipe_name,
        recipe_yaml=recipe_yaml,
        recipe_hash=recipe_hash,
        schema_version=schema_version,
        created_at=utcnow(),
    )
    with session_scope() as session:
        session.add(run)
    return run


def mark_running(run_id: str, worker: str) -> bool:
    """queued → running. False if the run was cancelled (or otherwise finished) before it started."""
    now = utcnow()
    return _guarded_update(
        run_id,
        [QUEUED],
        status=RUNNING,
        worker=worker,
        started_at=now,
        heartbeat_at=now,
        attempts=Run.attempts + 1,
    )


def heartbeat(run_id: str) -> bool:
    """Record that the worker is alive. False once the run is no longer running (e.g. reaped)."""
    return _guarded_update(run_id, [RUNNING], heartbeat_at=utcnow())


def mark_succeeded(run_id: str, metrics: dict[str, Any]) -> bool:
    """running → succeeded, with the final metrics."""
    return _finish(run_id, [RUNNING], RunStatus.SUCCEEDED, reason=None, metrics=_json_safe(metrics))


def mark_failed(run_id: str, reason: str) -> bool:
    """queued | running → failed. `queued` too: the worker may fail before it could start the run."""
    return _finish(run_id, [QUEUED, RUNNING], RunStatus.FAILED, reason=reason)


def mark_cancelled(run_id: str, reason: str) -> bool:
    """queued | running → cancelled (the worker acknowledges a requested cancel)."""
    return _finish(run_id, [QUEUED, RUNNING], RunStatus.CANCELLED, reason=reason)


def request_cancel(run_id: str) -> Run:
    """Ask a run to stop. A queued run is cancelled at once; a running one when its worker notices;
    a finished one is left as it is. Accepts a unique id prefix; returns the run as it is now."""
    run = get_run(run_id)
    before_start = "cancelled before it started"
    _finish(run.id, [QUEUED], RunStatus.CANCELLED, reason=before_start, cancel_requested=True)
    _guarded_update(run.id, [RUNNING], cancel_requested=True)
    return get_run(run.id)


def cancel_requested(run_id: str) -> bool:
    """True when the worker should stop: a cancel was requested, or the run is already finished."""
    with session_scope() as session:
        row = session.exec(select(Run.cancel_requested, Run.status).where(Run.id == run_id)).first()
    if row is None:
        raise RunNotFound(f"no run with id {run_id!r}")
    requested, status = row
    return bool(requested) or RunStatus(status) in FINISHED_STATUSES


def reap_stale(timeout_s: float = 30.0) -> list[str]:
    """Fail every running run whose worker has not been heard from for `timeout_s`; return their ids."""
    now = utcnow()
    cutoff = now - timedelta(seconds=timeout_s)
    last_seen = sa.func.coalesce(Run.heartbeat_at, Run.started_at)
    with session_scope() as session:
        stale = session.exec(select(Run).where(Run.status == RUNNING, last_seen < cutoff)).all()
    reaped = []
    for run in stale:
        seen_at = run.heartbeat_at or run.started_at
        reason = (
            f"worker stopped responding: no heartbeat for {int((now - seen_at).total_seconds())} s "
            f"(last seen {seen_at:%H:%M:%S} UTC on {run.worker or 'unknown worker'})"
        )
        # Guarded on the heartbeat we read too: a worker that beat in the meantime is alive after all.
        still_silent = {"heartbeat_at": run.heartbeat_at}
        if _finish(run.id, [RUNNING], RunStatus.FAILED, reason=reason, extra_guard=still_silent):
            reaped.append(run.id)
    return reaped


def append_event(
    run_id: str,
    *,
    step: int | None = None,
    total: int | None = None,
    loss: float | None = None,
    metrics: dict[str, Any] | None = None,
    message: str | None = None,
) -> RunEvent:
    """Record one progress message and move the run's progress counters along.

    A non-finite loss (NaN/inf) is stored as NULL in `loss` and as text in `metrics["loss"]`:
    JSON (and SQLite's REAL) cannot hold NaN, but a diverged loss is worth seeing.
    """
    event_metrics = _json_safe(metrics or {})
    if loss is not None and not math.isfinite(loss):
        event_metrics.setdefault("loss", str(loss))
        loss = None
    event = RunEvent(run_id=run_id, step=step, total=total, loss=loss, metrics=event_metrics, message=message)
    # With neither step nor total the UPDATE assigns a column to itself: it still proves the run exists.
    progress: dict[str, Any] = {"progress_step": Run.progress_step if step is None else step}
    if total is not None:
        progress["progress_total"] = total
    with session_scope() as session:
        # The UPDATE goes before the INSERT so a missing run fails cleanly instead of on the foreign key.
        updated = session.execute(sa.update(Run).where(col(Run.id) == run_id).values(**progress))
        if updated.rowcount == 0:
            raise RunNotFound(f"no run with id {run_id!r}")
        session.add(event)
    return event


def _finish(
    run_id: str,
    allowed_from: list[RunStatus],
    status: RunStatus,
    reason: str | None,
    extra_guard: dict[str, Any] | None = None,
    **values: Any,
) -> bool:
    return _guarded_update(
        run_id,
        allowed_from,
        status=status,
        status_reason=_one_line(reason) if reason is not None else None,
        finished_at=utcnow(),
        extra_guard=extra_guard,
        **values,
    )


def _guarded_update(
    run_id: str, allowed_from: list[RunStatus], extra_guard: dict[str, Any] | None = None, **values: Any
) -> bool:
    statement = sa.update(Run).where(col(Run.id) == run_id, col(Run.status).in_(allowed_from))
    statement = statement.values(**values)
    for column, expected in (extra_guard or {}).items():
        column_attr = getattr(Run, column)
        statement = statement.where(column_attr.is_(None) if expected is None else column_attr == expected)
    with session_scope() as session:
        if session.execute(statement).rowcount == 1:
            return True
        _require_run(session, run_id)
    return False


def _require_run(session: Session, run_id: str) -> None:
    if session.exec(select(Run.id).where(Run.id == run_id)).first() is None:
        raise RunNotFound(f"no run with id {run_id!r}")


def get_run(run_id: str) -> Run:
    """The run with this id, or with the only id starting with `run_id` (ids are long to type)."""
    with session_scope() as session:
        run = session.get(Run, run_id)
        if run is not None:
            return run
        matches = session.exec(
            select(Run).where(col(Run.id).startswith(run_id, autoescape=True)).order_by(Run.id).limit(6)
        ).all()
    if not matches:
        raise RunNotFound(f"no run with id {run_id!r} (`studio runs` lists them)")
    if len(matches) > 1:
        shown = ", ".join(match.id for match in matches[:5])
        raise AmbiguousRunId(f"run id prefix {run_id!r} matches several runs ({shown}); type more of it")
    return matches[0]


def list_runs(limit: int = 50) -> list[Run]:
    """The newest runs first."""
    with session_scope() as session:
        statement = select(Run).order_by(col(Run.created_at).desc(), col(Run.id).desc()).limit(limit)
        return list(session.exec(statement).all())


def events(run_id: str, after_id: int = 0, limit: int | None = None) -> list[RunEvent]:
    """A run's events in the order they were written; pass the last seen id as `after_id` to poll."""
    with session_scope() as session:
        statement = select(RunEvent).where(RunEvent.run_id == run_id, col(RunEvent.id) > after_id)
        statement = statement.order_by(col(RunEvent.id))
        return list(session.exec(statement.limit(limit)).all())


def add_artifact(run_id: str, kind: str, path: str | Path) -> Artifact:
    """Record a file or folder a run produced; its size is measured now (None if it is missing)."""
    if not kind:
        raise ValueError("an artifact needs a kind (adapter, report_json, report_md, log, ...)")
    artifact = Artifact(run_id=run_id, kind=kind, path=str(path), size_bytes=_size_bytes(Path(path)))
    with session_scope() as session:
        _require_run(session, run_id)
        session.add(artifact)
    return artifact


def artifacts(run_id: str) -> list[Artifact]:
    """A run's artifacts in the order they were recorded."""
    with session_scope() as session:
        statement = select(Artifact).where(Artifact.run_id == run_id).order_by(col(Artifact.id))
        return list(session.exec(statement).all())


def _size_bytes(path: Path) -> int | None:
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(child.stat().st_size for child in path.rglob("*") if child.is_file())
    return None


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 1] + "…"


def _json_safe(value: Any) -> Any:
    """Replace NaN/inf (invalid JSON; PostgreSQL rejects them) by their text, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return [_json_safe(item) for item in value]
    return value
