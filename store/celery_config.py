"""Celery settings shared by the send-only client (`store.queue`) and the worker app (`workers/`).

Both sides build their app from `celery_settings(broker_url)`, so serializers, queue names and
delivery guarantees cannot drift apart. Plain data only: importing this module does not import Celery.
"""

from __future__ import annotations

from typing import Any

TRAIN_TASK_NAME = "studio.train_run"
TRAIN_QUEUE = "gpu"
# Playground answers and merged-model exports load the model, so they go where the GPU is: the same
# `gpu` queue. With prefetch 1 and one task per child they wait behind a training run instead of
# competing with it for GPU memory; the studio waits with a timeout and says so.
GENERATE_TASK_NAME = "studio.generate"
EXPORT_MERGED_TASK_NAME = "studio.export_merged"
# `studio eval`: re-evaluates a finished run's adapter on the `gpu` queue, fire-and-forget like training;
# progress and the outcome come back as the run's events (its status never changes).
EVAL_TASK_NAME = "studio.eval_run"
# Only these tasks store a result (JSON, in Redis) for a waiting caller; training reports via the DB.
RESULT_EXPIRES_S = 3600

# Redis has no real acks: a task a worker took but did not ack is redelivered only after the
# visibility timeout. It must outlast the longest run, or a healthy long run would be handed to a
# second worker while the first is still training. A dead worker's run is failed by the heartbeat
# reaper long before this, so the long timeout costs nothing there.
VISIBILITY_TIMEOUT_S = 48 * 3600


def celery_settings(broker_url: str) -> dict[str, Any]:
    """The `app.conf` for every studio Celery app talking to `broker_url`."""
    return {
        "broker_url": broker_url,
        # JSON only, never pickle: a message must not be able to run code in the worker.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Ack after the task finishes, so a worker killed mid-run leaves the message for redelivery.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One GPU job at a time per process, and a fresh process per job (frees GPU memory for sure).
        "worker_prefetch_multiplier": 1,
        "worker_max_tasks_per_child": 1,
        "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_S},
        "broker_connection_retry_on_startup": True,
        "task_default_queue": TRAIN_QUEUE,
        # Results go to the same Redis (JSON, see above); tasks opt in with ignore_result=False.
        "result_backend": broker_url,
        "task_ignore_result": True,
        "result_expires": RESULT_EXPIRES_S,
    }
