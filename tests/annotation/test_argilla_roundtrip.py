"""Recipe rubric → real Argilla dataset → two annotators through the REST API as the web UI does, a third
through the SDK → sync → exactly the expected PreferenceRecords, twice without duplicates → agreement
equal to the `krippendorff` reference. Also the annotator queue answered by our SQL search engine."""

from __future__ import annotations

import uuid

import argilla as rg
import pytest

from annotation import service
from annotation.connection import annotator_password
from recipes.annotation_spec import AgreementGate, AnnotationSpec
from recipes.preference_data import PreferenceRecord
from store import annotations

pytestmark = pytest.mark.integration

LEVELS5 = [
    {"value": v, "label": label} for v, label in enumerate(["wrong", "poor", "ok", "good", "exact"], 1)
]
LEVELS3 = [{"value": v, "label": label} for v, label in enumerate(["none", "some", "all"])]
SPEC = AnnotationSpec(
    criteria=[{"name": "correctness", "levels": LEVELS5}, {"name": "coverage", "levels": LEVELS3}],
    overlap=3,
    annotators=["alice", "bob", "carol"],
    gate=AgreementGate(min_alpha=0.5, criteria=["correctness"]),
)
ITEMS = [
    (f"item-{i}", PreferenceRecord(prompt=f"prompt {i}", responses=[f"A{i}", f"B{i}"])) for i in range(4)
]
# item -> annotator -> (correctness a, correctness b, coverage a, coverage b, overall, rationale)
ANSWERS = {
    "item-0": {"alice": (5, 2, 2, 1, "a_much_better", "A is exact"), "bob": (4, 2, 2, 0, "a_better", ""),
               "carol": (5, 1, 2, 1, "a_better", "B misses the point")},
    "item-1": {"alice": (2, 4, 0, 2, "b_better", "B covers all"), "bob": (1, 4, 1, 2, "b_much_better", "B"),
               "carol": (2, 5, 1, 2, "b_better", "")},
    "item-2": {"alice": (3, 3, 1, 1, "tie", "same"), "bob": (3, 4, 1, 1, "b_slightly_better", "B a bit"),
               "carol": (3, 3, 1, 2, "tie", "")},
    "item-3": {"alice": (4, 1, 2, 0, "a_better", "A"), "bob": (5, 1, 2, 0, "a_much_better", "A clearly")},
}  # fmt: skip
QUEUE = {
    "query": {},
    "filters": {
        "and": [
            {"type": "terms", "scope": {"entity": "response", "property": "status"}, "values": ["pending"]},
            {"type": "terms", "scope": {"entity": "record", "property": "status"}, "values": ["pending"]},
        ]
    },
}  # fmt: skip  -- exactly the body the web UI sends for its "Pending" queue


def _values(answer: tuple) -> dict:
    ca, cb, va, vb, overall, rationale = answer
    values = {
        "correctness_a": ca,
        "correctness_b": cb,
        "coverage_a": va,
        "coverage_b": vb,
        "overall": overall,
    }
    return values | ({"rationale": rationale} if rationale else {})


def _queue(client, dataset_id: str) -> set[str]:
    found = client.post(f"/api/v1/me/datasets/{dataset_id}/records/search", json=QUEUE, params={"limit": 50})
    found.raise_for_status()
    return {item["record"]["external_id"] for item in found.json()["items"]}


@pytest.fixture
def published(argilla):
    name = f"roundtrip-{uuid.uuid4().hex[:8]}"
    link = service.link_for("roundtrip", "studio", name, SPEC)
    result = service.publish(link.id, ITEMS)
    with argilla.owner() as owner:
        records = owner.get(f"/api/v1/datasets/{result.dataset_id}/records", params={"limit": 50}).json()
    ids = {record["external_id"]: record["id"] for record in records["items"]}
    return link.id, result, ids


def test_layout_questions_and_distribution(argilla, published):
    _, result, ids = published
    assert result.records == 4 and sorted(ids) == [item for item, _ in ITEMS]
    with argilla.owner() as owner:
        questions = owner.get(f"/api/v1/datasets/{result.dataset_id}/questions").json()["items"]
        dataset = owner.get(f"/api/v1/datasets/{result.dataset_id}").json()
    assert [q["name"] for q in questions] == SPEC.question_names()
    rating = next(q for q in questions if q["name"] == "coverage_b")
    assert [option["value"] for option in rating["settings"]["options"]] == [0, 1, 2]
    overall = next(q for q in questions if q["name"] == "overall")
    assert overall["settings"]["type"] == "label_selection" and len(overall["settings"]["options"]) == 7
    assert dataset["distribution"] == {"strategy": "overlap", "min_submitted": 3}


