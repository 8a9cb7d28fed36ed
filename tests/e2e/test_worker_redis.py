"""The run machinery end to end: real Redis, real Celery worker subprocesses, the `studio` CLI as a
subprocess, and the sleep-and-report pipeline (the real training pipeline has its own e2e test)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # conftest.py defines the fixtures and their type; nothing to import at run time
    from tests.e2e.conftest import Stack

from recipes.io import load_recipe
from store import runs
from store.tables import RunStatus
from studio.cli_wait import submit

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def _status(run_id: str) -> RunStatus:
    return RunStatus(runs.get_run(run_id).status)


def _finished(run_id: str) -> bool:
    return _status(run_id).finished


def test_run_succeeds_and_its_events_are_in_the_db(stack: Stack) -> None:
    run = submit(load_recipe(stack.recipe(steps=4, name="events")))
    stack.wait_for(lambda: _finished(run.id), 60, "the run to finish")
    final = runs.get_run(run.id)
    assert final.status == RunStatus.SUCCEEDED, final.status_reason
    assert final.metrics["steps"] == 4 and (final.progress_step, final.progress_total) == (4, 4)
    events = runs.events(run.id)
    assert [e.step for e in events if e.step is not None] == [1, 2, 3, 4]
    assert events[0].message.startswith("fake training of e2e-events")
    kinds = {a.kind for a in runs.artifacts(run.id)}
    assert kinds == {"adapter", "report_json", "report_md", "log"}
    shown = stack.studio("runs", "show", run.id)
    assert shown.returncode == 0 and "succeeded" in shown.stdout and "adapter:" in shown.stdout


def test_cli_run_wait_json_prints_exactly_one_object(stack: Stack) -> None:
    result = stack.studio("run", str(stack.recipe(steps=3, name="cli")), "--wait", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().count("\n") == 0, result.stdout
    payload = json.loads(result.stdout)
    assert set(payload) == {"run_id", "status", "reason", "metrics", "artifacts"}
    assert payload["status"] == "succeeded" and payload["reason"] is None
    assert Path(payload["artifacts"]["adapter"], "adapter_config.json").exists()
    assert "Traceback" not in result.stderr


def test_cancel_of_a_running_run_ends_cancelled_within_seconds(stack: Stack) -> None:
    run = submit(load_recipe(stack.recipe(steps=300, name="cancel")))  # 60 s if nobody cancels it
    stack.wait_for(lambda: (runs.get_run(run.id).progress_step or 0) >= 1, 60, "the run to make progress")
    result = stack.studio("runs", "cancel", run.id)
    assert result.returncode == 0 and "cancel requested" in result.stdout, result.stderr
    stack.wait_for(lambda: _finished(run.id), 5, "the worker to honour the cancel")
    assert _status(run.id) == RunStatus.CANCELLED


def _children(pid: int) -> list[int]:
    """Pids whose parent is `pid`, read from /proc (the worker's prefork pool children)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _dead(pid: int) -> bool:
    """Gone, or a zombie waiting for an init that does not reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@pytest.mark.parametrize("parent_death", ["pdeathsig", "heartbeat_orphan_check"])
def test_sigkill_of_the_worker_main_process_fails_the_run(own_stack: Stack, parent_death: str) -> None:
    # Linux: Celery's PR_SET_PDEATHSIG kills the pool child. Without it (macOS), our heartbeat must.
    extra_env = {"STUDIO_TEST_NO_PDEATHSIG": "1"} if parent_death == "heartbeat_orphan_check" else {}
    main = own_stack.start_worker(**extra_env)
    run = submit(load_recipe(own_stack.recipe(steps=300, name="sigkill")))
    own_stack.wait_for(lambda: (runs.get_run(run.id).progress_step or 0) >= 1, 60, "the run to make progress")
    pool = _children(main.pid)
    assert pool, "the prefork worker has no pool child"

    os.kill(main.pid, signal.SIGKILL)
    main.wait(timeout=10)
    # The orphaned pool child must exit, not train on unsupervised.
    own_stack.wait_for(lambda: all(_dead(pid) for pid in pool), 10, "the orphaned pool child to exit")
    if parent_death == "heartbeat_orphan_check":
        run_log = (own_stack.data_dir / "runs" / run.id / "worker.log").read_text()
        assert "worker parent" in run_log and "is gone" in run_log

    def shown_status() -> str | None:
        result = own_stack.studio("runs", "show", run.id, "--json")
        assert result.returncode == 0, result.stderr
        status = json.loads(result.stdout)["status"]
        return None if status == "running" else status

    final = own_stack.wait_for(shown_status, 60, "`studio runs show` to stop saying running", poll_s=1)
    assert final == "failed"
    assert "no heartbeat" in runs.get_run(run.id).status_reason
