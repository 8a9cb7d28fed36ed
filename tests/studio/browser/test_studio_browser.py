"""The studio in a real Chromium against the real stack: log in, build a recipe in the form, see a
wrong value flagged, train the tiny Llama through Redis and a Celery worker, watch progress and curves,
reload mid-run, read the report, load the downloaded adapter with peft, and ask the Playground (base and
adapter answers from the worker through Celery's Redis result backend). The Annotation tab shows what
the store holds and queues Publish / Sync on the annotation queue.

Screenshots of every step: tests/artifacts/browser/<test name>/.
"""

from __future__ import annotations

import base64
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
import redis

from store import annotations, queue, runs
from store.annotations import ANNOTATION_QUEUE
from studio import ui_saved

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(420)]

LLMBAR = Path(__file__).resolve().parents[4] / "shared" / "data" / "llmbar" / "LLMBar_Natural.json"
STEPS = 40
PROMPT = "Say hi."
ARGILLA_URL = "http://127.0.0.1:6900"  # what conftest gives the studio as STUDIO_ARGILLA_URL


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
    _build_recipe(page, tiny_model_dir, tmp_path, shots, ui)

    # -- save it in the DB (a saved recipe keeps its schema_version) ----------------------------------
    page.locator("#save-recipe").click()
    ui.wait_for(lambda: "Saved browser-dpo (schema v1)" in page.locator("#run-status").inner_text(), 30,
                "the recipe to be saved")  # fmt: skip
    assert ui_saved.names() == ["browser-dpo"] and "beta: 0.2" in ui_saved.load("browser-dpo")

    run_id = _train_and_watch(page, shots, ui)

    # -- the report -----------------------------------------------------------------------------------
    _tab(page, "Results")
    ui.wait_for(lambda: page.locator("#report-frame").count() > 0, 30, "the report frame")
    report = page.frame_locator("#report-frame").locator("body")
    ui.wait_for(lambda: "browser-dpo" in report.inner_text(), 30, "the report's text")
    shots(page, "report")

    _download_adapter(page, tiny_model_dir, tmp_path, shots)
    _playground(page, run_id, shots, ui)
    page.close()


def _build_recipe(page: Any, tiny_model_dir: Path, tmp_path: Path, shots: Any, ui: Any) -> None:
    """A recipe from scratch in the form; a wrong value is flagged next to its field, then fixed."""
    with page.expect_file_chooser() as chooser:
        page.locator("#data-upload").click()
    chooser.value.set_files(str(_data_file(tmp_path)))
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

    ui.fill(page, "method.dpo.beta", "-1")
    beta_info = page.locator("#field-method-dpo-beta .info-text")  # a problem replaces the field's help
    ui.wait_for(lambda: "greater than 0" in beta_info.inner_text(), 20, "the β problem under its field")
    assert "field-invalid" in page.locator("#field-method-dpo-beta").get_attribute("class")
    shots(page, "beta-flagged")
    ui.fill(page, "method.dpo.beta", "0.2")
    problems = page.locator("#recipe-problems")
    try:
        ui.wait_for(lambda: "valid" in problems.inner_text(), 20, "a valid recipe")
    except BaseException:
        shown = page.locator(".field-invalid .info-text").all_inner_texts()
        raise AssertionError(f"still invalid: {problems.inner_text()} / {shown}") from None
    yaml_text = page.locator("#recipe-yaml textarea").input_value()
    assert "method: dpo" in yaml_text and "beta: 0.2" in yaml_text and "prompt: question" in yaml_text
    shots(page, "recipe-valid")


def _train_and_watch(page: Any, shots: Any, ui: Any) -> str:
    """Start the run, watch it in the Runs tab, reload mid-run (it is still there and progressing)."""
    page.locator("#start-run").click()
    ui.wait_for(lambda: "Queued run" in page.locator("#run-status").inner_text(), 30, "the run to be queued")
    run_id = page.locator("#run-status strong").inner_text().strip()
    _tab(page, "Runs")
    ui.wait_for(lambda: _progress(page)["step"] >= 1 and _progress(page)["total"] == STEPS, 180,
                "the first training steps in the progress bar")  # fmt: skip
    first_points = _curve_points(page)
    shots(page, "run-started")

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
    return run_id