def test_rest_and_sdk_responses_sync_to_exact_records_twice(argilla, published):
    link_id, result, ids = published
    ui = {name: argilla.login(name, annotator_password(name)) for name in ("alice", "bob")}
    assert _queue(ui["alice"], result.dataset_id) == set(ids)
    for item, by_user in ANSWERS.items():
        for name in ("alice", "bob"):
            posted = ui[name].post(
                f"/api/v1/records/{ids[item]}/responses",
                json={
                    "values": {q: {"value": v} for q, v in _values(by_user[name]).items()},
                    "status": "submitted",
                },
            )
            assert posted.status_code == 201, posted.text
    assert _queue(ui["alice"], result.dataset_id) == set()  # answered everything
    _log_through_sdk(argilla, result.dataset_id, ids, "carol")
    # item-3 has 2 of 3 responses: still pending for anyone who has not answered it.
    carol = argilla.login("carol", annotator_password("carol"))
    assert _queue(carol, result.dataset_id) == {"item-3"}
    progress = carol.get(f"/api/v1/me/datasets/{result.dataset_id}/metrics").json()
    assert progress["responses"] == {"total": 4, "submitted": 3, "discarded": 0, "draft": 0, "pending": 1}

    first = service.sync(link_id)
    assert (first.added, first.removed) == (11, 0)
    assert sorted(_dump(service.training_records(link_id))) == sorted(_dump(_expected()))
    second = service.sync(link_id)
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 0, 0, 11)
    assert len(annotations.responses_of(link_id)) == 11

    link = annotations.get_link(link_id)
    assert link.completed_records == 3
    assert link.progress["alice"] == {"submitted": 4} and link.progress["carol"] == {"submitted": 3}
    _check_agreement(link.agreement)


def test_discarded_response_is_removed_on_the_next_sync(argilla, published):
    link_id, result, ids = published
    bob = argilla.login("bob", annotator_password("bob"))
    answer = {"values": {q: {"value": v} for q, v in _values(ANSWERS["item-0"]["bob"]).items()}}
    created = bob.post(f"/api/v1/records/{ids['item-0']}/responses", json=answer | {"status": "submitted"})
    assert service.sync(link_id).added == 1
    discarded = bob.put(f"/api/v1/responses/{created.json()['id']}", json=answer | {"status": "discarded"})
    assert discarded.status_code == 200, discarded.text
    counts = service.sync(link_id)
    assert (counts.removed, annotations.responses_of(link_id)) == (1, [])
    assert annotations.get_link(link_id).progress["bob"] == {"discarded": 1}


def _log_through_sdk(argilla, dataset_id: str, ids: dict, username: str) -> None:
    """The third annotator's answers imported with the SDK (as `make example-argilla` does)."""
    client = rg.Argilla(api_url=argilla.url, api_key=argilla.api_key)
    user = client.users(username)
    dataset = client.datasets(name=None, id=dataset_id) if False else _dataset(client, dataset_id)
    records = []
    for item, by_user in ANSWERS.items():
        if username in by_user:
            responses = [rg.Response(q, v, user_id=user.id, status="submitted") for q, v in
                         _values(by_user[username]).items()]  # fmt: skip
            records.append(rg.Record(id=item, fields=_fields(item), responses=responses))
    dataset.records.log(records)


def _dataset(client, dataset_id: str):
    return next(d for d in client.datasets.list() if str(d.id) == dataset_id)


def _fields(item: str) -> dict:
    record = dict(ITEMS)[item]
    return {"prompt": record.prompt, "response_a": record.responses[0], "response_b": record.responses[1]}


def _expected() -> list[PreferenceRecord]:
    levels = {"a_much_better": -3, "a_better": -2, "a_slightly_better": -1, "tie": 0,
              "b_slightly_better": 1, "b_better": 2, "b_much_better": 3}  # fmt: skip
    expected = []
    for item, by_user in ANSWERS.items():
        source = dict(ITEMS)[item]
        for name, (ca, cb, va, vb, overall, rationale) in by_user.items():
            level = levels[overall]
            expected.append(PreferenceRecord(
                prompt=source.prompt, responses=source.responses, annotator_id=name,
                ratings={"correctness": {0: ca, 1: cb}, "coverage": {0: va + 1, 1: vb + 1}},  # positions
                pair_level=level, pair=None if level == 0 else ((0, 1) if level < 0 else (1, 0)),
                rationale=rationale or None,
            ))  # fmt: skip
    return expected


def _dump(records: list[PreferenceRecord]) -> list[str]:
    return [record.model_dump_json() for record in records]


def _check_agreement(report: dict) -> None:
    np = pytest.importorskip("numpy")
    krippendorff = pytest.importorskip("krippendorff")
    names = ("alice", "bob", "carol")
    column = {"correctness": (0, 1), "coverage": (2, 3)}
    for criterion, (a, b) in column.items():
        units = [(item, side) for item in ANSWERS for side in (a, b)]
        data = [[ANSWERS[i][n][s] if n in ANSWERS[i] else np.nan for i, s in units] for n in names]
        reference = krippendorff.alpha(
            reliability_data=np.array(data, dtype=float), level_of_measurement="ordinal"
        )
        assert report[criterion]["alpha"] == pytest.approx(reference, abs=1e-9)
    labels = sorted({answer[4] for by_user in ANSWERS.values() for answer in by_user.values()})
    data = [[labels.index(ANSWERS[i][n][4]) if n in ANSWERS[i] else np.nan for i in ANSWERS] for n in names]
    reference = krippendorff.alpha(
        reliability_data=np.array(data, dtype=float), level_of_measurement="nominal"
    )
    assert report["overall"]["alpha"] == pytest.approx(reference, abs=1e-9)
