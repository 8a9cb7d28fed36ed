"""Build examples/data/pandalm-rationales.{train,heldout}.jsonl: PandaLM pairs with votes and rationales.

Run from the project root (needs the worker extra; uses the built-in SmolLM2's tokenizer for lengths):

    PYTHONPATH=. .venv/bin/python scripts/make_pandalm_rationales.py [--shared DIR] [--out DIR]

Same inputs give byte-identical outputs. Steps:
1. Line up PandaLM's human test set (three annotators vote 1, 2 or 0 = tie) with GPT-3.5-turbo's verdict
   and written reason for the same `idx` (PandaLM's own gpt-3.5-turbo-testset-v1.json).
2. Keep pairs whose vote majority is not a tie and whose GPT verdict names the same winner, so the reason
   argues for the human-preferred response. Votes are kept as published: the studio turns them into
   soft labels (3-0 → 1, 2-1 → 2/3, 2 + 1 tie → 5/6).
3. Rewrite GPT's "Response 1"/"Response 2" as "This response" (the winner) / "the other response": the
   training context shows the responses as A and B in a seeded random order, so the original numbers
   would point at the wrong response half of the time.
4. Keep pairs short for SmolLM2-135M-Instruct (prompt <= 128 tokens, prompt + response <= 256, reason
   <= 64 tokens) and split prompt- and response-disjoint groups: HELDOUT_TARGET held-out, rest train.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the demo script's shared helpers
from make_demo_data import (  # noqa: E402
    MAX_HELDOUT_GROUP,
    _norm,
    add_token_lengths,
    group_ids,
    is_short,
    leaks,
    smollm2_tokenizer,
)

SEED = 0
HELDOUT_TARGET = 120
MAX_REASON_TOKENS = 64
PANDALM_DIR = Path("pandalm-testset")
TRAIN_FILE, HELDOUT_FILE = "pandalm-rationales.train.jsonl", "pandalm-rationales.heldout.jsonl"
COLUMNS = ("idx", "instruction", "input", "response1", "response2", "annotator1", "annotator2", "annotator3")
_RESPONSE_REF = re.compile(r"\b([Rr])esponse ([12])\b")


def neutral_reason(reason: str, winner: int) -> str:
    """Winner 2: 'Response 2 beats Response 1' → 'This response beats the other response'."""

    def name(match: re.Match) -> str:
        word = "this response" if int(match.group(2)) == winner else "the other response"
        return word[0].upper() + word[1:] if match.group(1) == "R" else word

    return _RESPONSE_REF.sub(name, reason.strip())


def _keep(row: dict[str, Any], gpt: dict[str, Any]) -> dict[str, Any] | str:
    """The output row, or why it is dropped."""
    votes = [row[f"annotator{k}"] for k in (1, 2, 3)]
    if votes.count(1) == votes.count(2):
        return "tie_majority"
    winner = 1 if votes.count(1) > votes.count(2) else 2
    if str(gpt["gpt_result"]) != str(winner):
        return "gpt_disagrees_or_no_verdict"
    texts = (row["instruction"], row["response1"], row["response2"])
    if not all(isinstance(t, str) and t.strip() for t in texts) or not (gpt["gpt_reason"] or "").strip():
        return "empty_or_non_text"
    if _norm(row["response1"]) == _norm(row["response2"]):
        return "identical_responses"
    prompt = row["instruction"].strip() + ("\n\n" + row["input"].strip() if row["input"].strip() else "")
    better, worse = (row["response1"], row["response2"])[:: 1 if winner == 1 else -1]
    return {c: row[c] for c in COLUMNS} | {
        "rationale": neutral_reason(gpt["gpt_reason"], winner),
        # for length filtering and the split only; removed before writing
        "prompt": prompt, "chosen": better.strip(), "rejected": worse.strip(),
    }  # fmt: skip


def read(shared: Path) -> tuple[list[dict[str, Any]], Counter]:
    rows = json.loads((shared / PANDALM_DIR / "testset-v1.json").read_text(encoding="utf-8"))
    gpt = json.loads((shared / PANDALM_DIR / "gpt-3.5-turbo-testset-v1.json").read_text(encoding="utf-8"))
    by_idx = {g["idx"]: g for g in gpt}
    kept, dropped = [], Counter()
    for row in rows:
        result = _keep(row, by_idx[row["idx"]])
        if isinstance(result, str):
            dropped[result] += 1
        else:
            kept.append(result)
    return kept, dropped


def split(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    groups: dict[int, list[dict[str, Any]]] = {}
    for group, row in zip(group_ids(rows), rows, strict=True):
        groups.setdefault(group, []).append(row)
    order = list(groups.values())
    random.Random(SEED).shuffle(order)
    train, heldout = [], []
    for members in order:
        fits = len(heldout) + len(members) <= HELDOUT_TARGET and len(members) <= MAX_HELDOUT_GROUP
        (heldout if fits else train).extend(members)
    return sorted(train, key=lambda r: r["idx"]), sorted(heldout, key=lambda r: r["idx"])


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            out = {key: value for key, value in row.items() if key in (*COLUMNS, "rationale")}
            handle.write(json.dumps(out, ensure_ascii=False, sort_keys=True) + "\n")


def build(shared: Path, out: Path) -> dict[str, Any]:
    rows, dropped = read(shared)
    tokenizer = smollm2_tokenizer()
    add_token_lengths(tokenizer, rows)
    short = [
        r for r in rows if is_short(r) and len(tokenizer(r["rationale"])["input_ids"]) <= MAX_REASON_TOKENS
    ]
    train, heldout = split(short)
    _write(out / TRAIN_FILE, train)
    _write(out / HELDOUT_FILE, heldout)

    def labels(part):
        return dict(sorted(Counter(len({r[f"annotator{k}"] for k in (1, 2, 3)}) for r in part).items()))

    return {
        "usable": len(rows),
        "dropped": dict(sorted(dropped.items())),
        "dropped_too_long": len(rows) - len(short),
        "train": len(train),
        "heldout": len(heldout),
        "heldout_sharing_text_with_train": leaks(train, heldout),
        "distinct_vote_values_train": labels(train),
    }


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=root.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=root / "examples" / "data")
    args = parser.parse_args()
    print(json.dumps(build(args.shared, args.out), indent=2))


if __name__ == "__main__":
    main()
