"""An annotator in Argilla's own web UI (Debian's Chromium driven by Playwright): sign in, rate the record
the queue shows, submit — and that response reaches the studio's store through the webhook-triggered
sync (real argilla-server, its rq worker, `studio.webhooks`, Redis, a Celery worker). Screenshots go to
tests/artifacts/browser/argilla-*.png. Without Chromium or Playwright this skips locally and FAILS under
CI=1 (`make system-deps install-dev` installs both).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from annotation import service
from annotation.connection import annotator_password
from recipes.annotation_spec import AnnotationSpec
from recipes.preference_data import PreferenceRecord
from store import annotations

pytestmark = pytest.mark.integration
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"
ANNOTATOR = "browser-ann"
LEVELS = [{"value": v, "label": label} for v, label in ((1, "wrong"), (2, "partly"), (3, "right"))]
SPEC = AnnotationSpec(criteria=[{"name": "correct", "levels": LEVELS}], annotators=[ANNOTATOR], overlap=1)
ITEMS = [
    (
        f"b-{i}",
        PreferenceRecord(
            prompt=f"browser prompt {i}: what is {i} + {i}?", responses=[f"{2 * i}", f"{2 * i + 1}"]
        ),
    )
    for i in range(3)
]
RATIONALE = "A adds correctly; B is off by one."


def test_a_response_submitted_in_argillas_ui_reaches_the_store(
    queued, webhook_receiver, playwright_chromium, wait
):
    link = service.link_for("browser", "studio", f"browser-{uuid.uuid4().hex[:8]}", SPEC)
    published = service.publish(link.id, ITEMS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = playwright_chromium.new_page(viewport={"width": 1400, "height": 1000})
    server_errors: list[str] = []
    page.on("response", lambda r: server_errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)

    page.goto(f"{queued.argilla.url}/sign-in")
    page.get_by_label("Username").fill(ANNOTATOR)
    page.get_by_label("Password").fill(annotator_password(ANNOTATOR))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "sign-in" not in url, timeout=30_000)
    page.goto(published.url)
    shown = page.get_by_text(re.compile(r"browser prompt \d")).first
    shown.wait_for(timeout=30_000)  # the queue comes from the studio's SQL search engine
    prompt = shown.inner_text().strip()
    page.locator('label[for="correct_a_3"]').click()
    page.locator('label[for="correct_b_1"]').click()
    page.locator('label[for="overall_a_better"]').click()
    page.locator('[contenteditable="true"]').first.fill(RATIONALE)
    page.screenshot(path=ARTIFACTS / "argilla-1-rated.png")
    with page.expect_response(lambda r: r.url.endswith("/responses") and r.request.method == "POST") as sent:
        page.get_by_role("button", name="Submit").click()
    assert sent.value.status == 201, sent.value.text()
    page.get_by_text("33.33%").wait_for()  # the UI's own progress: 1 of 3 records submitted
    page.screenshot(path=ARTIFACTS / "argilla-2-submitted.png")

    synced = wait(lambda: annotations.responses_of(link.id), 90, "the webhook-triggered sync")
    assert [(r.username, r.values) for r in synced] == [
        (ANNOTATOR, {"correct_a": 3, "correct_b": 1, "overall": "a_better", "rationale": RATIONALE})
    ]
    assert annotations.record_fields(link.id)[synced[0].record_id]["prompt"] == prompt
    assert server_errors == []  # every call the UI made was answered (incl. our search engine's)
