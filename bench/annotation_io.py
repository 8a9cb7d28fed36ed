"""Annotation I/O at 10,000 records against the real argilla-server 2.8 (local: SQLite + the studio's SQL
search engine, its own venv) on this machine. Goals: publish 10,000 records ≤ 60 s, sync 10,000
responses ≤ 60 s; and how fast the annotator queue answers with 10,000 records in the dataset.

    PYTHONPATH=. .venv/bin/python bench/annotation_io.py [--records 10000] [--calls 50]

1. publish: `annotation.service.publish` — rubric → dataset, annotator accounts, records upserted;
2. import 10,000 submitted responses (two annotators × 5,000 records), the way `make example-argilla`
   imports a data set's own labels (not a goal, reported for scale);
3. sync: `annotation.service.sync` — every record with its responses read back over REST, written to the
   store, agreement computed; once with everything new, once with nothing changed;
4. the annotator queue: the exact call Argilla's web UI makes for the "Pending" queue
   (`POST /api/v1/me/datasets/{id}/records/search?include=responses&include=suggestions&offset=0&limit=10`),
   and its progress call (`GET /api/v1/me/datasets/{id}/metrics`), as a third annotator with a bearer
   token: p50/p95 of `--calls` calls each after one warm-up call.
Texts: the demo pairs (examples/data/demo-pairs.train.jsonl) cycled, each prompt made unique.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run directly, without PYTHONPATH
    sys.path.insert(0, str(ROOT))

PAIRS = ROOT / "examples" / "data" / "demo-pairs.train.jsonl"
QUEUE_BODY = {
    "query": {},
    "filters": {"and": [
        {"type": "terms", "scope": {"entity": "response", "property": "status"}, "values": ["pending"]},
        {"type": "terms", "scope": {"entity": "record", "property": "status"}, "values": ["pending"]},
    ]},
}  # fmt: skip
QUEUE_PARAMS = [("include", "responses"), ("include", "suggestions"), ("offset", "0"), ("limit", "10")]
LEVELS = [{"value": v, "label": f"level {v}"} for v in range(1, 6)]


def items(count: int):
    from recipes.preference_data import PreferenceRecord

    rows = [json.loads(line) for line in PAIRS.read_text().splitlines()]
    for index in range(count):
        row = rows[index % len(rows)]
        prompt = f"{row['prompt']}\n\n(item {index})"
        yield (
            f"bench-{index:05d}",
            PreferenceRecord(prompt=prompt, responses=[row["chosen"], row["rejected"]]),
        )


def answers(item_ids: list[str]) -> list[tuple[str, str, dict]]:
    """Two annotators on the first half each: 10,000 responses for 10,000 records."""
    half = item_ids[: len(item_ids) // 2]
    out = []
    for n, item in enumerate(half):
        for who, shift in (("bench-a", 0), ("bench-b", n % 2)):
            rating = 1 + (n + shift) % 5
            values = {
                "helpful_a": rating,
                "helpful_b": 6 - rating,
                "overall": "a_better" if rating > 2 else "tie",
            }
            out.append((item, who, values | {"rationale": f"reason {n}"}))
    return out


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * ordered[max(0, round(0.95 * len(ordered)) - 1)], 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def ui_calls(url: str, password: str, dataset_id: str, calls: int) -> dict[str, dict]:
    import httpx

    token = httpx.post(f"{url}/api/v1/token", data={"username": "bench-c", "password": password}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    results = {}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:

        def queue():
            found = client.post(f"/api/v1/me/datasets/{dataset_id}/records/search", json=QUEUE_BODY,
                                params=QUEUE_PARAMS)  # fmt: skip
            found.raise_for_status()
            return found.json()["total"]

        def metrics():
            client.get(f"/api/v1/me/datasets/{dataset_id}/metrics").raise_for_status()

        for name, call in (("queue", queue), ("metrics", metrics)):
            first = call()
            samples = [timed(call)[0] for _ in range(calls)]
            results[name] = percentiles(samples) | ({"pending": first} if name == "queue" else {})
    return results


def run(records: int, calls: int) -> dict:
    from annotation import service
    from annotation.connection import annotator_password
    from annotation.local_server.server import LocalArgilla
    from recipes.annotation_spec import AnnotationSpec
    from store import broker

    spec = AnnotationSpec(criteria=[{"name": "helpful", "levels": LEVELS}], overlap=2,
                          annotators=["bench-a", "bench-b", "bench-c"])  # fmt: skip
    redis = broker.start_redis()
    server = LocalArgilla(home=Path(os.environ["STUDIO_DATA_DIR"]) / "argilla", redis_url=redis.url)
    try:
        server.start(say=lambda message: None)
        server.wait_healthy()
        os.environ.update(STUDIO_ARGILLA_URL=server.url, STUDIO_ARGILLA_API_KEY=server.api_key)
        link = service.link_for("bench", "studio", "bench-10k", spec)
        batch = list(items(records))
        out = {"records": records}
        out["publish_s"], published = timed(service.publish, link.id, batch)
        out["published"] = published.records
        out["import_s"], out["responses"] = timed(
            service.import_responses, link.id, answers([i for i, _ in batch])
        )
        out["sync_s"], counts = timed(service.sync, link.id)
        out["sync_added"] = counts.added
        out["resync_s"], counts = timed(service.sync, link.id)
        out["resync_unchanged"] = counts.unchanged
        out["ui"] = ui_calls(server.url, annotator_password("bench-c"), published.dataset_id, calls)
        return out
    finally:
        server.stop()
        broker.stop_owned_redis()


def markdown(result: dict) -> str:
    ui, day = result["ui"], dt.date.today().isoformat()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    records, responses = result["records"], result["responses"]
    steps = [
        (f"publish {records:,} records (dataset, 3 annotator accounts, upsert in batches)",
         result["publish_s"]),
        (f"(setup) import {responses:,} submitted responses (2 annotators × {responses // 2:,} records)",
         result["import_s"]),
        (f"sync {result['sync_added']:,} responses (REST read of every record, store write, agreement)",
         result["sync_s"]),
        (f"sync again, nothing changed ({result['resync_unchanged']:,} unchanged)", result["resync_s"]),
    ]  # fmt: skip
    calls = [
        ("`POST /me/datasets/{id}/records/search` (Pending queue, 10 records with responses and suggestions)",
         ui["queue"]),
        ("`GET /me/datasets/{id}/metrics` (progress bar)", ui["metrics"]),
    ]  # fmt: skip
    step_rows = "\n".join(f"| {what} | {seconds:.1f} |" for what, seconds in steps)
    call_rows = "\n".join(f"| {what} | {t['p50_ms']} | {t['p95_ms']} | {t['max_ms']} |" for what, t in calls)
    return f"""
