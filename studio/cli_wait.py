"""Submitting a recipe and following a run until it ends, with a progress bar fed from the DB."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from recipes.io import dump_recipe, recipe_hash
from recipes.recipe import Recipe
from store import queue, runs
from store.tables import Run, RunStatus
from studio.cli_errors import CliError

DEFAULT_STALE_AFTER_S = 30.0  # six missed 5 s heartbeats: a dead worker shows within 35 s
NO_WORKER_HINT_AFTER_S = 15.0
NO_WORKER_HINT = "no worker seems to be running: start one with `studio worker` (still waiting)"


def stale_after_s() -> float:
    """How long without a heartbeat before a running run counts as dead (`STUDIO_STALE_AFTER_S`).

    Generous by default: the heartbeat is a thread, and a long GIL-holding step can delay it.
    """
    raw = os.environ.get("STUDIO_STALE_AFTER_S")
    return float(raw) if raw else DEFAULT_STALE_AFTER_S


def reap() -> list[str]:
    """Fail the runs of dead workers, so nobody is shown a run that will never finish as running."""
    return runs.reap_stale(timeout_s=stale_after_s())


def submit(recipe: Recipe) -> Run:
    """Freeze the canonical snapshot (absolute data paths) into a queued run and enqueue its id."""
    run = runs.create_run(
        dump_recipe(recipe), recipe.name, recipe_hash(recipe), schema_version=recipe.schema_version
    )
    try:
        queue.enqueue_train(run.id)
    except Exception as exc:
        # Without a queue message no worker will ever take the run: do not leave it "queued".
        runs.mark_failed(run.id, f"could not enqueue: {type(exc).__name__}: {exc}")
        raise
    return run


@dataclass
class _Seen:
    last_event_id: int = 0
    loss: float | None = None
    hinted: bool = False


def wait_for_run(
    run_id: str,
    console: Console,
    poll_s: float = 1.0,
    hint_after_s: float | None = NO_WORKER_HINT_AFTER_S,
    check: Callable[[], None] | None = None,
    after_event_id: int = 0,
) -> Run:
    """Poll the DB until the run is final and return it; `check` may raise (e.g. our worker died).

    Event messages newer than `after_event_id` are printed above the bar.
    """
    seen = _Seen(last_event_id=after_event_id)
    started = time.monotonic()
    columns = (
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[steps]}"),
        TextColumn("{task.fields[loss]}"), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("queued", total=None, steps="", loss="")
        while True:
            reap()
            run = runs.get_run(run_id)
            _show_events(bar, run_id, seen)
            _update_bar(bar, task, run, seen)
            if RunStatus(run.status).finished:
                return run
            if _needs_hint(run, seen, time.monotonic() - started, hint_after_s):
                bar.console.print(f"[yellow]hint:[/] {NO_WORKER_HINT}")
                seen.hinted = True
            if check is not None:
                check()
            time.sleep(poll_s)


def _needs_hint(run: Run, seen: _Seen, waited_s: float, hint_after_s: float | None) -> bool:
    """Once, if nobody picked the run up in time (the usual cause: no worker started)."""
    if hint_after_s is None or seen.hinted:
        return False
    return run.status == RunStatus.QUEUED and waited_s > hint_after_s


def _show_events(bar: Progress, run_id: str, seen: _Seen) -> None:
    for event in runs.events(run_id, after_id=seen.last_event_id):
        seen.last_event_id = event.id or seen.last_event_id
        if event.loss is not None:
            seen.loss = event.loss
        if event.message:
            bar.console.print(f"  {escape(event.message)}")


def _update_bar(bar: Progress, task: TaskID, run: Run, seen: _Seen) -> None:
    total = run.progress_total or None
    step = run.progress_step or 0
    bar.update(
        task,
        description=RunStatus(run.status).value,
        total=total,
        completed=step,
        steps=f"step {step}/{total}" if total else "",
        loss="" if seen.loss is None else f"loss {seen.loss:.4f}",
    )


def interrupted_while_waiting(run_id: str) -> CliError:
    return CliError(
        f"stopped waiting; run {run_id} goes on — follow it with `studio runs show {run_id}`, "
        f"stop it with `studio runs cancel {run_id}`",
        exit_code=130,
    )
