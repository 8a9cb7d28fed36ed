"""A run's whole life inside a worker: claim it, heartbeat, re-validate, train, record the outcome.

This is the ONE place in the worker that catches exceptions (architecture §5): every failure below
becomes a final status with one human line, and nothing escapes to Celery except a broken DB.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from recipes.errors import RecipeError
from recipes.io import parse_recipe
from store import runs, settings
from workers.errors import UserFacingError
from workers.heartbeat import Heartbeat
from workers.progress import RunCancelled, StoreProgress

log = logging.getLogger(__name__)

DEFAULT_PIPELINE = "workers.pipelines.train:run_recipe"
LOG_FILE = "worker.log"
CANCEL_REASON = "cancelled on request"
MAX_PROBLEMS_IN_REASON = 3

Pipeline = Callable[..., Any]


def load_pipeline() -> Pipeline:
    """The training entry point, imported only now so the worker starts before torch is imported.

    `STUDIO_PIPELINE=module:function` selects another one (the e2e tests use a sleep-and-report
    pipeline); an unknown name raises, no silent fallback.
    """
    spec = os.environ.get("STUDIO_PIPELINE") or DEFAULT_PIPELINE
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UserFacingError(f"STUDIO_PIPELINE={spec!r} is not 'module:function' — fix or unset it")
    return getattr(importlib.import_module(module_name), attr)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def execute(run_id: str) -> str:
    """Run `run_id` to a final status and return it; returns "skipped" if the run was not queued."""
    if not runs.mark_running(run_id, worker=worker_name()):
        # Cancelled before a worker got to it, or a redelivery of a run that already started.
        log.info("run %s is not queued any more; skipping", run_id)
        return "skipped"
    out_dir = settings.runs_dir(run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    with Heartbeat(run_id), _run_log(out_dir / LOG_FILE):
        status = _run_to_final_status(run_id, out_dir)
    _register(run_id, "log", out_dir / LOG_FILE)
    return status


def _run_to_final_status(run_id: str, out_dir: Path) -> str:
    progress = StoreProgress(run_id)
    try:
        recipe = _revalidate(run_id)
        result = load_pipeline()(recipe, out_dir, progress)
        if progress.should_stop():  # the pipeline finished its last step just as the cancel came
            raise RunCancelled()
        for kind, path in result.artifacts.items():
            _register(run_id, kind, Path(path))
        runs.mark_succeeded(run_id, dict(result.metrics))
        return "succeeded"
    except RunCancelled:
        runs.mark_cancelled(run_id, CANCEL_REASON)
        return "cancelled"
    except UserFacingError as exc:
        runs.mark_failed(run_id, exc.message)
        return "failed"
    except Exception as exc:
        log_path = out_dir / LOG_FILE
        log.error("run %s failed\n%s", run_id, traceback.format_exc())
        runs.mark_failed(run_id, internal_error_line(exc, log_path))
        return "failed"


def _revalidate(run_id: str) -> Any:
    """Validate the frozen snapshot again: the schema or the data files may have changed since submit."""
    run = runs.get_run(run_id)
    try:
        return parse_recipe(run.recipe_yaml)
    except RecipeError as exc:
        raise UserFacingError(recipe_error_line(exc)) from exc


def recipe_error_line(exc: RecipeError) -> str:
    shown = [f"{p.path or '<root>'}: {p.message}" for p in exc.problems[:MAX_PROBLEMS_IN_REASON]]
    more = len(exc.problems) - len(shown)
    suffix = f" (+{more} more)" if more > 0 else ""
    return f"invalid recipe snapshot: {'; '.join(shown)}{suffix} — fix the recipe and start a new run"


def internal_error_line(exc: BaseException, log_path: Path) -> str:
    message = " ".join(str(exc).split())[:200]
    return f"internal error: {type(exc).__name__}: {message} — see log {log_path}"


def _register(run_id: str, kind: str, path: Path) -> None:
    # A pipeline that reports a file it did not write has a bug: fail loudly rather than record it.
    if not path.exists():
        raise FileNotFoundError(f"the pipeline reported a {kind} artifact at {path}, but it does not exist")
    runs.add_artifact(run_id, kind, path)


@contextmanager
def _run_log(path: Path) -> Iterator[None]:
    """Copy everything logged during the run (pipeline, libraries, the traceback) into its folder."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
