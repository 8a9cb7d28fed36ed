"""Run lifecycle, on SQLite and on a real PostgreSQL server (the `database_url` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store import runs
from store.errors import AmbiguousRunId, RunNotFound
from store.tables import RunStatus

RECIPE_YAML = "schema_version: 1\nname: demo\n"


def _new_run() -> str:
    return runs.create_run(RECIPE_YAML, "demo", "a" * 64).id


def _running_run() -> str:
    run_id = _new_run()
    assert runs.mark_running(run_id, "gpu-1:4242")
    return run_id


def test_create_run_freezes_the_snapshot_as_queued(database_url: str) -> None:
    created = runs.create_run(RECIPE_YAML, "demo", "a" * 64, schema_version=1)
    run = runs.get_run(created.id)
    assert run.id.startswith("r-") and len(run.id) == len("r-20261127-ab12cd")
    assert (run.status, run.recipe_yaml, run.recipe_name, run.attempts) == (
        RunStatus.QUEUED,
        RECIPE_YAML,
        "demo",
        0,
    )
    assert run.created_at.tzinfo is UTC and run.started_at is None and run.metrics == {}


def test_full_lifecycle_to_succeeded(database_url: str) -> None:
    run_id = _new_run()
    assert runs.mark_running(run_id, "gpu-1:4242") is True
    assert runs.mark_running(run_id, "gpu-2:1") is False  # a redelivered task must not start it twice
    assert runs.heartbeat(run_id) is True
    runs.append_event(run_id, step=3, total=10, loss=0.5)
    assert runs.mark_succeeded(run_id, {"accuracy": 0.75}) is True

    run = runs.get_run(run_id)
    assert run.status is RunStatus.SUCCEEDED and run.status.finished
    assert (run.worker, run.attempts, run.metrics) == ("gpu-1:4242", 1, {"accuracy": 0.75})
    assert (run.progress_step, run.progress_total) == (3, 10)
    assert run.created_at <= run.started_at <= run.heartbeat_at <= run.finished_at
    assert run.finished_at.tzinfo is UTC


def test_a_finished_run_never_changes_again(database_url: str) -> None:
    run_id = _running_run()
    assert runs.mark_failed(run_id, "CUDA out of memory")
    before = runs.get_run(run_id)
    assert runs.mark_succeeded(run_id, {"x": 1}) is False
    assert runs.mark_cancelled(run_id, "late") is False
    assert runs.mark_failed(run_id, "again") is False
    assert runs.mark_running(run_id, "w:1") is False
    assert runs.heartbeat(run_id) is False
    assert runs.request_cancel(run_id).status is RunStatus.FAILED
    after = runs.get_run(run_id)
    assert after.model_dump() == before.model_dump()


def test_succeeding_needs_a_running_run(database_url: str) -> None:
    run_id = _new_run()
    assert runs.mark_succeeded(run_id, {}) is False
    assert runs.get_run(run_id).status is RunStatus.QUEUED


def test_a_queued_run_can_fail_before_it_starts(database_url: str) -> None:
    run_id = _new_run()
    assert runs.mark_failed(run_id, "could not enqueue:\n  connection refused")
    run = runs.get_run(run_id)
    assert (run.status, run.status_reason) == (RunStatus.FAILED, "could not enqueue: connection refused")


def test_cancelling_a_queued_run_finishes_it_at_once(database_url: str) -> None:
    run_id = _new_run()
    run = runs.request_cancel(run_id)
    assert run.status is RunStatus.CANCELLED and run.finished_at is not None and run.cancel_requested
    assert runs.mark_running(run_id, "gpu-1:1") is False  # the worker that picks it up later skips it
    assert runs.cancel_requested(run_id) is True


def test_cancelling_a_running_run_asks_the_worker(database_url: str) -> None:
    run_id = _running_run()
    assert runs.cancel_requested(run_id) is False
    run = runs.request_cancel(run_id)
    assert run.status is RunStatus.RUNNING and run.cancel_requested
    assert runs.cancel_requested(run_id) is True
    assert runs.mark_cancelled(run_id, "cancelled by user at step 7")
    run = runs.get_run(run_id)
    assert (run.status, run.status_reason) == (RunStatus.CANCELLED, "cancelled by user at step 7")


def test_unknown_runs_raise_run_not_found(database_url: str) -> None:
    for call in (
        lambda: runs.get_run("r-nope"),
        lambda: runs.mark_running("r-nope", "w:1"),
        lambda: runs.heartbeat("r-nope"),
        lambda: runs.mark_failed("r-nope", "x"),
        lambda: runs.request_cancel("r-nope"),
        lambda: runs.cancel_requested("r-nope"),
        lambda: runs.append_event("r-nope", step=1),
        lambda: runs.add_artifact("r-nope", "log", "/tmp/x"),
    ):
        with pytest.raises(RunNotFound, match="r-nope"):
            call()


def test_get_run_accepts_a_unique_prefix(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = iter(["r-20261127-aaa111", "r-20261127-aaa222", "r-20261127-bbb333"])
    monkeypatch.setattr(runs, "new_run_id", lambda: next(ids))
    for _ in range(3):
        _new_run()
    assert runs.get_run("r-20261127-b").id == "r-20261127-bbb333"
    assert runs.get_run("r-20261127-aaa2").id == "r-20261127-aaa222"
    with pytest.raises(AmbiguousRunId, match="aaa111, r-20261127-aaa222"):
        runs.get_run("r-20261127-aaa")
    with pytest.raises(RunNotFound):
        runs.get_run("r-2026%")  # LIKE wildcards in user input are literal characters


def test_list_runs_newest_first(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    start = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    created = []
    for minute in range(3):
        monkeypatch.setattr(runs, "utcnow", lambda minute=minute: start + timedelta(minutes=minute))
        created.append(_new_run())
    assert [run.created_at for run in runs.list_runs()] == [start + timedelta(minutes=m) for m in (2, 1, 0)]
    assert [run.id for run in runs.list_runs()] == created[::-1]
    assert [run.id for run in runs.list_runs(limit=2)] == created[:0:-1]


class TestReapStale:
    def _at(self, monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
        monkeypatch.setattr(runs, "utcnow", lambda: moment)

    def test_a_silent_worker_fails_its_run(self, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        start = datetime(2026, 11, 27, 14, 0, 0, tzinfo=UTC)
        self._at(monkeypatch, start)
        silent, beating, queued = _running_run(), _running_run(), _new_run()
        self._at(monkeypatch, start + timedelta(seconds=40))
        runs.heartbeat(beating)

        self._at(monkeypatch, start + timedelta(seconds=45))
        assert runs.reap_stale(timeout_s=30) == [silent]

        run = runs.get_run(silent)
        assert run.status is RunStatus.FAILED
        assert run.status_reason == (
            "worker stopped responding: no heartbeat for 45 s (last seen 14:00:00 UTC on gpu-1:4242)"
        )
        assert runs.get_run(beating).status is RunStatus.RUNNING
        assert runs.get_run(queued).status is RunStatus.QUEUED

    def test_nothing_is_reaped_within_the_timeout(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        start = datetime(2026, 11, 27, 14, 0, 0, tzinfo=UTC)
        self._at(monkeypatch, start)
        run_id = _running_run()
        self._at(monkeypatch, start + timedelta(seconds=29))
        assert runs.reap_stale(timeout_s=30) == []
        self._at(monkeypatch, start + timedelta(seconds=31))
        assert runs.reap_stale(timeout_s=30) == [run_id]
        assert runs.heartbeat(run_id) is False  # the worker learns its run was given up on


def test_events_come_back_in_order_and_after_an_id(database_url: str) -> None:
    run_id, other_id = _running_run(), _running_run()
    for step in range(1, 6):
        runs.append_event(run_id, step=step, total=5, loss=1.0 / step, metrics={"lr": 1e-4})
        runs.append_event(other_id, step=step, total=5)
    runs.append_event(run_id, message="saving adapter")

    everything = runs.events(run_id)
    assert [event.step for event in everything] == [1, 2, 3, 4, 5, None]
    assert everything[-1].message == "saving adapter" and everything[0].metrics == {"lr": 1e-4}
    assert [event.step for event in runs.events(run_id, after_id=everything[2].id)] == [4, 5, None]
    assert [event.step for event in runs.events(run_id, after_id=everything[0].id, limit=2)] == [2, 3]
    assert runs.events(run_id, after_id=everything[-1].id) == []
    assert (runs.get_run(run_id).progress_step, runs.get_run(run_id).progress_total) == (5, 5)


def test_a_non_finite_loss_is_kept_as_text(database_url: str) -> None:
    run_id = _running_run()
    runs.append_event(run_id, step=1, total=2, loss=float("nan"), metrics={"grad_norm": float("inf")})
    [event] = runs.events(run_id)
    assert event.loss is None
    assert event.metrics == {"loss": "nan", "grad_norm": "inf"}


def test_artifacts_record_kind_path_and_size(database_url: str, tmp_path) -> None:
    run_id = _running_run()
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"x" * 100)
    (adapter / "adapter_config.json").write_text("{}")
    report = tmp_path / "report.json"
    report.write_text('{"ok": true}')

    runs.add_artifact(run_id, "adapter", adapter)
    runs.add_artifact(run_id, "report_json", str(report))
    runs.add_artifact(run_id, "log", tmp_path / "missing.log")

    recorded = runs.artifacts(run_id)
    assert [(a.kind, a.path, a.size_bytes) for a in recorded] == [
        ("adapter", str(adapter), 102),
        ("report_json", str(report), 12),
        ("log", str(tmp_path / "missing.log"), None),
    ]
    assert runs.artifacts(_new_run()) == []
