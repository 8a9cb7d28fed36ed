"""Argilla webhooks → sync: the receiver's checks on signed deliveries (no server needed), and the real
chain — a response submitted through the REST API as the web UI does → Argilla's rq worker delivers
`response.created` → `studio.webhooks` verifies it and queues a sync → the Celery worker syncs → the
response is in the store; with `retrain_after`, a new training run is queued from the last one."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from annotation import service
from annotation.connection import annotator_password
from recipes.annotation_spec import AnnotationSpec
from recipes.preference_data import PreferenceRecord
from store import annotations, runs
from store.tables import RunStatus
from studio.webhooks import handle_event

SECRET = base64.b64encode(b"a test secret of 32 bytes, exact").decode()


def _signed(payload: dict, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload)
    now = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_test",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign("msg_test", now, body),
    }
    return body.encode(), headers


def _event(kind: str, workspace: str, dataset: str, status: str = "submitted") -> dict:
    dataset_block = {"id": str(uuid.uuid4()), "name": dataset, "workspace": {"name": workspace}}
    data = {"status": status, "record": {"dataset": dataset_block}} if kind.startswith("response.") else {
        "status": "completed", "dataset": dataset_block}  # fmt: skip
    return {"type": kind, "version": 1, "timestamp": "2026-11-28T00:00:00.000000Z", "data": data}


def test_a_forged_or_unsigned_delivery_is_refused():
    body, headers = _signed(
        _event("response.created", "studio", "x"), secret=base64.b64encode(b"k" * 32).decode()
    )
    assert handle_event(body, headers, SECRET).status == 401
    assert handle_event(body, {}, SECRET).status == 401


def test_drafts_and_foreign_datasets_are_acknowledged_but_not_synced():
    outcome = handle_event(*_signed(_event("response.updated", "studio", "x", status="draft")), SECRET)
    assert (outcome.status, "draft" in outcome.body["ignored"]) == (200, True)
    outcome = handle_event(*_signed(_event("record.completed", "elsewhere", "unknown")), SECRET)
    assert (outcome.status, "not the studio's" in outcome.body["ignored"]) == (200, True)


SPEC = AnnotationSpec(annotators=["wanda"], overlap=1, rationale=None, retrain_after=1)
ITEMS = [
    (f"w-{i}", PreferenceRecord(prompt=f"webhook prompt {i}", responses=[f"x{i}", f"y{i}"])) for i in range(2)
]


@pytest.mark.integration
def test_a_submitted_response_reaches_the_store_through_the_webhook(queued, webhook_receiver, wait):
    name = f"webhook-{uuid.uuid4().hex[:8]}"
    link = service.link_for("webhook-recipe", "studio", name, SPEC)
    published = service.publish(link.id, ITEMS)
    template = _earlier_run(name)  # what `retrain_after` repeats
    client = queued.argilla.login("wanda", annotator_password("wanda"))
    with queued.argilla.owner() as owner:
        records = owner.get(f"/api/v1/datasets/{published.dataset_id}/records").json()["items"]
    body = {"values": {"overall": {"value": "a_better"}}, "status": "submitted"}
    answered = client.post(f"/api/v1/records/{records[0]['id']}/responses", json=body)
    assert answered.status_code == 201, answered.text

    synced = wait(lambda: annotations.responses_of(link.id), 90, "the webhook-triggered sync")
    assert [(r.username, r.values) for r in synced] == [("wanda", {"overall": "a_better"})]
    retrained = wait(lambda: _new_runs(template), 30, "the retrain_after run")
    assert retrained[0].status == RunStatus.QUEUED and retrained[0].recipe_yaml == template.recipe_yaml
    assert annotations.get_link(link.id).trained_at_completed == 1


def _earlier_run(dataset: str):
    recipe_yaml = (
        f"schema_version: 1\nname: webhook-recipe\ndata:\n  kind: argilla\n  dataset: {dataset}\n"
        "  workspace: studio\n"
    )
    run = runs.create_run(recipe_yaml, "webhook-recipe", "0" * 64)
    runs.mark_failed(run.id, "an earlier run (test)")
    return run


def _new_runs(template):
    return [run for run in runs.list_runs() if run.recipe_name == "webhook-recipe" and run.id != template.id]


@pytest.mark.integration
def test_registration_is_one_webhook_per_studio_repointed_and_disabled(argilla):
    owner = f"test studio {uuid.uuid4().hex[:8]}"
    first = service.register_webhook("http://127.0.0.1:1/argilla/webhook", owner)
    again = service.register_webhook("http://127.0.0.1:2/argilla/webhook", owner)
    with argilla.owner() as client:
        mine = [h for h in client.get("/api/v1/webhooks").json()["items"] if h["description"] == owner]
    assert first == again and len(mine) == 1 and mine[0]["url"] == "http://127.0.0.1:2/argilla/webhook"
    assert sorted(mine[0]["events"]) == sorted(service.WEBHOOK_EVENTS) and mine[0]["enabled"]
    service.disable_webhook(owner)
    with argilla.owner() as client:
        hook = client.get("/api/v1/webhooks").json()["items"]
    assert [h["enabled"] for h in hook if h["description"] == owner] == [False]
