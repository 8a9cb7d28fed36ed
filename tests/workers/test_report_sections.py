"""Method sections (report["method_report"]) rendered generically in report.md and report.html, the E9
directional plot of RPS runs, and evaluation reports (`studio eval`) that trained nothing."""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path
from typing import Any

from workers import plots
from workers.report import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URI = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"')


def _direction(angle: float, rps: float, base: float, rate: float, covered: bool) -> dict[str, Any]:
    """One row as workers.evaluators.directional.per_direction writes it."""
    return {"target_deg": angle, "in_coverage": float(covered), "win_rate_no_ties": rate,
            "win_rate_ci_low": max(rate - 0.2, 0.0), "win_rate_ci_high": min(rate + 0.2, 1.0),
            "comparisons": 4.0, "wins": 2.0, "ties": 0.0, "losses": 2.0,
            "projected_reward_rps": rps, "projected_reward_baseline": base}  # fmt: skip


ROWS = [_direction(10.0, 0.41, 0.40, 0.5, True), _direction(45.0, 0.62, 0.35, 0.75, False),
        _direction(-30.0, 0.2, 0.3, math.nan, True)]  # fmt: skip
RPS_SECTION = {
    "title": "RPS against the same-compute baseline (E9)",
    "summary": {"rps_ood_win_rate_no_ties": 0.75, "rps_eval_prompts": 2.0},
    "per_direction": ROWS,
    "coverage_deg": [-30, 30],
    "judge": "ridge heads on the base model's hidden states | fitted on set-aside prompts",
}


def _report(**extra: Any) -> dict[str, Any]:
    return {"recipe_name": "r", "recipe_hash": "ab" * 32, "method": "rps", "base_model": "tiny",
            "confidence_level": 0.95, "metrics": {"heldout_pairs": 4.0, "reward_accuracy": 0.5},
            "data": {"train_pairs": 12}, "training": {"steps": 2}} | extra  # fmt: skip


def test_directional_figure_plots_both_sides_per_angle_with_coverage_and_a_50_line():
    fig = plots.directional_figure(ROWS, [-30, 30])
    top, bottom = fig.axes
    rps, baseline = top.get_lines()
    assert list(rps.get_xdata()) == [-30.0, 10.0, 45.0]  # sorted by angle
    assert list(rps.get_ydata()) == [0.2, 0.41, 0.62] and list(baseline.get_ydata()) == [0.3, 0.4, 0.35]
    rates = bottom.get_lines()[0].get_ydata()
    assert math.isnan(rates[0]) and list(rates[1:]) == [0.5, 0.75]
    assert any(list(line.get_ydata()) == [0.5, 0.5] for line in bottom.get_lines())  # the 50 % line
    assert len(top.patches) == 1 and len(bottom.patches) == 1  # the shaded coverage
    assert plots.png_bytes(fig).startswith(PNG_MAGIC)
    assert not plots.directional_figure(ROWS).axes[0].patches  # no coverage given: nothing shaded


def test_html_section_has_its_title_tables_text_and_the_embedded_directional_plot(tmp_path: Path):
    paths = write_report(tmp_path, _report(method_report=RPS_SECTION))
    page = paths["report_html"].read_text()
    section = page[page.index("<h2>RPS against the same-compute baseline (E9)</h2>") :]
    assert "<strong>judge:</strong> ridge heads on the base model&#x27;s hidden states | fitted" in section
    assert (
        '<th class="num">target_deg</th>' in section
        and '<th class="num">projected_reward_rps</th>' in section
    )
    assert '<td class="num">0.620</td>' in section and '<td class="num">n/a</td>' in section
    assert "-30, 30" in section  # a list of values as one line
    images = DATA_URI.findall(section)
    assert [alt for _, alt in images] == [
        "projected reward and win rate of RPS vs the baseline per direction"
    ]
    assert base64.b64decode(images[0][0]).startswith(PNG_MAGIC)
    assert (tmp_path / "plots" / "directional.png").read_bytes().startswith(PNG_MAGIC)


def test_markdown_section_renders_numbers_text_rows_and_escapes_pipes(tmp_path: Path):
    pro_like = {
        "title": "PRO weights",
        "training_pairs": 12,
        "note": "weights are inferred per prompt",
        "example_prompts_and_weights": [{"prompt": "a | b", "weights": {"help": 0.25, "brevity": 0.75}}],
    }
    text = write_report(tmp_path, _report(method_report=pro_like))["report_md"].read_text()
    section = text[text.index("## PRO weights") :]
    assert "| training_pairs | 12 |" in section
    assert "\nweights are inferred per prompt\n" in section
    assert "### example prompts and weights" in section
    assert "| prompt | weights |" in section and "| a \\| b | help 0.250, brevity 0.750 |" in section
    rps = write_report(tmp_path, _report(method_report=RPS_SECTION))["report_md"].read_text()
    assert "**judge**: ridge heads" in rps and "coverage deg: -30, 30" in rps
    assert "| 45.000 | 0.000 | 0.750 | 0.550 | 0.950 |" in rps  # per_direction row, 3 decimals


def test_an_evaluation_report_without_pair_metrics_renders_in_both_formats(tmp_path: Path):
    report = _report(
        title="Evaluation 20261127T120000Z: r",
        evaluation={"id": "20261127T120000Z", "suite": "kl"},
        metrics={"kl_k3_sequence": 0.01},
    )
    del report["training"]
    paths = write_report(tmp_path, report)
    markdown, page = paths["report_md"].read_text(), paths["report_html"].read_text()
    assert markdown.startswith("# Evaluation 20261127T120000Z: r\n") and "Flip rate" not in markdown
    assert "| suite | kl |" in markdown and "## Training" not in markdown
    assert "<h1>Evaluation 20261127T120000Z: r</h1>" in page and "evaluation of a finished run" in page
    assert "Training curves" not in page and "kl_k3_sequence" in page
    assert json.loads(paths["report_json"].read_text())["evaluation"]["suite"] == "kl"
