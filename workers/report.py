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
    return str(value)


def _with_ci(metrics: dict[str, Any], name: str) -> str:
    low, high = metrics.get(f"{name}_ci_low"), metrics.get(f"{name}_ci_high")
    value = _fmt(metrics.get(name, float("nan")))
    return f"{value} [{_fmt(low)}, {_fmt(high)}]" if low is not None else value


def _markdown(report: dict[str, Any]) -> str:
    m, data, train = report["metrics"], report["data"], report["training"]
    lines = [
        f"# Run report: {report['recipe_name']}",
        "",
        f"Method `{report['method']}` on `{report['base_model']}`; "
        f"recipe hash `{report['recipe_hash'][:12]}`.",
        "",
        f"## Held-out evaluation ({int(m['heldout_pairs'])} pairs, "
        f"{report['confidence_level']:.0%} intervals)",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {label} | {_with_ci(m, key)} |" for label, key in HEADLINE if key in m]
    lines += [
        "",
        f"Flip rate (base-wrong pairs the adapter ranks right): {_fmt(m.get('flip_rate'))}. Transitions: "
        + ", ".join(
            f"{k.removeprefix('transition_').replace('_', ' ')} {int(v)}"
            for k, v in m.items()
            if k.startswith("transition_")
        ),
        "",
        "Before training every implicit reward is 0, so there is no 'before' reward accuracy "
        "(methods.md §0.5).",
        "",
        "## Data",
        "",
        "| item | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in data.items()]
    shown = {key for _, key in HEADLINE}
    lines += ["", "## All metrics", "", "| metric | value |", "|---|---|"]
    lines += [
        f"| {k} | {_fmt(v)} |"
        for k, v in m.items()
        if k not in shown and not k.endswith(("_ci_low", "_ci_high"))
    ]
    lines += ["", "## Training", "", "| item | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in train.items()]
    return "\n".join(lines) + "\n"


def write_report(out_dir: Path, report: dict[str, Any]) -> dict[str, Path]:
    """report.json (versioned, for machines), report.md and a self-contained report.html with plots."""
    report = {"report_version": REPORT_VERSION, **report}
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    text = json.dumps(report, indent=2, sort_keys=False, default=str)
    json_path.write_text(text)
    md_path.write_text(_markdown(report))
    html_path = write_html_report(out_dir, json.loads(text))  # the same JSON-safe values the file holds
    return {"report_json": json_path, "report_md": md_path, "report_html": html_path}
