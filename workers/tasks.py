"""Celery tasks: thin, take ids, callable as plain functions in tests (`train_run(run_id)`)."""

from __future__ import annotations

from store.celery_config import TRAIN_TASK_NAME
from workers import lifecycle
from workers.celery_app import app


@app.task(name=TRAIN_TASK_NAME)
def train_run(run_id: str) -> str:
    """Train one run; every bookkeeping step (status, heartbeat, artifacts) is in `lifecycle`."""
    return lifecycle.execute(run_id)
