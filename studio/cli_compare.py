"""`studio compare RUN_A RUN_B`: two runs' report metrics side by side, and how their recipes differ.

Reads each run's `report.json` artifact (the studio never imports `workers`), so any finished run can be
compared, including runs trained by an older worker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from store import runs
from store.tables import Run
from studio.cli_errors import CliError, handle_errors
from studio.cli_render import fold_intervals, number, status_of
from studio.cli_wait import reap

MISSING = object()  # a key one recipe does not have (distinct from an explicit null)


def load_report(run: Run) -> dict[str, Any]:
    """The run's report.json, or a CliError that names the run and says why there is none."""
    paths = [a.path for a in runs.artifacts(run.id) if a.kind == "report_json"]
    if not paths:
        status = status_of(run).value
        hint = f": {run.status_reason}" if run.status_reason else ""
        raise CliError(f"run {run.id} ({run.recipe_name}) has no report yet: it is {status}{hint}")
    path = Path(paths[-1])
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"the report of run {run.id} is gone: {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read the report of run {run.id} ({path}): {exc}") from None
    if not isinstance(report, dict):
        raise CliError(f"the report of run {run.id} ({path}) is not a JSON object")
    return report


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def metric_rows(a: dict[str, Any], b: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{name: {a, b, delta, a_ci, b_ci}} for every metric in either report, A's order first.

    delta is B − A when both are numbers, else None; `_ci_low/_ci_high` fold into their metric's *_ci.
    """
    folded_a = {name: (value, ci) for name, value, ci in fold_intervals(a)}
    folded_b = {name: (value, ci) for name, value, ci in fold_intervals(b)}
    rows = {}
    for name in dict.fromkeys([*folded_a, *folded_b]):
        value_a, ci_a = folded_a.get(name, (None, None))
        value_b, ci_b = folded_b.get(name, (None, None))
        both = _is_number(value_a) and _is_number(value_b)
        rows[name] = {
            "a": value_a,
            "b": value_b,
            "delta": value_b - value_a if both else None,
            "a_ci": list(ci_a) if ci_a else None,
            "b_ci": list(ci_b) if ci_b else None,
        }
    return rows


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings → dotted keys (`method.beta`); lists and scalars are leaves."""
    if not isinstance(value, dict):
        return {prefix: value} if prefix else {}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(flatten(item, f"{prefix}{key}.") if isinstance(item, dict) else {f"{prefix}{key}": item})
    return flat


def recipe_diff(yaml_a: str, yaml_b: str) -> dict[str, dict[str, Any]]:
    """{dotted key: {a, b}} for every recipe setting whose value differs (missing → None)."""
    flat_a, flat_b = flatten(yaml.safe_load(yaml_a) or {}), flatten(yaml.safe_load(yaml_b) or {})
    diff = {}
    for key in dict.fromkeys([*flat_a, *flat_b]):
        value_a, value_b = flat_a.get(key, MISSING), flat_b.get(key, MISSING)
        if value_a != value_b:
            diff[key] = {side: None if v is MISSING else v for side, v in (("a", value_a), ("b", value_b))}
    return diff


def _shown(value: Any) -> str:
    """A recipe value as the YAML a user wrote: 0.1, true, [a, b]; strings bare. None: the recipe
    leaves it to the default (or the key belongs to another variant, e.g. a hub vs a file source)."""
    if value is None:
        return "(not set)"
    return value if isinstance(value, str) else json.dumps(value)


def _cell(value: Any, ci: list[Any] | None) -> str:
    if value is None:
        return "-"
    shown = number(value)
    return f"{shown} [{number(ci[0])}, {number(ci[1])}]" if ci else shown


def _delta(delta: Any) -> str:
    if delta is None:
        return ""
    return f"{delta:+.3f}" if isinstance(delta, float) else f"{delta:+d}"


def compare_table(rows: dict[str, dict[str, Any]]) -> Table:
    table = Table("metric", "A", "B", "Δ (B − A)", box=None, pad_edge=False)
    for column in table.columns[1:]:
        column.justify = "right"
    # On a narrow terminal the intervals wrap onto a second line; the metric names must stay whole.
    table.columns[0].no_wrap = True
    for name, row in rows.items():
        cells = (name, _cell(row["a"], row["a_ci"]), _cell(row["b"], row["b_ci"]), _delta(row["delta"]))
        table.add_row(*(escape(cell) for cell in cells))  # "[0.1, 0.2]" is data, not rich markup
    return table


def _run_json(run: Run, report: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "recipe_name": run.recipe_name,
        "status": status_of(run).value,
        "recipe_hash": run.recipe_hash,
        "method": report.get("method"),
        "base_model": report.get("base_model"),
    }


def _print_text(console: Console, result: dict[str, Any]) -> None:
    for side in ("a", "b"):
        info = result[side]
        console.print(
            f"{side.upper()}: {escape(info['run_id'])} ({escape(str(info['recipe_name']))}, "
            f"{info['status']}, {escape(str(info['method']))} on {escape(str(info['base_model']))})"
        )
    console.print()
    console.print(compare_table(result["metrics"]))
    console.print()
    if not result["recipe_diff"]:
        console.print("recipes: identical")
        return
    console.print("[bold]recipe differences[/] (A → B)")
    for key, values in result["recipe_diff"].items():
        console.print(f"  {escape(key)}: {escape(_shown(values['a']))} → {escape(_shown(values['b']))}")


@handle_errors
def compare(
    run_a: str = typer.Argument(..., help="First run id, A (a unique prefix is enough)."),
    run_b: str = typer.Argument(..., help="Second run id, B; deltas are B − A."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Compare two runs: every report metric side by side with B − A, and the recipe settings that differ."""
    reap()  # a dead worker's run is shown failed, not running forever
    first, second = runs.get_run(run_a), runs.get_run(run_b)
    report_a, report_b = load_report(first), load_report(second)
    result = {
        "a": _run_json(first, report_a),
        "b": _run_json(second, report_b),
        "metrics": metric_rows(report_a.get("metrics") or {}, report_b.get("metrics") or {}),
        "recipe_diff": recipe_diff(first.recipe_yaml, second.recipe_yaml),
    }
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    # Built per call, not at import, so the terminal width (COLUMNS) is read when the command runs.
    _print_text(Console(highlight=False, soft_wrap=True), result)
