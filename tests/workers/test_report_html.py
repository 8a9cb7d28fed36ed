"""The HTML run report: one self-contained page, real PNG plots, optional sections skipped cleanly."""

from __future__ import annotations

import base64
import copy
import math
import re
import struct
from pathlib import Path
from typing import Any

from workers import plots
from workers.report_html import write_html_report

# report.json of a real run (demo-dpo on SmolLM2-135M, 55 steps on CPU), as the pipeline wrote it.
REAL_REPORT: dict[str, Any] = {
    "report_version": 1,
    "recipe_name": "demo-dpo",
    "recipe_hash": "e811ef6a1d0fa57d583816aa94874b13502de37f5e564c98342a63b6d9927769",
    "method": "dpo",
    "base_model": "smollm2-135m-instruct",
    "confidence_level": 0.95,
    "metrics": {
        "heldout_pairs": 240.0,
        "ranking_accuracy_before": 0.30416666666666664,
        "ranking_accuracy_before_ci_low": 0.24942599916230834,
        "ranking_accuracy_before_ci_high": 0.3650776194814688,
        "ranking_accuracy_after": 0.31666666666666665,
        "ranking_accuracy_after_ci_low": 0.2610970796949443,
        "ranking_accuracy_after_ci_high": 0.37801269095029394,
        "ranking_accuracy_ln_before": 0.3958333333333333,
        "ranking_accuracy_ln_before_ci_low": 0.33607215168275645,
        "ranking_accuracy_ln_before_ci_high": 0.45887658163840156,
        "ranking_accuracy_ln_after": 0.4125,
        "ranking_accuracy_ln_after_ci_low": 0.3520742269603905,
        "ranking_accuracy_ln_after_ci_high": 0.47568270902938226,
        "transition_correct_to_correct": 69.0,
        "transition_correct_to_incorrect": 4.0,
        "transition_incorrect_to_correct": 7.0,
        "transition_incorrect_to_incorrect": 160.0,
        "flip_rate": 0.041916167664670656,
        "reward_accuracy": 0.6625,
        "reward_accuracy_ci_low": 0.6005343342522622,
        "reward_accuracy_ci_high": 0.7193456417667312,
        "reward_margin": 0.18332855184872962,
        "reward_margin_ci_low": 0.12049084146817522,
        "reward_margin_ci_high": 0.2482602385679881,
        "reward_chosen": -0.15680224895477288,
        "reward_rejected": -0.34013080080350216,
        "longer_wins_baseline": 0.6,
        "longer_wins_baseline_ci_low": 0.5369150750381051,
        "longer_wins_baseline_ci_high": 0.659934140973583,
        "tokens_per_second": 233.0187562973268,
        "pairs_per_second": 1.5514747546246677,
        "train_seconds": 282.3120380749997,
        "final_train_loss": 0.5707147034731779,
    },
    "data": {
        "data_rows": 438,
        "data_pairs": 438,
        "data_ties": 0,
        "data_skipped": {},
        "heldout_file_rows": 240,
        "heldout_file_pairs": 240,
        "heldout_file_ties": 0,
        "heldout_file_skipped": {},
        "split": "fixed held-out file",
        "train_pairs": 438,
        "heldout_pairs": 240,
        "leakage": {
            "heldout_pairs": 240,
            "shared_prompt": 0,
            "shared_response": 0,
            "leaky": 0,
            "leak_free": 240,
        },
        "dropped_identical_after_truncation": 0,
    },
    "training": {
        "train_seconds": 282.3120380749997,
        "steps": 55,
        "epochs": 1.0,
        "final_train_loss": 0.5707147034731779,
        "precision": "bf16",
        "pairs_per_second": 1.5514747546246677,
        "tokens_per_second": 233.0187562973268,
        "reference_seconds": 76.69663645799983,
        "evaluation_seconds": 55.3846509330001,
        "padding_share": 0.01794404801003191,
        "train_pairs": 438,
    },
    "versions": {
        "alignment-studio": "0.1.0",
        "torch": "2.13.0+cpu",
        "transformers": "5.24.0",
        "peft": "0.21.2",
        "accelerate": "1.15.0",
        "python": "3.11.7",
    },
}

DATA_URI = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _curves(steps: list[int]) -> list[dict[str, Any]]:
    """A made-up training log shaped like the trainer callback's (`workers.trainer`)."""
    return [
        {
            "step": step,
            "loss": 0.69 - 0.01 * i,
            "metrics": {
                "rewards/accuracy": 0.5 + 0.02 * i,
                "rewards/margin": 0.01 * i,
                "rewards/chosen": -0.01 * i,
                "rewards/rejected": -0.03 * i,
                "logps/chosen": -180.0 - i,
                "logps/rejected": -190.0 - 2 * i,
                "grad_norm": 1.0 + i,
                "epoch": i / 10,
            },
        }
        for i, step in enumerate(steps)
    ]


