"""What the Runs, Results and Playground tabs show, computed from the DB only (no state in the web
process: a reloaded page or a restarted studio shows exactly the same)."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import col, select

from store import runs, settings
from store.db import session_scope
from store.tables import Run, RunEvent, RunStatus
from studio.cli_render import local_time, progress_text
from studio.ui_files import read_text_inside

RUN_LIST_LIMIT = 100  # the newest; older runs stay reachable with `studio runs list`
LOG_TAIL_CHARS = 4000
RUN_COLUMNS = ["id", "name", "status", "progress", "created", "reason"]
# What lists need: not the recipe text or the metrics, which can be kilobytes per run.
_LIST_COLUMNS = (Run.id, Run.recipe_name, Run.status, Run.status_reason, Run.progress_step,
                 Run.progress_total, Run.created_at)  # fmt: skip


def recent_runs(limit: int = RUN_LIST_LIMIT) -> list[Any]:
    """The newest runs (rows with Run's list columns as attributes), in one query."""
    statement = sa.select(*_LIST_COLUMNS).order_by(col(Run.created_at).desc(), col(Run.id).desc())
    with session_scope() as session:
        return list(session.execute(statement.limit(limit)).all())


def runs_frame(rows: list[Run]) -> pd.DataFrame:
    data = [
        [run.id, run.recipe_name, run.status, progress_text(run), local_time(run.created_at),
         _short(run.status_reason or "", 80)]
        for run in rows
    ]  # fmt: skip
    return pd.DataFrame(data, columns=RUN_COLUMNS)


def run_choices(rows: list[Run], statuses: set[RunStatus] | None = None) -> list[tuple[str, str]]:
    """(label, run id) pairs for a dropdown, newest first."""
    return [
        (f"{run.id} · {run.recipe_name} · {run.status}", run.id)
        for run in rows
        if statuses is None or RunStatus(run.status) in statuses
    ]


def default_run(rows: list[Run]) -> str | None:
    """The run a fresh page shows: the newest running one, else the newest queued, else the newest."""
    for wanted in (RunStatus.RUNNING, RunStatus.QUEUED):
        for run in rows:
            if RunStatus(run.status) == wanted:
                return run.id
    return rows[0].id if rows else None


def progress_html(run: Run | None) -> str:
    if run is None:
        return "<div id='run-progress' data-step='0' data-total='0'>no run selected</div>"
    step, total = run.progress_step or 0, run.progress_total or 0
    share = min(100.0, 100.0 * step / total) if total else 0.0
    status = RunStatus(run.status)
    if status == RunStatus.SUCCEEDED:
        share = 100.0
    cancel = " · cancel requested" if run.cancel_requested and not status.finished else ""
    return (
        f"<div id='run-progress' data-step='{step}' data-total='{total}' data-status='{status.value}'>"
        f"<div style='font-weight:600'>{html.escape(run.id)} · {status.value}{cancel} · "
        f"step {step}/{total}</div>"
        f"<div style='background:#e5e7eb;border-radius:6px;height:14px;margin-top:4px'>"
        f"<div class='bar' style='width:{share:.1f}%;background:#2563eb;height:14px;border-radius:6px'>"
        f"</div></div></div>"
    )


def run_summary(run: Run | None) -> str:
    if run is None:
        return ""
    lines = [f"**{run.recipe_name}** · `{run.id}` · {run.status}"]
    if run.status_reason:
        lines.append(f"reason: {run.status_reason}")
    lines.append(f"created {local_time(run.created_at)} · started {local_time(run.started_at)} · "
                 f"finished {local_time(run.finished_at)} · worker {run.worker or '-'}")  # fmt: skip
    return "\n\n".join(lines)


def curve_points(run_id: str) -> list[tuple[int, float | None, dict[str, Any]]]:
    """(step, loss, metrics) of every logged training step, in order (only the columns we plot)."""
    statement = (
        select(RunEvent.step, RunEvent.loss, RunEvent.metrics)
        .where(RunEvent.run_id == run_id, col(RunEvent.step).is_not(None), col(RunEvent.loss).is_not(None))
        .order_by(col(RunEvent.id))
    )
    with session_scope() as session:
        return [(step, loss, metrics or {}) for step, loss, metrics in session.exec(statement).all()]


def events_signature(run_id: str) -> tuple[int, int]:
    """(number of logged steps, newest event id): cheap, so an unchanged run is not re-read."""
    statement = sa.select(sa.func.count(), sa.func.max(RunEvent.id)).where(RunEvent.run_id == run_id)
    with session_scope() as session:
        count, newest = session.execute(statement).one()
    return int(count or 0), int(newest or 0)


def log_tail(run: Run | None) -> str:
    """The end of the run's worker.log, else its last event messages."""
    if run is None:
        return ""
    text = read_text_inside(settings.runs_dir(run.id) / "worker.log", max_chars=LOG_TAIL_CHARS)
    if text:
        return text
    with session_scope() as session:
        statement = (
            select(RunEvent.message)
            .where(RunEvent.run_id == run.id, col(RunEvent.message).is_not(None))
            .order_by(col(RunEvent.id).desc())
            .limit(30)
        )
        messages = list(session.exec(statement).all())
    return "\n".join(reversed(messages))


def find_run(run_id: str | None) -> Run | None:
    if not run_id:
        return None
    try:
        return runs.get_run(run_id)
    except LookupError:
        return None


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
