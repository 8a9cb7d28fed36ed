"""The `studio` CLI without Redis or a worker: validation, run inspection and the error boundary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from store import runs
from studio import REPO_ROOT
from studio.cli import app
from studio.cli_render import fold_intervals

runner = CliRunner()

GOOD = """
name: cli-test
data: {kind: file, path: pairs.jsonl, preset: prompt_chosen_rejected}
method: {method: dpo}
"""
MISTAKES = """
name: cli-test
data: {kind: file, path: pairs.jsonl, preset: prompt_chosen_rejected}
method: {method: dpo, beta: -1, loss: squared}
training: {learning_rate: 0}
evaluation: {confidence_level: 1.5}
"""


def _recipe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def test_validate_ok(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(_recipe(tmp_path, GOOD))])
    assert result.exit_code == 0
    assert result.stdout.strip() == "ok: cli-test (schema v1, method dpo)"


def test_validate_lists_every_problem_from_one_call(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(_recipe(tmp_path, MISTAKES))])
    assert result.exit_code == 1
    for path in ("method.beta", "method.loss", "training.learning_rate", "evaluation.confidence_level"):
        assert f"  {path}: " in result.stderr
    assert "Traceback" not in result.output


def test_validate_the_shipped_mistakes_example() -> None:
    result = runner.invoke(app, ["validate", str(REPO_ROOT / "examples" / "recipe-mistakes.yaml")])
    assert result.exit_code == 1 and result.stderr.count("\n  ") == 5


def test_validate_missing_file_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "does not exist" in result.stderr
    assert "Traceback" not in result.output


def test_usage_error_exits_2() -> None:
    assert runner.invoke(app, ["validate"]).exit_code == 2
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2


def test_run_of_an_invalid_recipe_queues_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(_recipe(tmp_path, MISTAKES)), "--json"])
    assert result.exit_code == 1 and "method.beta" in result.stderr
    assert runs.list_runs() == []


def test_runs_show_unknown_id_is_one_line() -> None:
    result = runner.invoke(app, ["runs", "show", "r-nope"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "no run with id 'r-nope'" in lines[0]


def test_runs_list_show_and_cancel_a_queued_run() -> None:
    run = runs.create_run(GOOD, "cli-test", "hash")
    listed = runner.invoke(app, ["runs", "list"])
    assert listed.exit_code == 0 and run.id in listed.stdout and "queued" in listed.stdout
    cancelled = runner.invoke(app, ["runs", "cancel", run.id[:-1]])  # a unique prefix is enough
    assert cancelled.exit_code == 0 and f"cancelled {run.id}" in cancelled.stdout
    shown = runner.invoke(app, ["runs", "show", run.id, "--json"])
    details = json.loads(shown.stdout)
    assert details["status"] == "cancelled" and details["reason"] == "cancelled before it started"
    assert details["artifacts"] == {} and details["heartbeat_age_s"] is None


def test_runs_show_renders_metrics_and_events() -> None:
    run = runs.create_run(GOOD, "cli-test", "hash")
    runs.mark_running(run.id, worker="host:1")
    runs.append_event(run.id, step=1, total=2, loss=0.5, metrics={"lr": 1e-4})
    runs.append_event(run.id, message="evaluating")
    runs.mark_succeeded(run.id, {"reward_accuracy": 0.8125, "reward_accuracy_ci_low": 0.7,
                                 "reward_accuracy_ci_high": 0.9, "heldout_pairs": 16})  # fmt: skip
    result = runner.invoke(app, ["runs", "show", run.id])
    assert result.exit_code == 0, result.output
    assert "reward_accuracy" in result.stdout and "0.812" in result.stdout
    assert "[0.700, 0.900]" in result.stdout
    assert "evaluating" in result.stdout and "0.5000" in result.stdout


def test_unexpected_errors_become_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(limit: int = 20) -> list:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(runs, "list_runs", broken)
    result = runner.invoke(app, ["runs", "list"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: internal error: RuntimeError: disk on fire second line "
        "(set STUDIO_DEBUG=1 to see the traceback)"
    )


def test_fold_intervals_joins_ci_bounds_to_their_metric() -> None:
    rows = fold_intervals({"acc": 0.5, "acc_ci_low": 0.4, "acc_ci_high": 0.6, "n": 3, "eval": {"x": 1.0}})
    assert rows == [("acc", 0.5, (0.4, 0.6)), ("n", 3, None), ("eval.x", 1.0, None)]


def test_studio_never_imports_workers_or_torch() -> None:
    code = (
        "import sys, studio.cli, studio.services;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('workers', 'torch', 'transformers')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_wait_hints_once_when_no_worker_picks_the_run_up() -> None:
    import io
    import time

    from rich.console import Console

    from studio.cli_errors import CliError
    from studio.cli_wait import NO_WORKER_HINT, wait_for_run

    run = runs.create_run(GOOD, "cli-test", "hash")  # queued, and no worker will ever take it
    out = io.StringIO()
    deadline = time.monotonic() + 0.6

    def give_up() -> None:
        if time.monotonic() > deadline:
            raise CliError("stop waiting")

    with pytest.raises(CliError):
        wait_for_run(run.id, Console(file=out, width=200), poll_s=0.05, hint_after_s=0.1, check=give_up)
    assert out.getvalue().count(NO_WORKER_HINT) == 1


class FakeService:
    def __init__(self, name: str, log: list[str], healthy: bool = True) -> None:
        self.name, self.log, self._healthy = name, log, healthy
        self.startup_timeout_s = 0.2

    def start(self) -> str:
        self.log.append(f"start {self.name}")
        return f"{self.name}-url"

    def healthy(self) -> bool:
        return self._healthy

    def alive(self) -> bool:
        return True

    def failure_hint(self) -> str:
        return f"see {self.name}.log"

    def stop(self, force: bool = False) -> None:
        self.log.append(f"stop {self.name}" + (" (forced)" if force else ""))


def test_supervisor_starts_in_order_and_stops_in_reverse() -> None:
    from studio.services import Supervisor

    log: list[str] = []
    said: list[str] = []
    with Supervisor([FakeService("redis", log), FakeService("worker", log)], say=said.append):
        log.append("serving")
    assert log == ["start redis", "start worker", "serving", "stop worker", "stop redis"]
    assert said == ["redis: redis-url", "worker: worker-url"]


def test_supervisor_stops_what_it_started_when_a_service_never_gets_healthy() -> None:
    from studio.cli_errors import CliError
    from studio.services import Supervisor

    log: list[str] = []
    services = [FakeService("redis", log), FakeService("worker", log, healthy=False), FakeService("app", log)]
    with pytest.raises(CliError, match="worker did not become ready during start-up: see worker.log"):
        Supervisor(services, say=lambda _: None).start_all()
    assert log == ["start redis", "start worker", "stop worker", "stop redis"]