def _report(**extra: Any) -> dict[str, Any]:
    return {**copy.deepcopy(REAL_REPORT), **extra}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"  # the first chunk; width and height follow as big-endian uint32
    return struct.unpack(">II", data[16:24])


def test_page_is_self_contained_with_real_pngs(tmp_path: Path) -> None:
    path = write_html_report(tmp_path, _report(curves=_curves([5, 10, 15, 20])))
    page = path.read_text(encoding="utf-8")
    assert path == tmp_path / "report.html"
    assert "http://" not in page and "https://" not in page  # no CDN, no web font, no link at all
    assert "<script" not in page and "<link" not in page
    embedded = DATA_URI.findall(page)
    saved = sorted((tmp_path / "plots").glob("*.png"))
    assert len(embedded) == len(saved) >= 6  # headline intervals + 5 curve panels + grad_norm
    for encoded in embedded:
        width, height = _png_size(base64.b64decode(encoded))
        assert width > 100 and height > 50
    assert {p.read_bytes() for p in saved} == {base64.b64decode(e) for e in embedded}


def test_headline_transitions_and_header_show_this_run(tmp_path: Path) -> None:
    page = write_html_report(tmp_path, _report()).read_text(encoding="utf-8")
    assert "Run report: demo-dpo" in page and REAL_REPORT["recipe_hash"] in page
    assert "torch 2.13.0+cpu" in page and "smollm2-135m-instruct" in page
    assert '<td class="num">0.317</td><td class="num">[0.261, 0.378]</td>' in page  # E1 after, 3 decimals
    assert "240 held-out pairs; 95% confidence intervals" in page
    assert 'class="ci" style="left:26.1%;width:11.7%"' in page  # the interval as a bar on 0..1
    assert '<td>base incorrect</td><td class="num">7</td><td class="num">160</td>' in page
    assert "Flip rate 0.042: 7 of the 167 pairs" in page
    assert "<h3>Leakage</h3>" in page and "No rows were skipped." in page


def test_curves_plot_the_given_steps() -> None:
    steps = [3, 7, 12, 30]
    curves = _curves(steps)
    curves.insert(2, {"step": 9, "loss": math.nan, "metrics": {}})  # a diverged log point is left out
    panels = {panel.key: panel for panel in plots.curve_panels(curves)}
    assert list(panels) == ["loss", "reward_accuracy", "reward_margin", "rewards", "logps", "grad_norm"]
    assert panels["loss"].series["loss"][0] == steps
    assert set(panels["logps"].series) == {"chosen", "rejected"}
    figure = plots.curve_figure(panels["logps"])
    lines = figure.axes[0].get_lines()
    assert [list(line.get_xdata()) for line in lines] == [steps, steps]
    assert list(lines[1].get_ydata()) == [-190.0, -192.0, -194.0, -196.0]


def test_optional_sections_are_skipped_with_a_note(tmp_path: Path) -> None:
    page = write_html_report(tmp_path, _report()).read_text(encoding="utf-8")
    for note in (
        "skipped: this report has no training curves",
        "skipped: CHES scores were not computed for this run",
        "skipped: no win rate was measured for this run",
    ):
        assert note in page
    assert [p.name for p in (tmp_path / "plots").glob("*.png")] == ["heldout_accuracies.png"]


def test_a_nearly_empty_report_still_renders(tmp_path: Path) -> None:
    page = write_html_report(tmp_path, {"recipe_name": "bare", "curves": [], "ches": {}}).read_text()
    assert "Run report: bare" in page and "no held-out metrics in this report" in page
    assert "skipped: no data statistics" in page and not (tmp_path / "plots").exists()


def test_optional_sections_render_when_present(tmp_path: Path) -> None:
    metrics = {**REAL_REPORT["metrics"], "win_rate": 0.56, "win_rate_ci_low": 0.49, "win_rate_ci_high": 0.62}
    data = {
        **REAL_REPORT["data"],
        "data_skipped": {"empty_response": 3},
        "heldout_file_skipped": {"bad_json": 1},
    }
    ches = {"ln_ches": [-2.0 + 0.01 * i for i in range(200)] + [math.nan]}
    page = write_html_report(tmp_path, _report(metrics=metrics, data=data, ches=ches)).read_text()
    names = {p.name for p in (tmp_path / "plots").glob("*.png")}
    assert {"ches_histogram.png", "win_rate.png", "skipped_rows.png"} <= names
    assert "200 pairs, median -1.005" in page and '<td class="num">0.560</td>' in page
    assert "skipped:" not in page.replace("skipped: this report has no training curves", "")


def test_all_text_is_escaped(tmp_path: Path) -> None:
    hostile = "<script>alert('x')</script>"
    data = {**REAL_REPORT["data"], "split": hostile, "data_skipped": {hostile: 2}}
    page = write_html_report(
        tmp_path, _report(recipe_name=hostile, base_model=hostile, data=data)
    ).read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
