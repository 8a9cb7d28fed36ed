"""Build the multi-objective example data (PRO orchestrator, RPS) in examples/data/ from USR Topical-Chat.

Run from the project root (pure Python, no model needed):

    python scripts/make_usr_records.py [--shared ../shared/data] [--out examples/data]

Same inputs give byte-identical outputs. Steps:
1. Read USR Topical-Chat (UniEval's copy): 360 rows = 60 dialogue contexts x 6 responses (the human
   original, a second human reply and four decoders), each with six human attribute scores (means of
   three annotators).
2. One record per context: the prompt is the knowledge fact plus the last turns of the dialogue, the
   responses (a text repeated within a context is kept once, first row wins), and every attribute as
   a list of raw scores (scales in SCALES; recipes map them to [0, 1] with `fields.score_scales`).
   Scores are unchanged.
3. Contexts are shuffled with a fixed seed: 15 go to the held-out file, 45 to training. Every context
   is its own prompt, so the split is prompt-disjoint; responses are never shared across contexts.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

SEED = 0
HELDOUT_CONTEXTS = 15
LAST_TURNS = 4  # earlier turns add length (the SmolLM2 budget is 384 tokens) without changing the task
SOURCE_FILE = Path("usr-topicalchat-unieval/topical_chat.json")
TRAIN_FILE, HELDOUT_FILE = "usr-topicalchat.train.jsonl", "usr-topicalchat.heldout.jsonl"
# The USR annotation scales (Mehri & Eskenazi 2020): (worst, best) of each attribute.
SCALES = {
    "understandability": (0, 1),
    "naturalness": (1, 3),
    "coherence": (1, 3),
    "engagingness": (1, 3),
    "groundedness": (0, 1),
    "overall": (1, 5),
}


def _prompt(source: str, fact: str) -> str:
    turns = [turn.strip() for turn in source.strip().split("\n") if turn.strip()][-LAST_TURNS:]
    dialogue = "\n".join(f"{'A' if i % 2 == len(turns) % 2 else 'B'}: {t}" for i, t in enumerate(turns))
    return (
        "Write the next reply (speaker A) in this conversation. You may use the fact.\n\n"
        f"Fact: {fact.strip()}\n\n{dialogue}"
    )


def _first_of_each_text(rows: list[dict]) -> list[dict]:
    """Decoders sometimes reproduce the human reply word for word; a record needs distinct responses,
    so a repeated text keeps its first occurrence (and that row's scores) only."""
    seen, kept = set(), []
    for row in rows:
        text = " ".join(row["system_output"].split())
        if text not in seen:
            seen.add(text)
            kept.append(row)
    return kept


def build_records(rows: list[dict]) -> list[dict]:
    by_context: dict[str, list[dict]] = {}
    for row in rows:
        by_context.setdefault(row["source"], []).append(row)
    records = []
    for source, rows_of_context in by_context.items():
        group = _first_of_each_text(rows_of_context)
        records.append(
            {
                "prompt": _prompt(source, group[0]["context"]),
                "responses": [row["system_output"].strip() for row in group],
                "systems": [row["system_id"] for row in group],
                **{name: [row["scores"][name] for row in group] for name in SCALES},
            }
        )
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("examples/data"))
    args = parser.parse_args()
    records = build_records(json.loads((args.shared / SOURCE_FILE).read_text()))
    random.Random(SEED).shuffle(records)
    heldout, train = records[:HELDOUT_CONTEXTS], records[HELDOUT_CONTEXTS:]
    for name, part in ((TRAIN_FILE, train), (HELDOUT_FILE, heldout)):
        with (args.out / name).open("w") as handle:
            for record in part:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    responses = sum(len(r["responses"]) for r in records)
    print(f"{len(train)} training and {len(heldout)} held-out contexts, {responses} responses -> {args.out}")


if __name__ == "__main__":
    main()
