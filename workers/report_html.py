"""The run report as one self-contained HTML page: inline CSS, plots embedded as base64 PNGs.

The page must open offline and from an e-mail attachment, so nothing is linked: no CDN, no web fonts,
no scripts. The same PNGs are also written to `plots/` for slides and issues. Every piece of text from
the report goes through `html.escape` (recipe names and data paths are user input).
"""

from __future__ import annotations

import base64
import html
import math
import statistics
from pathlib import Path
from typing import Any

from recipes.evaluation import HEADLINE_METRICS as HEADLINE
from workers import plots

# Metrics in HEADLINE that are not proportions: an interval bar on 0..1 would misrepresent them.
UNBOUNDED = {"reward_margin"}
WIN_RATE_KEYS = ("win_rate", "win_rate_ci_low", "win_rate_ci_high")
SKIP_GROUP_LABELS = {"data": "training data", "heldout_file": "held-out file"}

CSS = """
:root { --fg:#111827; --muted:#6b7280; --line:#e5e7eb; --accent:#2563eb; --bg:#ffffff; --soft:#f9fafb; }
* { box-sizing: border-box; }
body { margin:0; background:var(--soft); color:var(--fg); line-height:1.5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 32px 24px 64px; }
section { background:var(--bg); border:1px solid var(--line); border-radius:8px; padding:20px 24px;
  margin:20px 0; }
h1 { font-size:1.6rem; margin:0 0 4px; } h2 { font-size:1.15rem; margin:0 0 12px; }
h3 { font-size:1rem; margin:18px 0 8px; }
.sub, .note, caption { color:var(--muted); font-size:0.9rem; }
caption { text-align:left; padding-bottom:6px; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size:0.85em;
  background:var(--soft); padding:1px 4px; border-radius:4px; word-break:break-all; }
table { border-collapse:collapse; width:100%; font-size:0.92rem; margin:4px 0 8px; }
th, td { border-bottom:1px solid var(--line); padding:6px 10px; text-align:left; vertical-align:middle; }
th { background:var(--soft); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; white-space:nowrap; }
dl.meta { display:grid; grid-template-columns: max-content 1fr; gap:4px 16px; margin:12px 0 0; }
dl.meta dt { color:var(--muted); } dl.meta dd { margin:0; }
.chips span { display:inline-block; background:var(--soft); border:1px solid var(--line);
  border-radius:999px; padding:1px 10px; margin:2px 4px 2px 0; font-size:0.85rem; }
.track { position:relative; height:10px; min-width:160px; background:var(--soft);
  border:1px solid var(--line); border-radius:5px; }
.track .ci { position:absolute; top:0; bottom:0; background:#bfdbfe; border-radius:4px; }
.track .dot { position:absolute; top:-2px; width:4px; height:12px; margin-left:-2px;
  background:var(--accent); border-radius:2px; }
.track .half { position:absolute; left:50%; top:-3px; bottom:-3px; border-left:1px dashed #9ca3af; }
.plots { display:grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap:12px; }
figure { margin:8px 0; }
figure img { width:100%; height:auto; border:1px solid var(--line); border-radius:6px; }
"""


class PlotSink:
    """Saves each figure to `plots/<name>.png` and returns the `<figure>` that embeds it."""

    def __init__(self, plots_dir: Path) -> None:
        self.dir = plots_dir
        self.paths: list[Path] = []

    def embed(self, name: str, fig: Any, alt: str) -> str:
        data = plots.png_bytes(fig)
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{name}.png"
        path.write_bytes(data)
        self.paths.append(path)
        encoded = base64.b64encode(data).decode("ascii")
        return f'<figure><img src="data:image/png;base64,{encoded}" alt="{_e(alt)}"></figure>'


