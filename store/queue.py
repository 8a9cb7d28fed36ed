"""Enqueue work for the GPU workers: a send-only Celery client that never imports worker code.

Only the run id travels (as JSON); the worker reads the frozen recipe snapshot from the DB.
"""

from __future__ import annotations

from functools import lru_cache

from celery import Celery

from store.broker import redis_url
from store.celery_config import TRAIN_QUEUE, TRAIN_TASK_NAME, celery_settings

__all__ = ["TRAIN_QUEUE", "TRAIN_TASK_NAME", "enqueue_train"]


def enqueue_train(run_id: str) -> str:
    """Put `studio.train_run(run_id)` on the `gpu` queue; return the Celery task id."""
    result = _client(redis_url()).send_task(TRAIN_TASK_NAME, args=[run_id], queue=TRAIN_QUEUE)
    return result.id


@lru_cache(maxsize=4)
def _client(broker_url: str) -> Celery:
    # set_as_current=False: this client must not become the "current app" that a worker process
    # importing the store (and its own app) would then pick up by accident.
    app = Celery("studio", broker=broker_url, set_as_current=False)
    app.conf.update(celery_settings(broker_url))
    return app
