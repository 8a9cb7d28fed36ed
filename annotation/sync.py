"""One sync: what Argilla holds now → the rows `store.annotations.apply_sync` writes, plus the summary
(per-annotator progress, completed records, agreement) the studio shows and the gate reads."""

from __future__ import annotations

from collections import Counter
from typing import Any

from annotation.agreement import agreement_report
from annotation.backend import Snapshot
from annotation.export import ResponseRow, to_annotations
from recipes.annotation_spec import AnnotationSpec

SUBMITTED = "submitted"


def sync_rows(snapshot: Snapshot, spec: AnnotationSpec) -> tuple[list[dict], list[dict], dict[str, Any]]:
    """(records, submitted responses with usernames, summary). Drafts and discarded responses are not
    training data: they only count in progress, and a response that was submitted before and is now
    discarded or deleted is simply absent here, so `apply_sync` removes it."""
    responses = [
        {**response, "username": snapshot.usernames.get(response["user_id"], response["user_id"])}
        for response in snapshot.responses
    ]
    submitted = [response for response in responses if response["status"] == SUBMITTED]
    return snapshot.records, submitted, summarize(snapshot, responses, submitted, spec)


def summarize(snapshot: Snapshot, responses: list[dict], submitted: list[dict], spec: AnnotationSpec) -> dict:
    progress: dict[str, Counter] = {}
    for response in responses:
        progress.setdefault(response["username"], Counter())[response["status"]] += 1
    rows = [ResponseRow(r["record_id"], r["external_id"], r["username"], r["values"]) for r in submitted]
    return {
        "progress": {name: dict(sorted(counts.items())) for name, counts in sorted(progress.items())},
        "completed_records": sum(record["status"] == "completed" for record in snapshot.records),
        "records": len(snapshot.records),
        "agreement": agreement_report(to_annotations(rows, spec), spec.agreement_questions()),
    }
