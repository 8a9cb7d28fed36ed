"""Results tab: a run's report (the worker's self-contained report.html, tables and plots), two runs
compared side by side (the logic of `studio compare`), and the adapter downloads."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr
import pandas as pd

from store import runs
from store.tables import RunStatus
from studio import ui_runs
from studio.auth import Access
from studio.cli_compare import load_report, metric_rows, recipe_diff
from studio.cli_errors import CliError
from studio.cli_render import number
from studio.tabs import adapters
from studio.ui_files import read_text_inside

FINISHED = {RunStatus.SUCCEEDED}


def build(access: Access, visits: gr.State) -> None:
    """The tab's content, inside its render block, with the run list read now; re-read on every
    later visit (`visits`)."""
    options = finished_choices()
    first = options[0][1] if options else None
    with gr.Row():
        picker = gr.Dropdown(label="Run", choices=options, value=first, elem_id="report-picker", scale=3,
                             interactive=True)  # fmt: skip
        reload = gr.Button("Refresh list", scale=1, elem_id="report-refresh")
    with gr.Tab("Report"):
        report = gr.HTML(report_html(first), elem_id="report-view")
    with gr.Tab("Compare two runs"):
        with gr.Row():
            run_a = gr.Dropdown(label="A", choices=options, elem_id="compare-a", interactive=True)
            run_b = gr.Dropdown(label="B (deltas are B − A)", choices=options, elem_id="compare-b",
                                interactive=True)  # fmt: skip
        compare_note = gr.Markdown("")
        metrics = gr.Dataframe(headers=["metric", "A", "B", "Δ (B − A)"], interactive=False,
                               elem_id="compare-metrics")  # fmt: skip
        diff = gr.Dataframe(headers=["setting", "A", "B"], interactive=False, elem_id="compare-diff")
    with gr.Tab("Download"):
        adapters.build(access, picker, first)

    def choices(current: str | None) -> list[Any]:
        options = finished_choices()
        ids = [run_id for _, run_id in options]
        picked = current if current in ids else (ids[0] if ids else None)
        return [gr.update(choices=options, value=picked), gr.update(choices=options),
                gr.update(choices=options)]  # fmt: skip

    reload.click(choices, picker, [picker, run_a, run_b])
    visits.change(choices, picker, [picker, run_a, run_b], show_progress="hidden")
    picker.change(report_html, picker, report)
    for side in (run_a, run_b):
        side.change(compare, [run_a, run_b], [compare_note, metrics, diff])


def finished_choices() -> list[tuple[str, str]]:
    return ui_runs.run_choices(ui_runs.recent_runs(), FINISHED)


def report_html(run_id: str | None) -> str:
    """The run's report.html in a sandboxed frame (its CSS stays inside), else why there is none."""
    if not run_id:
        return "<p>Pick a finished run.</p>"
    run = ui_runs.find_run(run_id)
    if run is None:
        return f"<p>No run {html.escape(run_id)}.</p>"
    paths = [a.path for a in runs.artifacts(run.id) if a.kind == "report_html"]
    page = read_text_inside(paths[-1]) if paths else ""
    if not page:
        reason = f" ({html.escape(run.status_reason)})" if run.status_reason else ""
        return f"<p id='no-report'>Run {html.escape(run.id)} has no report: it is {run.status}{reason}.</p>"
    return (
        f"<iframe id='report-frame' title='report {html.escape(run.id)}' sandbox='allow-same-origin' "
        f"style='width:100%;height:900px;border:1px solid #ddd' srcdoc=\"{html.escape(page, quote=True)}\">"
        "</iframe>"
    )


def compare(run_a: str | None, run_b: str | None) -> list[Any]:
    if not run_a or not run_b:
        return ["Pick two runs.", None, None]
    try:
        first, second = runs.get_run(run_a), runs.get_run(run_b)
        report_a, report_b = load_report(first), load_report(second)
    except (CliError, LookupError) as exc:
        return [f"⚠ {exc}", None, None]
    rows = metric_rows(report_a.get("metrics") or {}, report_b.get("metrics") or {})
    table = pd.DataFrame(
        [
            [name, _cell(r["a"], r["a_ci"]), _cell(r["b"], r["b_ci"]), _delta(r["delta"])]
            for name, r in rows.items()
        ],
        columns=["metric", "A", "B", "Δ (B − A)"],
    )
    changes = recipe_diff(first.recipe_yaml, second.recipe_yaml)
    diff = pd.DataFrame([[key, str(v["a"]), str(v["b"])] for key, v in changes.items()],
                        columns=["setting", "A", "B"])  # fmt: skip
    note = f"A: `{first.id}` ({first.recipe_name}) · B: `{second.id}` ({second.recipe_name})"
    note += "" if changes else " · the recipes are identical"
    return [note, table, diff]


def _cell(value: Any, ci: list[Any] | None) -> str:
    if value is None:
        return "-"
    return f"{number(value)} [{number(ci[0])}, {number(ci[1])}]" if ci else number(value)


def _delta(delta: Any) -> str:
    if delta is None:
        return ""
    return f"{delta:+.3f}" if isinstance(delta, float) else f"{delta:+d}"
