"""Celery tasks: thin, take ids, callable as plain functions in tests (`train_run(run_id)`)."""

from __future__ import annotations

from typing import Any

from store.celery_config import EVAL_TASK_NAME, EXPORT_MERGED_TASK_NAME, GENERATE_TASK_NAME, TRAIN_TASK_NAME
from workers import lifecycle
from workers.celery_app import app


@app.task(name=TRAIN_TASK_NAME)
def train_run(run_id: str) -> str:
    """Train one run; every bookkeeping step (status, heartbeat, artifacts) is in `lifecycle`."""
    return lifecycle.execute(run_id)


@app.task(name=GENERATE_TASK_NAME, ignore_result=False)
def generate(
    run_id: str | None, prompt: str, max_new_tokens: int = 64, direction: list[float] | None = None
) -> dict[str, Any]:
    """The playground's base vs adapter answers (JSON); the pipeline is imported only when called."""
    from workers.pipelines.generate import answer

    return answer(run_id, prompt, max_new_tokens, direction)


@app.task(name=EXPORT_MERGED_TASK_NAME, ignore_result=False)
def export_merged(run_id: str) -> dict[str, Any]:
    """Merge a run's adapter into its base model under the run's folder; {"path", "metadata"}."""
    from workers.pipelines.export import export_merged as merge

    return merge(run_id)


@app.task(name=EVAL_TASK_NAME)
def eval_run(
    run_id: str, metrics: list[str] | None = None, evaluation_id: str | None = None
) -> dict[str, Any]:
    """Re-evaluate a succeeded run's adapter; progress and outcome are the run's events, its status stays."""
    from workers.pipelines.reevaluate import execute

    return execute(run_id, metrics, evaluation_id)