def _download_adapter(page: Any, tiny_model_dir: Path, tmp_path: Path, shots: Any) -> None:
    """The adapter zip from the Results tab loads with peft."""
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


def _playground(page: Any, run_id: str, shots: Any, ui: Any) -> None:
    """Base vs adapter answers from the worker: the same greedy answers the queue gives this process."""
    expected = queue.generate(run_id, PROMPT, max_new_tokens=8, timeout_s=120)
    assert isinstance(expected["base"], str) and isinstance(expected["adapter"], str)
    assert expected["candidates"] == [] and expected["selected"] is None  # a DPO run has no candidates
    _tab(page, "Playground")
    page.locator("#play-run input").click()
    page.get_by_role("option", name=re.compile(run_id)).click()
    tokens = page.locator("#play-tokens input[type=number]")
    tokens.fill("8")
    tokens.press("Enter")
    page.locator("#play-prompt textarea").fill(PROMPT)
    page.locator("#play-go").click()
    answer = page.locator("#play-adapter textarea")
    ui.wait_for(lambda: answer.input_value() == expected["adapter"] and not page.locator(".pending").count(),
                120, "the adapter's answer in the Playground")  # fmt: skip
    assert page.locator("#play-base textarea").input_value() == expected["base"]
    assert not page.locator("#play-candidates").is_visible()
    shots(page, "playground")


def test_annotation_tab_shows_the_store_and_queues_publish_and_sync(
    studio: Any, training_stack: Any, playwright_chromium: Any, shots: Any, ui: Any
) -> None:
    link = annotations.ensure_link("browser-dpo", "studio", "prefs", {"responses": 2})
    annotations.update_link(
        link.id, status="published", url=ARGILLA_URL + "/dataset/prefs", published_records=10,
        completed_records=4, progress={"alice": {"submitted": 4, "draft": 1, "discarded": 0}},
        agreement={"helpfulness": {"alpha": 0.712, "level": "ordinal", "n_pairable": 8}},
    )  # fmt: skip
    page = playwright_chromium.new_page(viewport={"width": 1400, "height": 1000})
    ui.login(page, studio.url)
    _tab(page, "Annotation")
    page.locator("#annotation-datasets").wait_for(timeout=30_000)
    assert ARGILLA_URL in page.locator("#annotation-state a").get_attribute("href")
    listing = page.locator("#annotation-datasets").inner_text()
    assert "studio/prefs" in listing and "4 / 10" in listing and "published" in listing
    assert "alice" in page.locator("#annotation-progress").inner_text()
    agreement = page.locator("#annotation-agreement").inner_text()
    assert "helpfulness" in agreement and "0.712" in agreement
    shots(page, "annotation")

    queued = redis.Redis.from_url(training_stack.redis_url)
    page.locator("#annotation-sync").click()
    ui.wait_for(lambda: "Sync of studio/prefs queued" in page.locator("#annotation-message").inner_text(),
                30, "the sync to be queued")  # fmt: skip
    assert _queued_tasks(queued) == [("studio.annotation.sync", [link.id])]

    page.locator("#annotation-recipe input, #annotation-recipe textarea").first.fill("browser-dpo")
    page.locator("#rubric-field-overlap input").fill("2")  # a rubric field: Publish sends the form's values
    page.locator("#annotation-dataset input, #annotation-dataset textarea").first.fill("prefs-2")
    page.locator("#annotation-publish").click()
    ui.wait_for(lambda: "Publishing studio/prefs-2" in page.locator("#annotation-message").inner_text(),
                30, "the publish to be queued")  # fmt: skip
    published = annotations.find_link("studio", "prefs-2")
    assert published is not None and published.spec["overlap"] == 2
    assert _queued_tasks(queued)[-1] == ("studio.annotation.publish", [published.id])
    ui.wait_for(lambda: "studio/prefs-2" in page.locator("#annotation-datasets").inner_text(), 30,
                "the new dataset in the list")  # fmt: skip
    shots(page, "annotation-published")
    page.close()


def _queued_tasks(client: Any) -> list[tuple[str, list]]:
    """(task name, args) of the messages waiting on the annotation queue (no annotation worker runs)."""
    messages = [json.loads(raw) for raw in reversed(client.lrange(ANNOTATION_QUEUE, 0, -1))]
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0]) for m in messages]
