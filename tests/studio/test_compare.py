"""`studio compare`: two runs' report.json side by side, the recipe diff, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from store import runs
from store.tables import Run
from studio.cli_compare import compare, flatten, recipe_diff

# studio/cli.py registers the command as `app.command("compare")(cli_compare.compare)`; the callback
# keeps `compare` a subcommand here too (a Typer app with one command would run it without its name).
app = typer.Typer(pretty_exceptions_enable=False)
app.callback()(lambda: None)
app.command("compare")(compare)
runner = CliRunner()
WIDE = {"COLUMNS": "200"}  # rich wraps table cells on a narrow terminal

RECIPE = """\
schema_version: 1
name: compare-test
data: {{kind: file, path: /data/pairs.jsonl, preset: prompt_chosen_rejected}}
method: {{method: dpo, beta: {beta}, loss: sigmoid}}
training: {{learning_rate: 5.0e-06, lora: {{r: 8, target_modules: [q_proj, v_proj]}}}}
"""
METRICS_A = {
    "heldout_pairs": 240.0,
    "ranking_accuracy_after": 0.3167,
    "ranking_accuracy_after_ci_low": 0.2611,
    "ranking_accuracy_after_ci_high": 0.3780,
    "reward_margin": 0.1833,
    "train_seconds": 282.3,
}


def _run_with_report(tmp_path: Path, beta: float, metrics: dict[str, Any]) -> Run:
    run = runs.create_run(RECIPE.format(beta=beta), "compare-test", f"hash-{beta}")
    path = tmp_path / run.id / "report.json"
    path.parent.mkdir(parents=True)
    report = {"report_version": 1, "method": "dpo", "base_model": "smollm2-135m-instruct", "metrics": metrics}
    path.write_text(json.dumps(report))
    runs.add_artifact(run.id, "report_json", path)
    return run


def _two_runs(tmp_path: Path) -> tuple[Run, Run]:
    metrics_b = {**METRICS_A, "ranking_accuracy_after": 0.3667, "reward_margin": 0.4, "win_rate": 0.55}
    return _run_with_report(tmp_path, 0.1, METRICS_A), _run_with_report(tmp_path, 0.3, metrics_b)


def test_table_has_both_runs_deltas_and_the_recipe_diff(tmp_path: Path) -> None:
    a, b = _two_runs(tmp_path)
    result = runner.invoke(app, ["compare", a.id, b.id], env=WIDE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"A: {a.id} (compare-test" in out and f"B: {b.id} (compare-test" in out
    assert "Δ (B − A)" in out
    a_cell = ["0.317", "[0.261,", "0.378]"]  # value [interval]
    row = next(line for line in out.splitlines() if line.startswith("ranking_accuracy_after"))
    assert row.split() == ["ranking_accuracy_after", *a_cell, "0.367", "[0.261,", "0.378]", "+0.050"]
    win = next(line for line in out.splitlines() if line.startswith("win_rate"))
    assert win.split() == ["win_rate", "-", "0.550"]  # only in B: no delta
    assert "  method.beta: 0.1 → 0.3" in out
    assert "learning_rate" not in out.split("recipe differences")[1]  # equal settings are not listed


def test_json_output(tmp_path: Path) -> None:
    a, b = _two_runs(tmp_path)
    result = runner.invoke(app, ["compare", a.id, b.id, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["a"]["run_id"] == a.id and data["b"]["status"] == "queued"
    accuracy = data["metrics"]["ranking_accuracy_after"]
    assert accuracy["a"] == 0.3167 and accuracy["b"] == 0.3667
    assert abs(accuracy["delta"] - 0.05) < 1e-9 and accuracy["a_ci"] == [0.2611, 0.3780]
    assert data["metrics"]["win_rate"] == {"a": None, "b": 0.55, "delta": None, "a_ci": None, "b_ci": None}
    assert "ranking_accuracy_after_ci_low" not in data["metrics"]  # folded into a_ci / b_ci
    assert data["recipe_diff"] == {"method.beta": {"a": 0.1, "b": 0.3}}


def test_unknown_run_is_one_line_exit_1(tmp_path: Path) -> None:
    a, _ = _two_runs(tmp_path)
    result = runner.invoke(app, ["compare", a.id, "r-nope"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["error: no run with id 'r-nope' (`studio runs` lists them)"]
    assert "Traceback" not in result.output and result.stdout == ""


def test_run_without_a_report_names_the_run_and_its_status(tmp_path: Path) -> None:
    a, _ = _two_runs(tmp_path)
    pending = runs.create_run(RECIPE.format(beta=0.5), "still-queued", "hash-q")
    result = runner.invoke(app, ["compare", a.id, pending.id])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: run {pending.id} (still-queued) has no report yet: it is queued"


def test_missing_report_file_is_one_line(tmp_path: Path) -> None:
    a, b = _two_runs(tmp_path)
    Path(runs.artifacts(b.id)[0].path).unlink()
    result = runner.invoke(app, ["compare", a.id, b.id])
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert f"the report of run {b.id} is gone" in result.stderr


def test_recipe_diff_flattens_nested_keys_and_lists() -> None:
    a = "method: {beta: 0.1}\ntraining: {lora: {target_modules: [q_proj]}}\ndata: {kind: file, path: x}\n"
    b = "method: {beta: 0.1}\ntraining: {lora: {target_modules: [q_proj, v_proj]}}\ndata: {kind: hub}\n"
    assert flatten({"a": {"b": {"c": 1}}, "d": [1]}) == {"a.b.c": 1, "d": [1]}
    assert recipe_diff(a, b) == {
        "training.lora.target_modules": {"a": ["q_proj"], "b": ["q_proj", "v_proj"]},
        "data.kind": {"a": "file", "b": "hub"},
        "data.path": {"a": "x", "b": None},
    }