def write_html_report(out_dir: Path, report: dict[str, Any]) -> Path:
    """Write `report.html` (and `plots/*.png`) for one run's report dict; return the HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sink = PlotSink(out_dir / "plots")
    path = out_dir / "report.html"
    path.write_text(render_html(report, sink), encoding="utf-8")
    return path


def render_html(report: dict[str, Any], sink: PlotSink) -> str:
    metrics = report.get("metrics") or {}
    # An evaluation of a finished run (`studio eval`) trained nothing: no curves, no training table.
    evaluation = report.get("evaluation")
    missing = "no training statistics in this report"
    training = "" if evaluation else _plain_section("Training", report.get("training") or {}, missing)
    sections = [
        _header(report),
        _plain_section("Evaluation", evaluation, "") if evaluation else "",
        _headline(report, metrics, sink),
        "" if evaluation else _curves(report.get("curves"), sink),
        _transitions(metrics),
        _ches(report.get("ches"), sink),
        _win_rate(metrics, sink),
        _other_metrics(metrics, set(report.get("training") or {})),
        _data(report.get("data") or {}, sink),
        training,
        _method_report(report.get("method_report"), sink),
    ]
    title = _e(_title(report))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{CSS}</style></head>\n<body><main>\n"
        + "\n".join(sections)
        + "\n</main></body></html>\n"
    )


# ---- small HTML helpers -------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


class Num(str):
    """An escaped table cell holding a number: right-aligned, so digits line up."""


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _e("-" if value is None else value)
    if isinstance(value, float):
        return Num("n/a" if math.isnan(value) else f"{value:.3f}")
    return Num(value)


def _interval(low: Any, high: Any) -> str:
    return Num(f"[{_num(low)}, {_num(high)}]") if low is not None or high is not None else ""


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>\n{body}\n</section>"


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def _table(headers: list[str], rows: list[list[str]], caption: str = "") -> str:
    """Cells are already-escaped HTML; `Num` cells, and headers over columns of them, are right-aligned."""

    def cell(tag: str, content: str, right: bool) -> str:
        return f'<{tag} class="num">{content}</{tag}>' if right else f"<{tag}>{content}</{tag}>"

    def numeric(index: int) -> bool:
        column = [row[index] for row in rows if index < len(row) and row[index]]
        return bool(column) and all(isinstance(c, Num) for c in column)

    head = "".join(cell("th", _e(h), numeric(i)) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", c, isinstance(c, Num)) for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _bar(value: Any, low: Any, high: Any) -> str:
    """The interval as a light band and the value as a tick on a 0..1 track (50 % dashed)."""
    if not all(plots.finite(v) and 0 <= v <= 1 for v in (value, low, high)):
        return ""
    band = f'<span class="ci" style="left:{low * 100:.1f}%;width:{(high - low) * 100:.1f}%"></span>'
    tick = f'<span class="dot" style="left:{value * 100:.1f}%"></span>'
    label = _e(f"{value:.3f} in [{low:.3f}, {high:.3f}] on a 0 to 1 scale")
    return f'<div class="track" role="img" aria-label="{label}"><span class="half"></span>{band}{tick}</div>'


# ---- sections -------------------------------------------------------------------------------------


def _header(report: dict[str, Any]) -> str:
    level = report.get("confidence_level")
    items = [
        ("method", _e(report.get("method", "-"))),
        ("base model", f"<code>{_e(report.get('base_model', '-'))}</code>"),
        ("recipe hash", f"<code>{_e(report.get('recipe_hash', '-'))}</code>"),
        ("intervals", f"{level:.0%} confidence" if plots.finite(level) else "-"),
        ("report version", _e(report.get("report_version", "-"))),
    ]
    meta = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items)
    versions = report.get("versions") or {}
    chips = "".join(f"<span>{_e(name)} {_e(version)}</span>" for name, version in versions.items())
    chips_html = f'<dl class="meta"><dt>versions</dt><dd class="chips">{chips}</dd></dl>' if chips else ""
    kind = "evaluation of a finished run" if report.get("evaluation") else "training run"
    return (
        f"<section><h1>{_e(_title(report))}</h1>"
        f'<div class="sub">Alignment Studio {kind}</div>'
        f'<dl class="meta">{meta}</dl>{chips_html}</section>'
    )


def _title(report: dict[str, Any]) -> str:
    return report.get("title") or f"Run report: {report.get('recipe_name', 'unnamed recipe')}"


def _headline(report: dict[str, Any], metrics: dict[str, Any], sink: PlotSink) -> str:
    present = [(label, key) for label, key in HEADLINE if key in metrics]
    if not present:
        return _section("Held-out evaluation", _note("no held-out metrics in this report"))
    rows, intervals = [], []
    for label, key in present:
        value, low, high = metrics[key], metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
        bar = "" if key in UNBOUNDED else _bar(value, low, high)
        rows.append([_e(label), _num(value), _interval(low, high), bar])
        if key not in UNBOUNDED and plots.finite(value):
            intervals.append(plots.Interval(label, value, low, high))
    pairs = metrics.get("heldout_pairs")
    level = report.get("confidence_level")
    caption = (f"{int(pairs)} held-out pairs; " if plots.finite(pairs) else "") + (
        f"{level:.0%} confidence intervals" if plots.finite(level) else "intervals"
    )
    body = _table(["metric", "value", "interval", "0 … 1"], rows, caption)
    if intervals:
        fig = plots.interval_figure(intervals, "Held-out accuracies (dashed: chance, 0.5)")
        body += sink.embed("heldout_accuracies", fig, "held-out accuracies with their intervals")
    body += _note(
        "Before training every implicit reward is 0, so there is no 'before' implicit-reward accuracy. "
        "Implicit-reward accuracy compares ratios to the reference, not likelihoods: "
        "it is not ranking accuracy."
    )
    return _section("Held-out evaluation", body)


def _curves(curves: Any, sink: PlotSink) -> str:
    if not isinstance(curves, list) or not curves:
        return _section("Training curves", _note("skipped: this report has no training curves"))
    panels = plots.curve_panels([entry for entry in curves if isinstance(entry, dict)])
    if not panels:
        return _section("Training curves", _note("skipped: the training log has no numeric values"))
    figures = [sink.embed(f"curve_{panel.key}", plots.curve_figure(panel), panel.title) for panel in panels]
    note = _note(f"{len(curves)} logged points, each the mean over the training batches of its log interval.")
    return _section("Training curves", note + '<div class="plots">' + "".join(figures) + "</div>")


def _transitions(metrics: dict[str, Any]) -> str:
    keys = ("correct_to_correct", "correct_to_incorrect", "incorrect_to_correct", "incorrect_to_incorrect")
    counts = [metrics.get(f"transition_{key}") for key in keys]
    if not all(plots.finite(c) for c in counts):
        return _section("E1 transitions", _note("skipped: this report has no transition counts"))
    cc, ci, ic, ii = (int(c) for c in counts)
    rows = [
        ["base correct", Num(cc), Num(ci), Num(cc + ci)],
        ["base incorrect", Num(ic), Num(ii), Num(ic + ii)],
        ["<strong>total</strong>", Num(cc + ic), Num(ci + ii), Num(cc + ci + ic + ii)],
    ]
    table = _table(["", "adapter correct", "adapter incorrect", "total"], rows)
    flip = metrics.get("flip_rate")
    note = (
        f"Flip rate {_num(flip)}: {ic} of the {ic + ii} pairs the base model ranked wrongly are ranked "
        f"right with the adapter; {ci} pairs went the other way."
    )
    return _section("E1 ranking transitions (base → adapter)", table + _note(note))


def _ches(ches: Any, sink: PlotSink) -> str:
    values = ches.get("ln_ches") if isinstance(ches, dict) else None
    finite = [v for v in values if plots.finite(v)] if isinstance(values, list) else []
    if not finite:
        return _section("CHES (E5)", _note("skipped: CHES scores were not computed for this run"))
    fig = plots.histogram_figure(finite, "Length-normalised CHES (E5), one value per pair", "LN-CHES")
    summary = _note(
        f"{len(finite)} pairs, median {statistics.median(finite):.3f}, max {max(finite):.3f}. "
        "Higher means the chosen and rejected responses look alike to the base model, "
        "which predicts likelihood displacement."
    )
    return _section("CHES (E5)", summary + sink.embed("ches_histogram", fig, "LN-CHES histogram"))


def _win_rate(metrics: dict[str, Any], sink: PlotSink) -> str:
    value, low, high = (metrics.get(key) for key in WIN_RATE_KEYS)
    if not plots.finite(value):
        return _section("Win rate (E6)", _note("skipped: no win rate was measured for this run"))
    row = [["win rate vs base", _num(value), _interval(low, high), _bar(value, low, high)]]
    table = _table(["metric", "value", "interval", "0 … 1"], row)
    fig = plots.interval_figure([plots.Interval("win rate", value, low, high)], "Win rate vs the base model")
    return _section("Win rate (E6)", table + sink.embed("win_rate", fig, "win rate with its interval"))


def _shown_elsewhere(key: str) -> bool:
    headline = {k for _, k in HEADLINE} | {"win_rate", "flip_rate", "heldout_pairs"}
    base = key.removesuffix("_ci_low").removesuffix("_ci_high")
    return base in headline or key.startswith("transition_")


def _other_metrics(metrics: dict[str, Any], in_training: set[str]) -> str:
    """Every metric no other section shows (throughput and loss are in the training table)."""
    rows = []
    for key, value in metrics.items():
        if _shown_elsewhere(key) or key in in_training or key.endswith(("_ci_low", "_ci_high")):
            continue
        interval = _interval(metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high"))
        rows.append([_e(key), _num(value), interval])
    if not rows:
        return ""
    if not any(row[2] for row in rows):  # no intervals at all: no empty column
        return _section("Other metrics", _table(["metric", "value"], [row[:2] for row in rows]))
    return _section("Other metrics", _table(["metric", "value", "interval"], rows))


def _scalar_rows(items: dict[str, Any]) -> list[list[str]]:
    """Humanised key | value, for the flat entries only (nested dicts get their own table)."""
    return [[_e(k.replace("_", " ")), _num(v)] for k, v in items.items() if not isinstance(v, dict | list)]


def _plain_section(title: str, items: dict[str, Any], missing: str) -> str:
    rows = _scalar_rows(items)
    return _section(title, _table(["item", "value"], rows) if rows else _note(f"skipped: {missing}"))


def _skip_counts(data: dict[str, Any]) -> dict[str, dict[str, int]]:
    """{group label: {reason: count > 0}} from every `<group>_skipped` dict; empty groups left out."""
    groups = {}
    for key, value in data.items():
        if not (key.endswith("_skipped") and isinstance(value, dict)):
            continue
        group = key.removesuffix("_skipped")
        counts = {str(reason): n for reason, n in value.items() if plots.finite(n) and n > 0}
        if counts:
            groups[SKIP_GROUP_LABELS.get(group, group.replace("_", " "))] = counts
    return groups


def _data(data: dict[str, Any], sink: PlotSink) -> str:
    if not data:
        return _section("Data", _note("skipped: no data statistics in this report"))
    body = _table(["item", "value"], _scalar_rows(data)) + "<h3>Skipped rows</h3>"
    counts = _skip_counts(data)
    if counts:
        fig = plots.bar_figure(counts, "Rows skipped, by reason")
        body += sink.embed("skipped_rows", fig, "rows skipped by reason")
    else:
        body += _note("No rows were skipped.")
    for key, value in data.items():
        if isinstance(value, dict) and not key.endswith("_skipped"):
            body += f"<h3>{_e(key.replace('_', ' ').capitalize())}</h3>"
            body += _table(["item", "value"], _scalar_rows(value))
    return _section("Data", body)


def _cell(value: Any) -> str:
    """A table cell: numbers as everywhere else in the report; a nested dict or list inline."""
    if isinstance(value, dict):  # _num escapes what it returns: escape the keys only
        return ", ".join(f"{_e(k)} {_num(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_num(v) for v in value)
    return _num(value)


def _method_report(section: Any, sink: PlotSink) -> str:
    """A runner's own section (report["method_report"]), generically: a title, its numbers as one
    table, then in order a line per text, a table per dict or list of rows and a line per list of
    values; E9's per-direction rows (RPS) also as a plot."""
    if not isinstance(section, dict) or not section:
        return ""
    items = {k: v for k, v in section.items() if k != "title"}
    rows = [
        [_e(k.replace("_", " ")), _num(v)] for k, v in items.items() if not isinstance(v, dict | list | str)
    ]
    body = _table(["item", "value"], rows) if rows else ""
    for key, value in items.items():
        label = key.replace("_", " ")
        heading = f"<h3>{_e(label.capitalize())}</h3>"
        if isinstance(value, str):
            lead = "" if key == "note" else f"<strong>{_e(label)}:</strong> "
            body += f"<p>{lead}{_e(value)}</p>"
        elif isinstance(value, dict) and value:
            body += heading + _table(["item", "value"], [[_e(k), _cell(v)] for k, v in value.items()])
        elif isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
            columns = list(dict.fromkeys(k for row in value for k in row))
            body += heading + _table(columns, [[_cell(row.get(c, "")) for c in columns] for row in value])
            body += _directions_plot(key, value, section.get("coverage_deg"), sink)
        elif isinstance(value, list):
            body += heading + f'<p class="note">{_cell(value)}</p>'
    return _section(str(section.get("title", "Method report")), body)


def _directions_plot(key: str, rows: list[dict[str, Any]], coverage: Any, sink: PlotSink) -> str:
    if key != "per_direction" or not all(k in rows[0] for k in plots.DIRECTION_KEYS):
        return ""
    fig = plots.directional_figure(rows, coverage if isinstance(coverage, list) else None)
    return sink.embed(
        "directional", fig, "projected reward and win rate of RPS vs the baseline per direction"
    )
