"""`studio worker`, `studio up` and `studio demo`: the commands that start processes.

The worker is always a `python -m celery` subprocess (the studio never imports `workers`).
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import typer
from rich.console import Console

from recipes.io import load_recipe
from recipes.recipe import Recipe
from store import runs
from store.annotations import ANNOTATION_QUEUE
from store.tables import Run, RunStatus
from studio import REPO_ROOT
from studio.cli_errors import handle_errors, print_error
from studio.cli_render import artifact_paths, seconds_between, summary_table
from studio.cli_wait import submit, wait_for_run
from studio.services import (
    DEFAULT_QUEUE,
    ArgillaService,
    RedisService,
    StudioAppService,
    Supervisor,
    WorkerService,
    interrupt_on_stop_signals,
    stop_process,
    worker_command,
    worker_env,
)
from studio.webhooks import WebhookService

DEMO_RECIPE = REPO_ROOT / "examples" / "demo-dpo.yaml"

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@handle_errors
def worker(
    concurrency: int = typer.Option(1, "--concurrency", "-c", min=1, help="Runs at once (1 per GPU)."),
    queues: str = typer.Option(DEFAULT_QUEUE, "--queues", "-Q", help="Comma-separated queues to consume."),
) -> None:
    """Start a worker that trains queued runs. Ctrl-C: finish the current run, then stop (twice: now)."""
    redis = RedisService()
    url = redis.start()
    proc = subprocess.Popen(
        worker_command(concurrency, queues), env=worker_env(redis.url), start_new_session=True
    )
    err_console.print(f"redis: {url}\nworker: pid {proc.pid}")
    try:
        code = _forward_signals_until_exit(proc)
    finally:
        if proc.poll() is None:  # we are leaving for another reason: do not orphan the worker
            stop_process(proc, grace_s=10)
        redis.stop()
    raise typer.Exit(code)


def _forward_signals_until_exit(proc: subprocess.Popen) -> int:
    """Pass Ctrl-C / SIGTERM on to the worker (it is in its own session) and return its exit code.

    Celery's own semantics then apply: the first signal is a warm shutdown, a second one is cold.
    """

    def forward(signum: int, _frame: object) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code  # killed by signal N → 128+N, like a shell


@handle_errors
def up(
    grace: float = typer.Option(20.0, "--grace", min=0, help="Seconds a stopping worker gets to finish."),
    argilla: bool = typer.Option(True, "--argilla/--no-argilla", help="Also start Argilla for annotation."),
    app: bool = typer.Option(True, "--app/--no-app", help="Also start the studio web app."),
    host: str = typer.Option("127.0.0.1", "--host", help="Studio app address (login beyond loopback)."),
    port: int = typer.Option(7860, "--port", help="The studio app's port."),
) -> None:
    """Start Redis, Argilla and the workers, print where they are, and keep them up until Ctrl-C/SIGTERM."""
    redis = RedisService()
    services = [redis, WorkerService(redis, grace_s=grace)]
    if argilla:
        services[1:1] = [ArgillaService(redis)]
        services.append(WorkerService(redis, queues=ANNOTATION_QUEUE))  # publish/sync, never behind training
        services.append(WebhookService(redis))  # Argilla events → sync (studio/webhooks.py)
    if app:
        services.append(StudioAppService(redis, host=host, port=port))  # last: the others are ready
    supervisor = Supervisor(services, say=console.print)
    with interrupt_on_stop_signals():
        try:
            supervisor.start_all()
            console.print("ready: queue runs with `studio run RECIPE.yaml`; Ctrl-C stops everything")
            supervisor.wait()
        except KeyboardInterrupt:
            console.print("stopping ...")
        finally:
            supervisor.stop_all()
    console.print("stopped")


@handle_errors
def demo(
    recipe: Path = typer.Option(DEMO_RECIPE, "--recipe", dir_okay=False, help="Train this recipe instead."),
) -> None:
    """Train the demo recipe end to end: start Redis and a worker, run, summarize, stop them."""
    loaded = load_recipe(recipe)  # fail before starting anything
    redis = RedisService()
    supervisor = Supervisor([redis, WorkerService(redis)], say=console.print)
    with interrupt_on_stop_signals():
        try:
            supervisor.start_all()
            final = _run_and_wait(loaded, supervisor)
        except KeyboardInterrupt:
            supervisor.stop_all(force=True)  # the second Ctrl-C: the user does not want to wait
            raise
        finally:
            supervisor.stop_all()
    print_outcome(console, final)
    raise typer.Exit(0 if RunStatus(final.status) == RunStatus.SUCCEEDED else 1)


def _run_and_wait(recipe: Recipe, supervisor: Supervisor) -> Run:
    queued = submit(recipe)
    console.print(f"run: {queued.id} ({recipe.name}); Ctrl-C cancels it")
    try:
        return wait_for_run(queued.id, console, hint_after_s=None, check=supervisor.check)
    except KeyboardInterrupt:
        # The run belongs to this command: cancel it rather than leave it to a worker we are stopping.
        runs.request_cancel(queued.id)
        console.print("cancelling the run (Ctrl-C again to stop at once) ...")
        shown = runs.events(queued.id)  # already printed: do not repeat them
        last_id = shown[-1].id if shown else 0
        return wait_for_run(
            queued.id, console, hint_after_s=None, check=supervisor.check, after_event_id=last_id
        )


def print_outcome(out: Console, run: Run) -> None:
    """A finished run for humans: metrics grouped with their intervals, then where the files are."""
    status = RunStatus(run.status)
    if status != RunStatus.SUCCEEDED:
        print_error(f"run {run.id} {status.value}: {run.status_reason or 'no reason recorded'}")
        return
    duration = seconds_between(run.started_at, run.finished_at)
    out.print(f"[green]succeeded[/]: run {run.id} ({run.recipe_name}) in {duration or 0:.1f} s")
    if run.metrics:
        out.print(summary_table(run.metrics))
        out.print(f"(all {len(run.metrics)} metrics: `studio runs show {run.id}` or the report below)")
    for kind, path in artifact_paths(run.id).items():
        out.print(f"{kind}: {path}")
