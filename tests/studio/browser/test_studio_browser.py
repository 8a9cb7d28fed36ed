"""The studio in a real Chromium against the real stack: log in, build a recipe in the form, see a
wrong value flagged, train the tiny Llama through Redis and a Celery worker, watch progress and curves,
reload mid-run, read the report and load the downloaded adapter with peft.

Screenshots of every step: tests/artifacts/browser/<test name>/.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from store import runs

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(420)]

LLMBAR = Path(__file__).resolve().parents[4] / "shared" / "data" / "llmbar" / "LLMBar_Natural.json"
STEPS = 40


def _data_file(folder: Path, n: int = 24) -> Path:
    """Real pairs, in columns the presets do not know, so the mapping has to be set by hand."""
    rows = json.loads(LLMBAR.read_text())[:n]
    path = folder / "my-pairs.jsonl"
    pairs = [
        {"question": r["input"], "good": r[f"output_{r['label']}"], "bad": r[f"output_{3 - r['label']}"]}
        for r in rows
    ]
    path.write_text("".join(json.dumps(pair) + "\n" for pair in pairs))
    return path


def _progress(page: Any) -> dict[str, Any]:
    box = page.locator("#run-progress")
    return {
        "step": int(box.get_attribute("data-step") or 0),
        "total": int(box.get_attribute("data-total") or 0),
        "status": box.get_attribute("data-status"),
        "text": box.inner_text(),
    }


def _curve_points(page: Any) -> int:
    text = page.locator("#curve-points").inner_text().strip()
    return int(text.split()[0]) if text and text[0].isdigit() else 0


def _tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_build_train_watch_report_download(
    studio: Any, playwright_chromium: Any, tiny_model_dir: Path, tmp_path: Path, shots: Any, ui: Any
) -> None:
    page = playwright_chromium.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    ui.login(page, studio.url)
    shots(page, "logged-in")

    # -- build a recipe from scratch in the form ----------------------------------------------------
    page.set_input_files("#data-upload input[type=file]", str(_data_file(tmp_path)))
    ui.wait_for(lambda: "question" in page.locator("#data-mapped").inner_text(), 30, "the upload's columns")
    ui.fill(page, "name", "browser-dpo")
    ui.fill(page, "model.name_or_path", str(tiny_model_dir))
    ui.fill(page, "model.lora.r", "4")
    ui.fill(page, "model.lora.alpha", "8")
    ui.field(page, "data.file.fields?").check()
    ui.fill(page, "data.file.fields.prompt", "question")
    ui.fill(page, "data.file.fields.chosen", "good")
    ui.fill(page, "data.file.fields.rejected", "bad")
    for key, value in {"max_steps": STEPS, "batch_size": 2, "max_length": 96, "max_prompt_length": 48,
                       "logging_steps": 1, "heldout_fraction": 0.25}.items():  # fmt: skip
        ui.fill(page, f"training.{key}", str(value))
    ui.fill(page, "training.precision", "fp32")

    # -- a wrong value is flagged next to its field, then fixed --------------------------------------
    ui.fill(page, "method.dpo.beta", "-1")
    beta_error = page.locator("#error-method-dpo-beta")
    ui.wait_for(lambda: "greater than 0" in beta_error.inner_text(), 20, "the β problem under its field")
    shots(page, "beta-flagged")
    ui.fill(page, "method.dpo.beta", "0.2")
    problems = page.locator("#recipe-problems")
    try:
        ui.wait_for(lambda: "valid" in problems.inner_text(), 20, "a valid recipe")
    except BaseException:
        shown = page.locator(".field-error").all_inner_texts()
        raise AssertionError(f"still invalid: {problems.inner_text()} / {shown}") from None
    yaml_text = page.locator("#recipe-yaml").inner_text()
    assert "method: dpo" in yaml_text and "beta: 0.2" in yaml_text and "prompt: question" in yaml_text
    shots(page, "recipe-valid")

    # -- start the run, watch it in the Runs tab ----------------------------------------------------
    page.locator("#start-run").click()
    ui.wait_for(lambda: "Queued run" in page.locator("#run-status").inner_text(), 30, "the run to be queued")
    run_id = page.locator("#run-status strong").inner_text().strip()
    _tab(page, "Runs")
    ui.wait_for(lambda: _progress(page)["step"] >= 1 and _progress(page)["total"] == STEPS, 180,
                "the first training steps in the progress bar")  # fmt: skip
    first_points = _curve_points(page)
    shots(page, "run-started")

    # -- reload mid-run: the run is still there and still progressing ------------------------------
    before = _progress(page)["step"]
    page.reload()
    _tab(page, "Runs")
    ui.wait_for(lambda: page.locator("#run-progress").count() and run_id in _progress(page)["text"], 30,
                "the same run after a reload")  # fmt: skip
    assert runs.get_run(run_id).status in ("running", "succeeded")
    ui.wait_for(lambda: _progress(page)["step"] > before, 120, "progress after the reload")
    shots(page, "after-reload")

    ui.wait_for(lambda: _progress(page)["status"] == "succeeded", 240, "the run to succeed")
    assert _progress(page)["step"] == STEPS
    assert _curve_points(page) > first_points, "the curves must have grown while we watched"
    shots(page, "run-succeeded")

    # -- the report -----------------------------------------------------------------------------------
    _tab(page, "Results")
    ui.wait_for(lambda: page.locator("#report-frame").count() > 0, 30, "the report frame")
    report = page.frame_locator("#report-frame").locator("body")
    ui.wait_for(lambda: "browser-dpo" in report.inner_text(), 30, "the report's text")
    shots(page, "report")

    # -- download the adapter zip and load it with peft ----------------------------------------------
    page.get_by_role("tab", name="Download").click()
    page.locator("#prepare-adapter").click()
    page.locator("#download-adapter").wait_for(state="visible", timeout=60_000)
    with page.expect_download() as download_info:
        page.locator("#download-adapter").click()
    archive = tmp_path / "adapter.zip"
    download_info.value.save_as(archive)
    shots(page, "adapter-downloaded")
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(tmp_path / "unzipped")
    adapter_dir = next((tmp_path / "unzipped").glob("*-adapter"))
    assert json.loads((adapter_dir / "studio_adapter.json").read_text())["recipe_name"] == "browser-dpo"

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(adapter_dir))
    assert model.peft_config["default"].r == 4
    page.close()
