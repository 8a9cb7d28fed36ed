"""The run report: versioned JSON for machines and Markdown for people."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from recipes.evaluation import HEADLINE_METRICS as HEADLINE
from workers.report_html import write_html_report

REPORT_VERSION = 1


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    if isinstance(value, dict):  # a nested count table in a cell, e.g. {"leaky": 3, "total": 40}
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _with_ci(metrics: dict[str, Any], name: str) -> str:
    low, high = metrics.get(f"{name}_ci_low"), metrics.get(f"{name}_ci_high")
    value = _fmt(metrics.get(name, float("nan")))
    return f"{value} [{_fmt(low)}, {_fmt(high)}]" if low is not None else value


def _header(report: dict[str, Any]) -> list[str]:
    """Title and provenance; an evaluation report (`studio eval`) says which evaluation it is."""
    m, pairs = report["metrics"], report["metrics"].get("heldout_pairs")
    lines = [
        f"# {report.get('title') or 'Run report: ' + report['recipe_name']}",
        "",
        f"Method `{report['method']}` on `{report['base_model']}`; "
        f"recipe hash `{report['recipe_hash'][:12]}`.",
    ]
    if report.get("evaluation"):
        lines += ["", "## Evaluation", "", *_md_table(["item", "value"], list(report["evaluation"].items()))]
    count = f"{int(pairs)} pairs, " if isinstance(pairs, int | float) else ""
    heading = f"## Held-out evaluation ({count}{report['confidence_level']:.0%} intervals)"
    rows = [[label, _with_ci(m, key)] for label, key in HEADLINE if key in m]
    return lines + ["", heading, "", *_md_table(["metric", "value"], rows)]


def _transitions(m: dict[str, Any]) -> list[str]:
    if "flip_rate" not in m:  # an evaluation without E1
        return []
    cells = ", ".join(
        f"{k.removeprefix('transition_').replace('_', ' ')} {int(v)}"
        for k, v in m.items()
        if k.startswith("transition_")
    )
    return [
        "",
        f"Flip rate (base-wrong pairs the adapter ranks right): {_fmt(m['flip_rate'])}. Transitions: {cells}",
        "",
        "Before training every implicit reward is 0, so there is no 'before' reward accuracy "
        "(methods.md §0.5).",
    ]


def _markdown(report: dict[str, Any]) -> str:
    m, data, train = report["metrics"], report["data"], report.get("training") or {}
    lines = _header(report) + _transitions(m)
    lines += ["", "## Data", "", *_md_table(["item", "value"], list(data.items()))]
    shown = {key for _, key in HEADLINE}
    rest = [[k, v] for k, v in m.items() if k not in shown and not k.endswith(("_ci_low", "_ci_high"))]
    lines += ["", "## All metrics", "", *_md_table(["metric", "value"], rest)]
    if train:
        lines += ["", "## Training", "", *_md_table(["item", "value"], list(train.items()))]
    if report.get("method_report"):
        lines += _method_report(report["method_report"])
    return "\n".join(lines) + "\n"


def _md_cell(value: Any) -> str:
    # A "|" or a line break inside a cell would end the cell or the table.
    return " ".join(_fmt(value).split()).replace("|", "\\|")


def _md_table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    return [f"| {' | '.join(headers)} |", f"|{'---|' * len(headers)}"] + [
        f"| {' | '.join(_md_cell(cell) for cell in row)} |" for row in rows
    ]


def _method_report(section: dict[str, Any]) -> list[str]:
    """A runner's own section, rendered generically: its numbers as one table, then in order a line
    per text, a table per dict or list of rows (e.g. RPS per direction, listwise ranking per list
    size) and a line per list of values."""
    lines = ["", f"## {section.get('title', 'Method report')}", ""]
    items = {k: v for k, v in section.items() if k != "title"}
    flat = [[k, v] for k, v in items.items() if not isinstance(v, dict | list | str)]
    lines += _md_table(["item", "value"], flat) if flat else []
    for key, value in items.items():
        if isinstance(value, str):
            lines += ["", value if key == "note" else f"**{key.replace('_', ' ')}**: {value}"]
        elif isinstance(value, dict) and value:
            lines += ["", f"### {key.replace('_', ' ')}", ""]
            lines += _md_table(["item", "value"], [[k, v] for k, v in value.items()])
        elif isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
            columns = list(dict.fromkeys(k for row in value for k in row))
            lines += ["", f"### {key.replace('_', ' ')}", ""]
            lines += _md_table(columns, [[row.get(c, "") for c in columns] for row in value])
        elif isinstance(value, list):
            lines += ["", f"{key.replace('_', ' ')}: {', '.join(_fmt(v) for v in value)}"]
    return lines


def write_report(out_dir: Path, report: dict[str, Any]) -> dict[str, Path]:
    """report.json (versioned, for machines), report.md and a self-contained report.html with plots."""
    report = {"report_version": REPORT_VERSION, **report}
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    text = json.dumps(report, indent=2, sort_keys=False, default=str)
    json_path.write_text(text)
    md_path.write_text(_markdown(report))
    html_path = write_html_report(out_dir, json.loads(text))  # the same JSON-safe values the file holds
    return {"report_json": json_path, "report_md": md_path, "report_html": html_path}
