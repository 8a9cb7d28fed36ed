"""Enqueue work for the GPU workers: a send-only Celery client that never imports worker code.

Only ids and plain JSON travel; the worker reads the frozen recipe snapshot from the DB. Training is
fire-and-forget (progress comes back through the DB); playground answers and merged-model exports
are send-and-wait calls whose JSON result comes back through the Redis result backend.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from celery import Celery
from celery.exceptions import TimeoutError as CeleryTimeout

from store.broker import redis_url
from store.celery_config import (
    EVAL_TASK_NAME,
    EXPORT_MERGED_TASK_NAME,
    GENERATE_TASK_NAME,
    TRAIN_QUEUE,
    TRAIN_TASK_NAME,
    celery_settings,
)
from store.errors import StoreError

__all__ = [
    "GENERATE_TASK_NAME",
    "TRAIN_QUEUE",
    "QueueUnavailable",
    "TRAIN_TASK_NAME",
    "TaskFailed",
    "TaskTimeout",
    "call_task",
    "enqueue_eval",
    "enqueue_train",
    "export_merged",
    "generate",
]


class TaskTimeout(StoreError, TimeoutError):
    """No worker answered in time (none running, or all busy training)."""


class TaskFailed(StoreError, RuntimeError):
    """The worker ran the task and it raised; the message is the worker's one line."""


class QueueUnavailable(StoreError, ConnectionError):
    """The broker did not take the message (Redis not running or not reachable)."""


def enqueue_train(run_id: str) -> str:
    """Put `studio.train_run(run_id)` on the `gpu` queue; return the Celery task id."""
    result = _client(redis_url()).send_task(TRAIN_TASK_NAME, args=[run_id], queue=TRAIN_QUEUE)
    return result.id


def enqueue_eval(run_id: str, metrics: list[str] | None, evaluation_id: str) -> str:
    """Put `studio.eval_run(run_id, metrics, evaluation_id)` on the `gpu` queue; return the task id.

    `metrics` None means the recipe's own suite; the outcome arrives as events of the run.
    """
    kwargs = {"run_id": run_id, "metrics": metrics, "evaluation_id": evaluation_id}
    result = _client(redis_url()).send_task(EVAL_TASK_NAME, kwargs=kwargs, queue=TRAIN_QUEUE)
    return result.id


def call_task(name: str, kwargs: dict[str, Any], timeout_s: float) -> Any:
    """Send a task with JSON kwargs and wait for its JSON result.

    On timeout the message is revoked so a worker that frees up later does not do work nobody waits for.
    """
    try:
        result = _client(redis_url()).send_task(name, kwargs=kwargs, queue=TRAIN_QUEUE)
    except Exception as exc:  # kombu / redis connection errors, after Celery's own publish retries
        raise QueueUnavailable(
            f"could not reach the task queue at {redis_url()} ({type(exc).__name__}): "
            "start it with `studio up`"
        ) from None
    try:
        return result.get(timeout=timeout_s, propagate=True, disable_sync_subtasks=False)
    except CeleryTimeout:
        result.revoke()
        raise TaskTimeout(
            f"no worker answered within {timeout_s:.0f} s: start one with `studio worker`, "
            "or wait for the training run it is busy with"
        ) from None
    except Exception as exc:  # the worker's exception, rebuilt from JSON
        raise TaskFailed(str(exc) or type(exc).__name__) from None
    finally:
        result.forget()


def generate(
    run_id: str | None,
    prompt: str,
    max_new_tokens: int = 64,
    direction: tuple[float, float] | list[float] | None = None,
    timeout_s: float = 300.0,
) -> dict[str, Any]:
    """`studio.generate`: {"base", "adapter", "candidates", "selected", "in_coverage"} for one prompt
    (the last three are filled for RPS runs: `direction` is then the (x, y) vector of the asked angle)."""
    kwargs = {
        "run_id": run_id,
        "prompt": prompt,
        "max_new_tokens": int(max_new_tokens),
        "direction": [float(x) for x in direction] if direction is not None else None,
    }
    return call_task(GENERATE_TASK_NAME, kwargs, timeout_s)


def direction_vector(degrees: float) -> list[float]:
    """An RPS direction in degrees between the two objectives (0° = all the first, 90° = all the
    second) as the unit vector `studio.generate` takes."""
    radians = math.radians(float(degrees))
    return [round(math.cos(radians), 6), round(math.sin(radians), 6)]


def export_merged(run_id: str, timeout_s: float = 900.0) -> dict[str, Any]:
    """`studio.export_merged`: merge a run's adapter into its base model; {"path", "metadata"}."""
    return call_task(EXPORT_MERGED_TASK_NAME, {"run_id": run_id}, timeout_s)


@lru_cache(maxsize=4)
def _client(broker_url: str) -> Celery:
    # set_as_current=False: this client must not become the "current app" that a worker process
    # importing the store (and its own app) would then pick up by accident.
    app = Celery("studio", broker=broker_url, set_as_current=False)
    app.conf.update(celery_settings(broker_url))
    return app
