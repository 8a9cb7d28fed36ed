"""Runs tab: every run with its status; the picked run's progress bar, live curves and log tail, fed
from RunEvent rows by a `gr.Timer` that ticks only while this tab is open; cancel and re-run with
changes. Built when the tab is first opened (`studio.app`), already filled: one round trip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from store import runs
from store.tables import RunStatus, UserRole
from studio import ui_curves, ui_runs
from studio.auth import Access
from studio.cli_wait import reap

POLL_S = 1.0
TAB_LABEL = "Runs"
POLLED = ("table", "picker", "progress", "summary", "points", "curves", "log", "seen")  # what poll() gives


def build(access: Access, tabs: gr.Tabs, on_rerun: Callable[..., None]) -> None:
    """The tab's content, inside its render block; `on_rerun(button, picker, timer)` wires "Re-run"."""
    first = poll(None, None)
    timer = gr.Timer(POLL_S)
    table = gr.Dataframe(first[0], headers=ui_runs.RUN_COLUMNS, interactive=False, elem_id="runs-table",
                         label="All runs (newest first)", max_height=320)  # fmt: skip
    with gr.Row():
        picker = gr.Dropdown(label="Run", choices=first[1]["choices"], value=first[1]["value"],
                             elem_id="run-picker", scale=3, interactive=True)  # fmt: skip
        stop = gr.Button("Cancel run", variant="stop", elem_id="cancel-run", scale=1)
        rerun = gr.Button("Re-run with changes", elem_id="rerun", scale=1)
    action = gr.Markdown("", elem_id="run-action")
    progress = gr.HTML(first[2], elem_id="run-progress-box")
    summary = gr.Markdown(first[3], elem_id="run-summary")
    points = gr.Markdown(first[4], elem_id="curve-points")
    curves = gr.HTML(first[5], elem_id="run-curves")
    log = gr.Textbox(first[6], label="Log tail", lines=10, max_lines=10, elem_id="log-tail", autoscroll=True)
    seen = gr.State(first[7])  # what the tab shows now, so an unchanged run is not re-read or redrawn

    outputs = [table, picker, progress, summary, points, curves, log, seen]
    timer.tick(poll, [picker, seen], outputs, show_progress="hidden")
    picker.input(poll, [picker, gr.State(None)], outputs, show_progress="hidden")

    tabs.select(switched, [picker, seen], [timer, *outputs], show_progress="hidden")

    def cancel_run(request: gr.Request, run_id: str | None) -> str:
        access.require(request, UserRole.AUTHOR, "cancelling a run")
        return cancel(run_id)

    stop.click(cancel_run, picker, action)
    on_rerun(rerun, picker, timer)


def switched(run_id: str | None, shown: Any, evt: gr.SelectData) -> list[Any]:
    """Poll only while the tab is open; coming back shows fresh data at once, not a second later."""
    if evt.value != TAB_LABEL:
        return [gr.Timer(active=False), *[gr.skip()] * len(POLLED)]
    return [gr.Timer(active=True), *poll(run_id, shown)]


def cancel(run_id: str | None) -> str:
    if not run_id:
        raise gr.Error("pick a run first")
    run = runs.request_cancel(run_id)
    if RunStatus(run.status) == RunStatus.CANCELLED:
        return f"Run {run.id} is cancelled."
    if RunStatus(run.status).finished:
        return f"Run {run.id} already {run.status}: nothing to cancel."
    return f"Cancel requested for {run.id}: the worker stops after its current step."


def poll(run_id: str | None, seen: Any) -> list[Any]:
    """Everything the tab shows, from the DB: the list, the run, and its curves only when it logged
    something new (a cheap count first; the events are read only then)."""
    reap()  # a dead worker's run shows failed, not running forever
    rows = ui_runs.recent_runs()
    run_id = run_id if run_id and any(r.id == run_id for r in rows) else ui_runs.default_run(rows)
    run = ui_runs.find_run(run_id)
    seen = seen or {}
    listing = [[r.id, r.status, r.progress_step] for r in rows]
    signature = [run.id, *ui_runs.events_signature(run.id), run.status] if run else None
    if signature is not None and signature == seen.get("run"):
        curves, count = gr.skip(), seen.get("points", 0)
    else:
        points = ui_runs.curve_points(run.id) if run else []
        curves, count = ui_curves.curves_html(points), len(points)
    # Re-sending an unchanged list would reset a dropdown the user is opening right now.
    unchanged_list = listing == seen.get("list") and run_id == seen.get("run_id")
    return [
        gr.skip() if unchanged_list else ui_runs.runs_frame(rows),
        gr.skip() if unchanged_list else gr.update(choices=ui_runs.run_choices(rows), value=run_id),
        ui_runs.progress_html(run),
        ui_runs.run_summary(run),
        f"{count} logged step(s)",
        curves,
        ui_runs.log_tail(run),
        {"run": signature, "points": count, "list": listing, "run_id": run_id},
    ]
