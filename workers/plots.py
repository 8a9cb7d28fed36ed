"""The run report's plots: matplotlib figures rendered to PNG bytes with the Agg backend.

Figures are built on `matplotlib.figure.Figure` directly, never through pyplot: pyplot keeps global
state and picks a GUI backend, neither of which a Celery worker wants. Every builder returns the
Figure so tests can read the plotted data back; `png_bytes` renders it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 110
BLUE, ORANGE, GREY, GREEN = "#2563eb", "#ea580c", "#6b7280", "#16a34a"
SERIES_COLOURS = [BLUE, ORANGE, GREEN, "#9333ea", "#0891b2", "#be123c"]

# Known training-log keys grouped into panels: (panel key, title, y label, [(log key, legend label)]).
# Pairs that are read together (chosen vs rejected) share one panel; any other numeric key gets its own.
CURVE_GROUPS = [
    ("loss", "Training loss", "loss", [("loss", "loss")]),
    ("reward_accuracy", "Reward accuracy (train batches)", "accuracy", [("rewards/accuracy", "accuracy")]),
    ("reward_margin", "Reward margin (train batches)", "margin", [("rewards/margin", "margin")]),
    (
        "rewards",
        "Implicit rewards: chosen vs rejected",
        "reward",
        [("rewards/chosen", "chosen"), ("rewards/rejected", "rejected")],
    ),
    (
        "logps",
        "Log-probability: chosen vs rejected",
        "log-prob",
        [("logps/chosen", "chosen"), ("logps/rejected", "rejected")],
    ),
]
# `epoch` is the x axis in disguise: a plot of it says nothing about the run.
IGNORED_CURVE_KEYS = {"epoch", "step"}


@dataclass
class CurvePanel:
    key: str
    title: str
    ylabel: str
    series: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG; the Software tag is dropped so the file carries no URL and no version."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _figure(width: float = 6.4, height: float = 3.2) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.add_subplot()
    _style(ax)
    return fig, ax


def _style(ax: Any) -> None:
    ax.grid(True, color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _title(fig: Figure, text: str) -> None:
    # On the figure, not the axes: long y tick labels would push an axes title off the left edge.
    fig.suptitle(text, x=0.01, ha="left", fontsize=11)


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _curve_value(entry: dict[str, Any], key: str) -> Any:
    return entry.get("loss") if key == "loss" else (entry.get("metrics") or {}).get(key)


def _series(curves: Sequence[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of one logged key; entries without a finite value (a NaN loss, say) are left out."""
    points = [
        (entry["step"], _curve_value(entry, key))
        for entry in curves
        if finite(entry.get("step")) and finite(_curve_value(entry, key))
    ]
    return [p[0] for p in points], [p[1] for p in points]


def curve_panels(curves: Sequence[dict[str, Any]]) -> list[CurvePanel]:
    """One panel per group of logged keys that has data, known groups first, then any other key."""
    panels, grouped = [], {"loss"}
    for key, title, ylabel, members in CURVE_GROUPS:
        panel = CurvePanel(key, title, ylabel)
        for log_key, label in members:
            grouped.add(log_key)
            steps, values = _series(curves, log_key)
            if steps:
                panel.series[label] = (steps, values)
        if panel.series:
            panels.append(panel)
    others = dict.fromkeys(k for entry in curves for k in (entry.get("metrics") or {}))
    for log_key in others:
        if log_key in grouped or log_key in IGNORED_CURVE_KEYS:
            continue
        steps, values = _series(curves, log_key)
        if steps:
            panels.append(CurvePanel(_slug(log_key), log_key, log_key, {log_key: (steps, values)}))
    return panels


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_").lower() or "metric"


def curve_figure(panel: CurvePanel) -> Figure:
    fig, ax = _figure()
    for colour, (label, (steps, values)) in zip(SERIES_COLOURS, panel.series.items(), strict=False):
        ax.plot(steps, values, color=colour, linewidth=1.6, marker="o" if len(steps) < 30 else None,
                markersize=3, label=label)  # fmt: skip
    _title(fig, panel.title)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(panel.ylabel)
    if len(panel.series) > 1:
        ax.legend(frameon=False)
    return fig


@dataclass
class Interval:
    label: str
    value: float
    low: float | None
    high: float | None


