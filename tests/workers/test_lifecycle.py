"""Unit tests of the run lifecycle on a real SQLite store, with the training pipeline replaced by fakes.

No Redis, no Celery worker: `train_run` is called as a plain function.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from store import runs
from store.tables import RunStatus
from workers import heartbeat, lifecycle
from workers.errors import UserFacingError
from workers.progress import ListProgress, NullProgress, Progress, RunCancelled, StoreProgress

RECIPE = """
name: lifecycle-test
data: {{kind: file, path: {path}, preset: prompt_chosen_rejected}}
method: {{method: dpo, beta: {beta}}}
"""


@dataclass
class FakeResult:
    metrics: dict[str, Any]
    artifacts: dict[str, Path]
    data_report: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(autouse=True)
def fast_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_HEARTBEAT_S", "0.05")


def _new_run(tmp_path: Path, beta: str = "0.1") -> str:
    yaml = RECIPE.format(path=tmp_path / "pairs.jsonl", beta=beta)
    return runs.create_run(yaml, "lifecycle-test", "hash").id


def _use_pipeline(monkeypatch: pytest.MonkeyPatch, pipeline: Any) -> list[Any]:
    """Replace the pipeline; return the list of recipes it was called with."""
    calls: list[Any] = []

    def fake(recipe: Any, out_dir: Path, progress: Progress) -> Any:
        calls.append(recipe)
        return pipeline(recipe, out_dir, progress)

    monkeypatch.setattr(lifecycle, "load_pipeline", lambda: fake)
    return calls


def _succeeding(recipe: Any, out_dir: Path, progress: Progress) -> FakeResult:
    progress.message("starting")
    for step in (1, 2):
        progress.on_log(step, 2, 0.5 / step, {"lr": 1e-4})
    (out_dir / "adapter").mkdir()
    (out_dir / "adapter" / "adapter_model.safetensors").write_bytes(b"weights")
    (out_dir / "report.json").write_text("{}")
    (out_dir / "report.md").write_text("# report")
    artifacts = {"adapter": out_dir / "adapter", "report_json": out_dir / "report.json",
                 "report_md": out_dir / "report.md"}  # fmt: skip
    return FakeResult(metrics={"reward_accuracy": 0.75, "heldout_pairs": 8}, artifacts=artifacts)


def test_success_records_metrics_artifacts_and_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _new_run(tmp_path)
    calls = _use_pipeline(monkeypatch, _succeeding)
    from workers.tasks import train_run  # the Celery task, called as a plain function

    assert train_run(run_id) == "succeeded"
    run = runs.get_run(run_id)
    assert run.status == RunStatus.SUCCEEDED and run.status_reason is None
    assert run.metrics == {"reward_accuracy": 0.75, "heldout_pairs": 8}
    assert calls[0].name == "lifecycle-test"
    kinds = {a.kind: Path(a.path) for a in runs.artifacts(run_id)}
    assert set(kinds) == {"adapter", "report_json", "report_md", "log"}
    assert kinds["adapter"].parent == Path(lifecycle.settings.runs_dir(run_id))
    events = runs.events(run_id)
    assert [e.step for e in events] == [None, 1, 2] and events[0].message == "starting"
    assert (run.progress_step, run.progress_total) == (2, 2)


def test_user_facing_error_is_the_exact_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    line = "no usable rows in data file x.jsonl: 3 skipped (missing_field 2, empty_response 1)"

    def failing(recipe: Any, out_dir: Path, progress: Progress) -> FakeResult:
        raise UserFacingError(line)

    run_id = _new_run(tmp_path)
    _use_pipeline(monkeypatch, failing)
    assert lifecycle.execute(run_id) == "failed"
    run = runs.get_run(run_id)
    assert run.status == RunStatus.FAILED and run.status_reason == line


def test_unexpected_error_is_one_line_plus_a_log_with_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crashing(recipe: Any, out_dir: Path, progress: Progress) -> FakeResult:
        return {"a": 1}["missing\nkey"]

    run_id = _new_run(tmp_path)
    _use_pipeline(monkeypatch, crashing)
    assert lifecycle.execute(run_id) == "failed"
    run = runs.get_run(run_id)
    log_path = lifecycle.settings.runs_dir(run_id) / "worker.log"
    assert run.status_reason.startswith("internal error: KeyError: ")
    assert run.status_reason.endswith(f"see log {log_path}") and "\n" not in run.status_reason
    assert "Traceback" in log_path.read_text() and "crashing" in log_path.read_text()
    assert [a.kind for a in runs.artifacts(run_id)] == ["log"]


def test_reported_artifact_that_does_not_exist_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _new_run(tmp_path)
    _use_pipeline(monkeypatch, lambda r, out, p: FakeResult({}, {"adapter": out / "nope"}))
    assert lifecycle.execute(run_id) == "failed"
    assert "FileNotFoundError" in runs.get_run(run_id).status_reason


def test_cancel_raised_by_the_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def cancelled_midway(recipe: Any, out_dir: Path, progress: Progress) -> FakeResult:
        progress.on_log(1, 10, 0.7, {})
        runs.request_cancel(run_id)
        deadline = time.monotonic() + 5
        while not progress.should_stop():  # the flag is cached for up to a second
            assert time.monotonic() < deadline
            time.sleep(0.05)
        raise RunCancelled()

    run_id = _new_run(tmp_path)
    _use_pipeline(monkeypatch, cancelled_midway)
    assert lifecycle.execute(run_id) == "cancelled"
    assert runs.get_run(run_id).status == RunStatus.CANCELLED


def test_cancel_noticed_after_the_last_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def finishes_anyway(recipe: Any, out_dir: Path, progress: Progress) -> FakeResult:
        runs.request_cancel(run_id)
        return FakeResult({"x": 1.0}, {})

    run_id = _new_run(tmp_path)
    _use_pipeline(monkeypatch, finishes_anyway)
    assert lifecycle.execute(run_id) == "cancelled"
    assert runs.get_run(run_id).status == RunStatus.CANCELLED


def test_run_not_queued_any_more_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = _new_run(tmp_path)
    runs.request_cancel(run_id)  # cancelled before a worker picked it up
    calls = _use_pipeline(monkeypatch, _succeeding)
    assert lifecycle.execute(run_id) == "skipped"
    assert calls == [] and runs.get_run(run_id).status == RunStatus.CANCELLED


def test_invalid_snapshot_fails_before_the_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = _new_run(tmp_path, beta="-1")
    calls = _use_pipeline(monkeypatch, _succeeding)
    assert lifecycle.execute(run_id) == "failed"
    reason = runs.get_run(run_id).status_reason
    assert calls == [] and reason.startswith("invalid recipe snapshot: method.beta: must be greater than 0")


def test_unknown_pipeline_name_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_PIPELINE", "no_colon_here")
    with pytest.raises(UserFacingError, match="STUDIO_PIPELINE"):
        lifecycle.load_pipeline()
    monkeypatch.setenv("STUDIO_PIPELINE", "workers.testing_pipeline:run_recipe")
    assert lifecycle.load_pipeline().__module__ == "workers.testing_pipeline"


def test_heartbeat_beats_and_exits_when_orphaned(monkeypatch: pytest.MonkeyPatch) -> None:
    beats: list[str] = []
    exits: list[int] = []
    beat = heartbeat.Heartbeat(
        "r-1", interval_s=0.02, beat=beats.append, exit_process=exits.append, watch_parent=True
    )
    with beat:
        time.sleep(0.2)
        assert len(beats) >= 3 and exits == []
        parent = os.getppid()
        monkeypatch.setattr(heartbeat.os, "getppid", lambda: parent + 1)  # re-parented
        deadline = time.monotonic() + 3
        while not exits and time.monotonic() < deadline:
            time.sleep(0.02)
    assert exits == [heartbeat.ORPHAN_EXIT_CODE]

    # Outside a prefork pool child (plain call, solo pool) a new parent is not a reason to die.
    with heartbeat.Heartbeat("r-2", interval_s=0.02, beat=beats.append, exit_process=exits.append):
        time.sleep(0.1)
    assert exits == [heartbeat.ORPHAN_EXIT_CODE]


def test_store_progress_reads_the_cancel_flag_at_most_once_per_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _new_run(tmp_path)
    reads: list[str] = []
    monkeypatch.setattr(runs, "cancel_requested", lambda rid: reads.append(rid) or False)
    progress = StoreProgress(run_id, poll_s=60)
    assert not any(progress.should_stop() for _ in range(100))
    assert reads == [run_id]


def test_test_progress_helpers() -> None:
    listed = ListProgress(stop_after=2)
    listed.on_log(1, 2, 0.5, None)
    assert not listed.should_stop()
    listed.on_log(2, 2, 0.4, {"a": 1})
    assert listed.should_stop() and listed.logs[1] == (2, 2, 0.4, {"a": 1})
    assert isinstance(NullProgress(), Progress) and not NullProgress().should_stop()
