"""`studio annotate publish|sync|status` against the real Argilla server and a real Celery worker on the
`annotation` queue: publish --wait, two annotators answer through the REST API, sync --wait, status
shows progress, agreement and the URL; and the errors a user meets are one line, no traceback."""

from __future__ import annotations

import json
import uuid

import pytest
from typer.testing import CliRunner

from annotation.connection import annotator_password
from studio.cli import app

RECIPE = """schema_version: 1
name: cli-annotate
model: {{name_or_path: smollm2-135m-instruct}}
data: {{kind: argilla, dataset: {dataset}}}
method: {{method: dpo}}
annotation:
  items: {{kind: file, path: items.jsonl, preset: prompt_chosen_rejected}}
  criteria:
    - name: helpful
      levels: [{{value: 1, label: "no"}}, {{value: 2, label: partly}}, {{value: 3, label: "yes"}}]
  rationale: null
  annotators: [cli-ann1, cli-ann2]
  overlap: 2
"""
ITEMS = [{"prompt": f"cli prompt {i}", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(3)]


def _invoke(*args: str):
    return CliRunner().invoke(app, ["annotate", *args], catch_exceptions=False)


@pytest.fixture
def recipe(tmp_path):
    dataset = f"cli-{uuid.uuid4().hex[:8]}"
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.format(dataset=dataset))
    return path, dataset


@pytest.mark.integration
def test_publish_sync_status_through_the_worker(queued, recipe):
    path, dataset = recipe
    published = _invoke("publish", str(path), "--wait", "--json")
    assert published.exit_code == 0, published.output
    view = json.loads(published.stdout.strip().splitlines()[-1])
    assert (view["status"], view["published_records"], view["dataset"]) == (
        "published",
        3,
        f"studio/{dataset}",
    )
    dataset_id = view["url"].split("/dataset/")[1].split("/")[0]
    for name, ratings in (("cli-ann1", (3, 1)), ("cli-ann2", (3, 2))):
        _answer_all(queued.argilla, dataset_id, name, ratings)

    synced = _invoke("sync", str(path), "--wait")
    assert synced.exit_code == 0, synced.output
    assert "synced: 6 submitted responses, 3 of 3 records complete" in synced.output
    status = _invoke("status", dataset, "--json")
    view = json.loads(status.stdout)
    assert view["progress"] == {"cli-ann1": {"submitted": 3}, "cli-ann2": {"submitted": 3}}
    assert view["agreement"]["helpful"]["n_pairable"] == 6 and view["argilla_url"] == queued.argilla.url
    assert view["last_sync_at"] and view["last_sync_error"] is None
    text = _invoke("status").output
    assert f"studio/{dataset}" in text and "helpful" in text and "cli-ann2" in text and view["url"] in text


def test_errors_are_one_line_without_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_REDIS_URL", "redis://127.0.0.1:9/0")  # nothing may be enqueued anyway
    unknown = _invoke("sync", "no-such-dataset")
    assert unknown.exit_code == 1 and "knows no annotation dataset 'no-such-dataset'" in unknown.output
    assert "Traceback" not in unknown.output
    plain = tmp_path / "plain.yaml"
    plain.write_text(
        "schema_version: 1\nname: plain\nmodel: {name_or_path: smollm2-135m-instruct}\n"
        "data: {kind: file, path: x.jsonl, preset: prompt_chosen_rejected}\nmethod: {method: dpo}\n"
    )
    refused = _invoke("publish", str(plain))
    assert refused.exit_code == 1 and "has no `annotation:` block" in refused.output
    assert _invoke("status", "7").exit_code == 1


def _answer_all(argilla, dataset_id: str, username: str, ratings: tuple[int, int]) -> None:
    client = argilla.login(username, annotator_password(username))
    with argilla.owner() as owner:
        records = owner.get(f"/api/v1/datasets/{dataset_id}/records").json()["items"]
    for record in records:
        values = {"helpful_a": {"value": ratings[0]}, "helpful_b": {"value": ratings[1]}}
        values["overall"] = {"value": "a_better"}
        answered = client.post(
            f"/api/v1/records/{record['id']}/responses", json={"values": values, "status": "submitted"}
        )
        assert answered.status_code == 201, answered.text


@pytest.mark.integration
def test_a_failed_publish_ends_the_wait_with_the_reason(queued, recipe):
    path, _ = recipe
    (path.parent / "items.jsonl").unlink()
    failed = _invoke("publish", str(path), "--wait", "--timeout", "60")
    assert failed.exit_code == 1, failed.output
    assert "publishing failed:" in failed.output and "items.jsonl" in failed.output