def interval_figure(rows: Sequence[Interval], title: str, reference: float | None = 0.5) -> Figure:
    """A forest plot on a fixed 0..1 axis, so runs' pictures can be compared by eye."""
    fig, ax = _figure(height=0.9 + 0.42 * len(rows))
    positions = list(range(len(rows)))[::-1]  # first row at the top
    for y, row in zip(positions, rows, strict=True):
        if row.low is not None and row.high is not None and finite(row.low) and finite(row.high):
            ax.plot([row.low, row.high], [y, y], color=BLUE, linewidth=5, alpha=0.35, solid_capstyle="butt")
        ax.plot([row.value], [y], "o", color=BLUE, markersize=6)
        ax.annotate(f"{row.value:.3f}", (row.value, y), xytext=(0, 7), textcoords="offset points",
                    ha="center", fontsize=8, color="#374151")  # fmt: skip
    if reference is not None:
        ax.axvline(reference, color=GREY, linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, len(rows) - 0.3)
    ax.set_yticks(positions, [row.label for row in rows])
    ax.grid(False, axis="y")
    _title(fig, title)
    return fig


def histogram_figure(values: Sequence[float], title: str, xlabel: str) -> Figure:
    fig, ax = _figure()
    data = [v for v in values if finite(v)]
    ax.hist(data, bins=min(40, max(5, len(data) // 5)), color=BLUE, alpha=0.8, edgecolor="white")
    _title(fig, title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("pairs")
    return fig


def bar_figure(groups: dict[str, dict[str, int]], title: str) -> Figure:
    """Horizontal bars: one row per reason, one colour per group (e.g. training file vs held-out file)."""
    reasons = list(dict.fromkeys(reason for counts in groups.values() for reason in counts))
    fig, ax = _figure(height=1.0 + 0.45 * len(reasons) * max(1, len(groups)) ** 0.5)
    height = 0.8 / max(1, len(groups))
    for index, (colour, (group, counts)) in enumerate(zip(SERIES_COLOURS, groups.items(), strict=False)):
        ys = [len(reasons) - 1 - i + (index - (len(groups) - 1) / 2) * -height for i in range(len(reasons))]
        ax.barh(ys, [counts.get(r, 0) for r in reasons], height=height, color=colour, label=group)
    ax.set_yticks(range(len(reasons))[::-1], reasons)
    ax.grid(False, axis="y")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 2.5 rows
    ax.set_xlabel("rows skipped")
    _title(fig, title)
    if len(groups) > 1:
        ax.legend(frameon=False)
    return fig


# E9 per-direction rows (workers.evaluators.directional.per_direction): the keys this plot reads.
DIRECTION_KEYS = ("target_deg", "projected_reward_rps", "projected_reward_baseline", "win_rate_no_ties")


def _number(row: dict[str, Any], key: str) -> float:
    """A row's value as a float; NaN (a gap in the line) where it is missing or not a finite number."""
    value = row.get(key)
    return float(value) if finite(value) else math.nan


def directional_figure(rows: Sequence[dict[str, Any]], coverage: Sequence[Any] | None = None) -> Figure:
    """E9 per target angle: the judge's projected reward of RPS's pick and of the same-compute baseline's
    (top), and RPS's win rate without ties with its interval (bottom, 50 % dashed). The directions the
    training data covers are shaded: off them RPS is expected to help most."""
    rows = sorted((r for r in rows if finite(r.get("target_deg"))), key=lambda r: r["target_deg"])
    angles = [float(r["target_deg"]) for r in rows]
    fig = Figure(figsize=(6.4, 5.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    shade = coverage is not None and len(coverage) == 2 and all(finite(c) for c in coverage)
    for ax in (top, bottom):
        _style(ax)
        if shade:
            ax.axvspan(*coverage, color=GREEN, alpha=0.1, linewidth=0, label="training coverage")
    top.plot(angles, [_number(r, "projected_reward_rps") for r in rows], color=BLUE, marker="o", label="RPS")
    top.plot(angles, [_number(r, "projected_reward_baseline") for r in rows], color=ORANGE, marker="s",
             label="same-compute baseline")  # fmt: skip
    top.set_ylabel("projected reward (judge)")
    top.legend(frameon=False, fontsize=8)
    rates = [_number(r, "win_rate_no_ties") for r in rows]
    low = [rate - _number(r, "win_rate_ci_low") for r, rate in zip(rows, rates, strict=True)]
    high = [_number(r, "win_rate_ci_high") - rate for r, rate in zip(rows, rates, strict=True)]
    errors = [[0.0 if math.isnan(v) else max(v, 0.0) for v in side] for side in (low, high)]
    bottom.errorbar(angles, rates, yerr=errors, color=BLUE, marker="o", capsize=3, linewidth=1.4)
    bottom.axhline(0.5, color=GREY, linestyle="--", linewidth=1)
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("RPS win rate, no ties")
    bottom.set_xlabel("target direction (degrees)")
    _title(fig, "Directional evaluation (E9): RPS vs the same-compute baseline")
    return fig
