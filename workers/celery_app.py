"""The worker's Celery app: `python -m celery -A workers.celery_app worker -Q gpu ...`.

Settings come from `store.celery_config` so the send-only client in `store.queue` and this worker
can never disagree (JSON only, acks_late, prefetch 1, one task per child, visibility timeout).

The broker URL is resolved only when a worker starts (`celeryd_init`): Celery reads its config as
soon as a task object is touched, and `store.broker.redis_url()` may START an embedded Redis, which a
unit test calling `train_run(...)` as a plain function must never do.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import celeryd_init, worker_process_init

from store import broker
from store.celery_config import celery_settings
from workers.heartbeat import watch_parent_in_this_process

# Until a worker starts, the URL points nowhere on purpose: a send from a non-worker process fails
# loudly instead of silently falling back to some default broker.
UNRESOLVED_BROKER_URL = "redis://broker-url-is-resolved-when-the-worker-starts.invalid:6379/0"

app = Celery("studio", include=["workers.tasks", "workers.annotation_tasks"])
app.add_defaults(lambda: celery_settings(UNRESOLVED_BROKER_URL))


@celeryd_init.connect
def _resolve_broker_url(conf: Any = None, **_: Any) -> None:
    # STUDIO_REDIS_URL (set by `studio worker`/`studio up`), else this data dir's shared embedded Redis.
    conf = conf if conf is not None else app.conf
    conf.broker_url = broker.redis_url()
    # Playground/export results go back through the same Redis (store.celery_config).
    conf.result_backend = conf.broker_url


@worker_process_init.connect
def _in_pool_child(**_: Any) -> None:
    # Only prefork pool children send this: there, a vanished parent means nobody supervises the run.
    watch_parent_in_this_process()
