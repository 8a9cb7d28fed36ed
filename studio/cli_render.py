"""How runs look on the terminal and in `--json`: pure functions from store rows to text/tables/dicts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.table import Table

from recipes.evaluation import HEADLINE_METRICS, SUMMARY_METRICS
from store import runs
from store.tables import Run, RunEvent, RunStatus

CI_SUFFIXES = ("_ci_low", "_ci_high")
STATUS_STYLE = {
    RunStatus.QUEUED: "yellow",
    RunStatus.RUNNING: "cyan",
    RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "red",
    RunStatus.CANCELLED: "magenta",
}


def status_of(run: Run) -> RunStatus:
    return RunStatus(run.status)


def styled_status(run: Run) -> str:
    status = status_of(run)
    return f"[{STATUS_STYLE[status]}]{status.value}[/]"


def local_time(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    return round(((end or datetime.now(UTC)) - start).total_seconds(), 1)


def progress_text(run: Run) -> str:
    if run.progress_total:
        return f"{run.progress_step or 0}/{run.progress_total}"
    return "-" if run.progress_step is None else str(run.progress_step)


def artifact_paths(run_id: str) -> dict[str, str]:
    return {artifact.kind: artifact.path for artifact in runs.artifacts(run_id)}


def result_json(run: Run) -> dict[str, Any]:
    """The one object `studio run --json` prints."""
    return {
        "run_id": run.id,
        "status": status_of(run).value,
        "reason": run.status_reason,
        "metrics": run.metrics or {},
        "artifacts": artifact_paths(run.id),
    }


def event_json(event: RunEvent) -> dict[str, Any]:
    return {
        "at": event.created_at.isoformat() if event.created_at else None,
        "step": event.step,
        "total": event.total,
        "loss": event.loss,
        "metrics": event.metrics or {},
        "message": event.message,
    }


def details_json(run: Run, last_events: list[RunEvent]) -> dict[str, Any]:
    """Everything `studio runs show --json` prints."""
    running = status_of(run) == RunStatus.RUNNING
    return {
        **result_json(run),
        "name": run.recipe_name,
        "worker": run.worker,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_s": seconds_between(run.started_at, run.finished_at),
        "heartbeat_age_s": seconds_between(run.heartbeat_at, None) if running else None,
        "progress": {"step": run.progress_step, "total": run.progress_total},
        "cancel_requested": run.cancel_requested,
        "events": [event_json(event) for event in last_events],
    }


def runs_table(rows: list[Run]) -> Table:
    table = Table("id", "name", "status", "progress", "created", "reason", box=None, pad_edge=False)
    for run in rows:
        reason = run.status_reason or ""
        table.add_row(
            run.id, run.recipe_name, styled_status(run), progress_text(run), local_time(run.created_at),
            reason if len(reason) <= 60 else reason[:59] + "…",
        )  # fmt: skip
    return table


def details_lines(details: dict[str, Any], run: Run) -> list[str]:
    """The header of `studio runs show`: one `label: value` per line."""
    lines = [
        f"run:       {run.id} ({run.recipe_name})",
        f"status:    {styled_status(run)}" + (" (cancel requested)" if details["cancel_requested"] else ""),
    ]
    if run.status_reason:
        lines.append(f"reason:    {run.status_reason}")
    lines.append(
        f"created:   {local_time(run.created_at)}   started: {local_time(run.started_at)}"
        f"   finished: {local_time(run.finished_at)}"
    )
    if details["duration_s"] is not None:
        lines.append(f"duration:  {details['duration_s']:.1f} s")
    if details["heartbeat_age_s"] is not None:
        lines.append(f"heartbeat: {details['heartbeat_age_s']:.1f} s ago from {run.worker}")
    lines.append(f"progress:  {progress_text(run)}")
    return lines


def fold_intervals(metrics: dict[str, Any]) -> list[tuple[str, Any, tuple[Any, Any] | None]]:
    """(name, value, (low, high) or None) in the dict's order; `<name>_ci_low/_ci_high` join their metric.

    Nested dicts become `section.name` rows, so whatever the pipeline reports is shown.
    """
    flat = _flatten(metrics)
    rows = []
    for name, value in flat.items():
        if name.endswith(CI_SUFFIXES) and name.rsplit("_ci_", 1)[0] in flat:
            continue
        low, high = flat.get(f"{name}_ci_low"), flat.get(f"{name}_ci_high")
        rows.append((name, value, (low, high) if low is not None or high is not None else None))
    return rows


def _flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def metrics_table(metrics: dict[str, Any]) -> Table:
    rows = fold_intervals(metrics)
    with_intervals = any(interval for _, _, interval in rows)
    headers = ["metric", "value", "confidence interval"] if with_intervals else ["metric", "value"]
    table = Table(*headers, box=None, pad_edge=False)
    for name, value, interval in rows:
        shown = f"[{number(interval[0])}, {number(interval[1])}]" if interval else ""
        table.add_row(name, number(value), *([shown] if with_intervals else []))
    return table


def summary_table(metrics: dict[str, Any]) -> Table:
    """The headline metrics with human labels and intervals, then a short second tier (the report has all)."""
    table = Table("result", "value", "confidence interval", box=None, pad_edge=False)
    for label, key in HEADLINE_METRICS + SUMMARY_METRICS:
        if key not in metrics:
            continue
        low, high = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
        interval = f"[{number(low)}, {number(high)}]" if low is not None and high is not None else ""
        table.add_row(label, number(metrics[key]), interval)
    return table


def events_table(events: list[RunEvent]) -> Table:
    table = Table("time", "step", "loss", "message / metrics", box=None, pad_edge=False)
    for event in events:
        step = "" if event.step is None else str(event.step)
        step = f"{step}/{event.total}" if event.total else step
        loss = "" if event.loss is None else f"{event.loss:.4f}"
        text = event.message or ", ".join(f"{k}={number(v)}" for k, v in (event.metrics or {}).items())
        table.add_row(local_time(event.created_at), step, loss, text)
    return table
