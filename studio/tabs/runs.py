"""Runs tab: every run with its status; the picked run's progress bar, live curves and log tail, fed
from RunEvent rows by a `gr.Timer`; cancel and re-run with changes."""

from __future__ import annotations

from typing import Any

import gradio as gr

from store import runs
from store.tables import RunStatus, UserRole
from studio import ui_runs
from studio.auth import Access
from studio.cli_wait import reap

POLL_S = 1.0
PLOT_TITLES = ["loss", *ui_runs.CURVES]


def build(access: Access) -> dict[str, Any]:
    timer = gr.Timer(POLL_S)
    table = gr.Dataframe(headers=ui_runs.RUN_COLUMNS, interactive=False, elem_id="runs-table",
                         label="All runs (newest first)", max_height=320)  # fmt: skip
    with gr.Row():
        picker = gr.Dropdown(label="Run", choices=[], elem_id="run-picker", scale=3)
        cancel = gr.Button("Cancel run", variant="stop", elem_id="cancel-run", scale=1)
        rerun = gr.Button("Re-run with changes", elem_id="rerun", scale=1)
    action = gr.Markdown("", elem_id="run-action")
    progress = gr.HTML(ui_runs.progress_html(None), elem_id="run-progress-box")
    summary = gr.Markdown("", elem_id="run-summary")
    points = gr.Markdown("", elem_id="curve-points")
    with gr.Row():
        plots = [_plot(title) for title in PLOT_TITLES[:2]]
    with gr.Row():
        plots += [_plot(title) for title in PLOT_TITLES[2:]]
    log = gr.Textbox(label="Log tail", lines=10, max_lines=10, elem_id="log-tail", autoscroll=True)
    seen = gr.State(None)  # what the plots show now, so an unchanged run does not redraw them

    outputs = [table, picker, progress, summary, points, *plots, log, seen]
    timer.tick(poll, [picker, seen], outputs, show_progress="hidden")
    picker.input(poll, [picker, gr.State(None)], outputs, show_progress="hidden")

    def cancel_run(request: gr.Request, run_id: str | None) -> str:
        access.require(request, UserRole.AUTHOR, "cancelling a run")
        if not run_id:
            raise gr.Error("pick a run first")
        run = runs.request_cancel(run_id)
        if RunStatus(run.status) == RunStatus.CANCELLED:
            return f"Run {run.id} is cancelled."
        if RunStatus(run.status).finished:
            return f"Run {run.id} already {run.status}: nothing to cancel."
        return f"Cancel requested for {run.id}: the worker stops after its current step."

    cancel.click(cancel_run, picker, action)
    return {"timer": timer, "picker": picker, "rerun": rerun, "load_outputs": outputs, "load_fn": poll,
            "load_inputs": [picker, seen], "action": action}  # fmt: skip


def _plot(title: str) -> gr.LinePlot:
    return gr.LinePlot(x="step", y="value", color="series", title=title, height=220,
                       elem_id="plot-" + title.split(" ")[0].replace("-", ""))  # fmt: skip


def poll(run_id: str | None, seen: Any) -> list[Any]:
    """Everything the tab shows, from the DB; plots only when the run logged something new."""
    reap()  # a dead worker's run shows failed, not running forever
    rows = ui_runs.recent_runs()
    run_id = run_id if run_id and any(r.id == run_id for r in rows) else ui_runs.default_run(rows)
    run = ui_runs.find_run(run_id)
    points = ui_runs.curve_points(run.id) if run else []
    listing = [[r.id, r.status, r.progress_step] for r in rows]
    signature = {"run": [run.id if run else None, len(points), run.status if run else None], "list": listing}
    seen = seen or {}
    if signature["run"] == seen.get("run"):
        plot_updates = [gr.skip()] * len(PLOT_TITLES)
    else:
        frames = ui_runs.curve_frames(points)
        plot_updates = [frames[title] for title in PLOT_TITLES]
    # Re-sending an unchanged list would reset a dropdown the user is opening right now.
    unchanged_list = listing == seen.get("list") and run_id == (seen.get("run") or [None])[0]
    return [
        gr.skip() if unchanged_list else ui_runs.runs_frame(rows),
        gr.skip() if unchanged_list else gr.update(choices=ui_runs.run_choices(rows), value=run_id),
        ui_runs.progress_html(run),
        ui_runs.run_summary(run),
        f"{len(points)} logged step(s)",
        *plot_updates,
        ui_runs.log_tail(run),
        signature,
    ]
