"""Training curves as one small HTML fragment of inline SVG panels, drawn here from the run's events.

One payload for all panels instead of a plot component per panel: the browser only lays out a few
polylines (no charting library to load and run), which keeps the Runs tab well under a second even on
a busy machine (issue 6). Long runs are thinned to at most `MAX_POINTS` points per series.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

Point = tuple[int, float | None, dict[str, Any]]  # (step, loss, metrics), as ui_runs.curve_points gives

# Panel title → the series drawn in it: "loss" is the event's own column, the rest are metric keys.
PANELS: dict[str, tuple[str, ...]] = {
    "loss": ("loss",),
    "reward accuracy": ("rewards/accuracy",),
    "reward margin": ("rewards/margin",),
    "log-prob (chosen vs rejected)": ("logps/chosen", "logps/rejected"),
}
COLORS = ("#2563eb", "#dc2626")
MAX_POINTS = 400
WIDTH, HEIGHT, PAD = 320, 150, 34


def series(points: list[Point]) -> dict[str, list[tuple[int, float]]]:
    """{series name: [(step, value), ...]} for every series of PANELS that has finite values."""
    out: dict[str, list[tuple[int, float]]] = {}
    for step, loss, metrics in points:
        for name in (key for keys in PANELS.values() for key in keys):
            value = loss if name == "loss" else metrics.get(name)
            if _finite(value):
                out.setdefault(name, []).append((int(step), float(value)))
    return out


def curves_html(points: list[Point]) -> str:
    """All panels side by side; a panel without data says so instead of drawing empty axes."""
    data = series(points)
    panels = "".join(_panel(title, keys, data) for title, keys in PANELS.items())
    return f"<div id='curves' style='display:flex;flex-wrap:wrap;gap:12px'>{panels}</div>"


def _panel(title: str, keys: tuple[str, ...], data: dict[str, list[tuple[int, float]]]) -> str:
    lines = {key: _thin(data[key]) for key in keys if data.get(key)}
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    head = f"<div style='font-weight:600;font-size:0.9em'>{html.escape(title)}</div>"
    if not lines:
        return _box(slug, 0, head + "<div style='color:#6b7280'>no data yet</div>")
    every = [p for values in lines.values() for p in values]
    x0, x1 = min(p[0] for p in every), max(p[0] for p in every)
    y0, y1 = min(p[1] for p in every), max(p[1] for p in every)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1e-9)
    plot_w, plot_h = WIDTH - PAD - 6, HEIGHT - 2 * 14

    def xy(step: int, value: float) -> str:
        x, y = PAD + (step - x0) / (x1 - x0) * plot_w, 6 + (1 - (value - y0) / (y1 - y0)) * plot_h
        return f"{x:.1f},{y:.1f}"

    polylines = "".join(
        f"<polyline fill='none' stroke='{COLORS[i % len(COLORS)]}' stroke-width='1.5' "
        f"points='{' '.join(xy(s, v) for s, v in values)}'><title>{html.escape(key)}</title></polyline>"
        for i, (key, values) in enumerate(lines.items())
    )
    axes = (
        f"<text x='{PAD - 3}' y='12' text-anchor='end'>{_num(y1)}</text>"
        f"<text x='{PAD - 3}' y='{6 + plot_h}' text-anchor='end'>{_num(y0)}</text>"
        f"<text x='{PAD}' y='{HEIGHT - 2}'>step {x0}</text>"
        f"<text x='{WIDTH - 6}' y='{HEIGHT - 2}' text-anchor='end'>{x1}</text>"
        f"<rect x='{PAD}' y='6' width='{plot_w}' height='{plot_h:.0f}' fill='none' stroke='#d1d5db'/>"
    )
    legend = " ".join(
        f"<span style='color:{COLORS[i % len(COLORS)]}'>━ {html.escape(key)}</span>"
        for i, key in enumerate(lines)
    )
    svg = (
        f"<svg width='{WIDTH}' height='{HEIGHT}' font-size='10' fill='#4b5563' role='img' "
        f"aria-label='{html.escape(title)}'>{axes}{polylines}</svg>"
    )
    count = max(len(values) for values in lines.values())
    return _box(slug, count, f"{head}{svg}<div style='font-size:0.8em'>{legend}</div>")


def _box(slug: str, count: int, body: str) -> str:
    return f"<div id='curve-{slug}' data-points='{count}'>{body}</div>"


def _thin(values: list[tuple[int, float]]) -> list[tuple[int, float]]:
    if len(values) <= MAX_POINTS:
        return values
    stride = math.ceil(len(values) / MAX_POINTS)
    return values[::stride] + ([values[-1]] if (len(values) - 1) % stride else [])


def _num(value: float) -> str:
    return f"{value:.3g}"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
