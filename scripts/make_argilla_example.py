"""Build examples/data/pandalm-annotators.jsonl: PandaLM pairs with their three annotators' own votes.

`make example-argilla` publishes these pairs to Argilla and imports each annotator's vote as that
annotator's submitted response, so agreement is measured on real disagreement. Run from the project
root (needs the worker extra; uses the built-in SmolLM2's tokenizer for lengths):

    PYTHONPATH=. .venv/bin/python scripts/make_argilla_example.py [--shared DIR] [--out DIR] [--items N]

Same inputs give byte-identical output. Rows keep PandaLM's columns unchanged (`idx`, `instruction`,
`input`, `response1`, `response2`, `annotator1..3` voting 1, 2 or 0 = tie). Kept: texts are non-empty
strings, the two responses differ, only the first of rows that repeat the same prompt and responses
(72 do: one Argilla record per item, one response per annotator), and the pair is short for
SmolLM2-135M-Instruct (prompt <= 128 tokens, prompt + each response <= 256). Then a seed-0 shuffle and
the first N rows, so the share of split votes is PandaLM's own.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the demo script's shared helpers
from make_demo_data import _norm, add_token_lengths, is_short, smollm2_tokenizer  # noqa: E402

SEED = 0
ITEMS = 160
PANDALM_FILE = Path("pandalm-testset/testset-v1.json")
OUT_FILE = "pandalm-annotators.jsonl"
COLUMNS = ("idx", "instruction", "input", "response1", "response2", "annotator1", "annotator2", "annotator3")


def usable(row: dict[str, Any]) -> str | None:
    """Why the row is dropped, or None."""
    texts = (row["instruction"], row["response1"], row["response2"])
    if not all(isinstance(text, str) for text in (*texts, row["input"])):
        return "non_text_field"
    if not all(text.strip() for text in texts):
        return "empty_text"
    if _norm(row["response1"]) == _norm(row["response2"]):
        return "identical_responses"
    return None


def build(shared: Path, out: Path, items: int) -> dict[str, Any]:
    rows = json.loads((shared / PANDALM_FILE).read_text(encoding="utf-8"))
    dropped, kept, seen = Counter(), [], set()
    for row in rows:
        reason = usable(row)
        key = tuple(_norm(str(row[c])) for c in ("instruction", "input", "response1", "response2"))
        if reason is None and key in seen:
            reason = "repeated_pair"  # the same item twice would get two responses per annotator
        seen.add(key)
        if reason:
            dropped[reason] += 1
        else:
            kept.append(row)
    pairs = [
        {"prompt": "\n\n".join(t.strip() for t in (r["instruction"], r["input"]) if t.strip()),
         "chosen": r["response1"].strip(), "rejected": r["response2"].strip(), "row": r}
        for r in kept
    ]  # fmt: skip
    add_token_lengths(smollm2_tokenizer(), pairs)
    short = [pair["row"] for pair in pairs if is_short(pair)]
    dropped["too_long"] = len(kept) - len(short)
    random.Random(SEED).shuffle(short)
    chosen = sorted(short[:items], key=lambda row: row["idx"])
    text = "".join(json.dumps({c: row[c] for c in COLUMNS}, ensure_ascii=False) + "\n" for row in chosen)
    (out / OUT_FILE).write_text(text, encoding="utf-8")
    votes = Counter(len({row[f"annotator{n}"] for n in (1, 2, 3)}) for row in chosen)
    return {
        "rows_in_pandalm": len(rows),
        "dropped": dict(sorted(dropped.items())),
        "eligible": len(short),
        "items": len(chosen),
        "unanimous": votes[1],
        "split_votes": votes[2] + votes[3],
        "all_three_ties": sum(all(row[f"annotator{n}"] == 0 for n in (1, 2, 3)) for row in chosen),
    }


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=root.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=root / "examples" / "data")
    parser.add_argument("--items", type=int, default=ITEMS)
    args = parser.parse_args()
    print(json.dumps(build(args.shared, args.out, args.items), indent=2))


if __name__ == "__main__":
    main()
