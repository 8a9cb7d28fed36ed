"""`studio runs ...`: list, show and cancel runs. Every command reaps dead workers' runs first."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from store import runs
from store.tables import RunStatus
from studio.cli_errors import handle_errors
from studio.cli_render import (
    artifact_paths,
    details_json,
    details_lines,
    events_table,
    metrics_table,
    runs_table,
)
from studio.cli_wait import reap

LAST_EVENTS = 10

runs_app = typer.Typer(help="List, inspect and cancel training runs (`studio runs` alone lists them).")
console = Console(highlight=False, soft_wrap=True)


@runs_app.callback(invoke_without_command=True)
def runs_default(ctx: typer.Context) -> None:
    """List, inspect and cancel training runs (`studio runs` alone lists them)."""
    if ctx.invoked_subcommand is None:
        list_command(limit=20)


@runs_app.command("list")
@handle_errors
def list_command(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="Show at most this many runs, newest first."),
) -> None:
    """Show the newest runs: id, name, status, progress, creation time and reason."""
    reap()
    rows = runs.list_runs(limit=limit)
    if not rows:
        console.print("no runs yet: start one with `studio run RECIPE.yaml`")
        return
    console.print(runs_table(rows))


@runs_app.command("show")
@handle_errors
def show_command(
    run_id: str = typer.Argument(..., help="Run id (a unique prefix is enough)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
) -> None:
    """Show one run: status, reason, timings, heartbeat age, metrics, artifacts and the last events."""
    reap()  # so a dead worker's run is shown failed, not running forever
    run = runs.get_run(run_id)
    last_events = runs.events(run.id)[-LAST_EVENTS:]
    details = details_json(run, last_events)
    if as_json:
        typer.echo(json.dumps(details, indent=2))
        return
    for line in details_lines(details, run):
        console.print(line)
    if run.metrics:
        console.print("\n[bold]metrics[/]")
        console.print(metrics_table(run.metrics))
    artifacts = artifact_paths(run.id)
    if artifacts:
        console.print("\n[bold]artifacts[/]")
        for kind, path in artifacts.items():
            console.print(f"  {kind}: {path}")
    if last_events:
        console.print(f"\n[bold]last {len(last_events)} events[/]")
        console.print(events_table(last_events))


@runs_app.command("cancel")
@handle_errors
def cancel_command(run_id: str = typer.Argument(..., help="Run id (a unique prefix is enough).")) -> None:
    """Cancel a run: a queued run stops at once, a running one at its worker's next step."""
    run = runs.request_cancel(run_id)
    status = RunStatus(run.status)
    if status == RunStatus.RUNNING:
        console.print(f"cancel requested for {run.id}: its worker stops it at the next step")
    elif status == RunStatus.CANCELLED:
        console.print(f"cancelled {run.id}")
    else:
        console.print(f"run {run.id} already finished ({status.value}); nothing to cancel")