## Annotation I/O at 10,000 records (bench/annotation_io.py, {day})

The real argilla-server 2.8.0 (its own venv, SQLite, the studio's SQL search engine, uvicorn, one rq
worker) and the studio in one process on {platform.machine()} with {os.cpu_count()} CPUs shared with other
engineers' jobs (load average {load} at the end). Rubric: one 5-level criterion (two rating
questions), the overall choice and a rationale; overlap 2. Goal: publish and sync ≤ 60 s each.

| what | seconds |
|---|---|
{step_rows}

The annotator queue as Argilla's web UI asks for it, for a third annotator ({ui["queue"]["pending"]:,}
records pending for them), {result["calls"]} calls after a warm-up:

| call | p50 ms | p95 ms | max ms |
|---|---|---|---|
{call_rows}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--out", type=Path, help="Append the Markdown section to this file.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-annotation-") as tmp:
        os.environ["STUDIO_DATA_DIR"] = tmp
        os.environ.pop("STUDIO_REDIS_URL", None)
        for key in ("STUDIO_ARGILLA_URL", "STUDIO_ARGILLA_API_KEY", "STUDIO_ARGILLA_HOME"):
            os.environ.pop(key, None)
        result = run(args.records, args.calls) | {"calls": args.calls}
    print(json.dumps(result, indent=1))
    section = markdown(result)
    print(section)
    if args.out:
        with args.out.open("a") as handle:
            handle.write(section)


if __name__ == "__main__":
    main()
