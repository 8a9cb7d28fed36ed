"""`studio eval RUN_ID`: evaluate a finished run's adapter again, on a worker, with a chosen suite.

The CLI checks what it can before anything is queued (the run succeeded, has an adapter, the suite's
names are valid for its method), then sends `studio.eval_run`. The worker reports through the run's
events, each tagged with the evaluation's id; `--wait` follows them until the final one, which
carries the metrics and the report paths. The run's status never changes.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from recipes.errors import RecipeError
from recipes.evaluation import ALL_METRICS, resolve_suite
from recipes.io import parse_recipe
from store import queue, runs
from store.tables import Run, RunEvent, RunStatus
from studio.cli_errors import CliError, handle_errors
from studio.cli_render import metrics_table
from studio.cli_wait import reap

ID_FORMAT = "%Y%m%dT%H%M%SZ"  # the worker names the folder evaluations/<id> after it
POLL_S = 1.0
# A worker's first event comes after it imported torch (seconds) or finished the task ahead of it (hours):
# the hint is a question, given once, and late enough not to fire on a healthy worker that is starting.
HINT_AFTER_S = 60.0
HINT = (
    "no worker has started this evaluation yet: is one running (`studio worker`)? It may be busy with "
    "a training run (still waiting)"
)


def check_run(run_id: str, suite: str | None) -> tuple[Run, list[str] | None]:
    """(the run, the suite's names or None for the recipe's own), or a CliError saying what is wrong."""
    run = runs.get_run(run_id)
    status = RunStatus(run.status)
    if status != RunStatus.SUCCEEDED:
        hint = f" ({run.status_reason})" if run.status_reason else ""
        raise CliError(f"run {run.id} is {status.value}{hint}: only a succeeded run can be evaluated")
    adapters = [Path(a.path) for a in runs.artifacts(run.id) if a.kind == "adapter"]
    if not adapters or not adapters[-1].is_dir():
        raise CliError(f"run {run.id} has no adapter folder to evaluate")
    try:
        recipe = parse_recipe(run.recipe_yaml)
    except RecipeError as exc:
        raise CliError(f"the recipe snapshot of run {run.id} no longer validates: {exc}") from None
    names = suite.split(",") if suite is not None else None
    try:
        resolve_suite(names, recipe.method.method, list(recipe.evaluation.metrics))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return run, [n.strip() for n in names if n.strip()] if names is not None else None


def _tagged(event: RunEvent, evaluation_id: str) -> bool:
    return (event.metrics or {}).get("evaluation_id") == evaluation_id


def wait_for_evaluation(run_id: str, evaluation_id: str, after_id: int, console: Console) -> dict[str, Any]:
    """Print the evaluation's progress lines until its final event; return that event's metrics."""
    started, last_id, heard = time.monotonic(), after_id, False
    while True:
        for event in runs.events(run_id, after_id=last_id):
            last_id = event.id or last_id
            if not _tagged(event, evaluation_id):
                continue
            heard = True
            if event.metrics.get("evaluation_status"):
                return event.metrics
            console.print(f"  {escape(event.message or '')}")
        if not heard and time.monotonic() - started > HINT_AFTER_S:
            console.print(f"[yellow]hint:[/] {escape(HINT)}")
            heard = True  # once
        time.sleep(POLL_S)


def _last_event_id(run_id: str) -> int:
    events = runs.events(run_id)
    return (events[-1].id or 0) if events else 0


def _outcome(run: Run, evaluation_id: str, final: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "evaluation_id": evaluation_id,
        "status": final.get("evaluation_status"),
        "reason": final.get("reason"),
        "suite": final.get("suite"),
        "metrics": final.get("results") or {},
        "artifacts": final.get("artifacts") or {},
    }


@handle_errors
def eval_command(
    run_id: str = typer.Argument(..., help="A succeeded run (a unique prefix is enough)."),
    suite: str | None = typer.Option(
        None,
        "--suite",
        help=f"Comma-separated metrics (default: the recipe's own): {', '.join(ALL_METRICS)}.",
    ),
    wait: bool = typer.Option(False, "--wait", help="Follow the evaluation and print its metrics."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Evaluate a finished run's adapter again on its held-out pairs (on a worker); the report goes to
    the run's folder under evaluations/<id>/ (exit 1 if the evaluation fails)."""
    reap()
    run, names = check_run(run_id, suite)
    evaluation_id = datetime.now(UTC).strftime(ID_FORMAT)
    after_id = _last_event_id(run.id)
    queue.enqueue_eval(run.id, names, evaluation_id)
    console = Console(stderr=as_json, highlight=False, soft_wrap=True)
    if not wait:
        queued = {"run_id": run.id, "evaluation_id": evaluation_id, "status": "queued", "suite": names}
        if as_json:
            typer.echo(json.dumps(queued))
        else:
            console.print(f"queued evaluation {evaluation_id}; follow it with `studio runs show {run.id}`")
        return
    try:
        final = wait_for_evaluation(run.id, evaluation_id, after_id, console)
    except KeyboardInterrupt:
        raise CliError(
            f"stopped waiting; evaluation {evaluation_id} goes on — see `studio runs show {run.id}`", 130
        ) from None
    result = _outcome(run, evaluation_id, final)
    if as_json:
        typer.echo(json.dumps(result, default=str))
    elif result["status"] == "succeeded":
        console.print(metrics_table(result["metrics"]))
        console.print(f"report: {escape(result['artifacts'].get('evaluation_report_html', '-'))}")
    if result["status"] != "succeeded":
        raise CliError(result["reason"] or f"evaluation {evaluation_id} failed")
