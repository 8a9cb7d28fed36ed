"""Build examples/data/general-text.jsonl, the fixed general corpus for E8 perplexity (methods.md §7).

Run from the project root (standard library only):

    python scripts/make_general_text.py [--source ../shared/data/oasst-en100-trees] [--out examples/data]

Same input gives a byte-identical output. From OpenAssistant's en_100_tree.jsonl (Apache-2.0) it keeps
human-written assistant replies: role "assistant", `synthetic` false, lang "en", not deleted, review
passed, 200–1500 characters after stripping surrounding whitespace, exact duplicates removed. The
selection is the first 150 by sha256(message_id), a fixed pseudo-random order that does not depend on
the file's order; lines are written in that order. Texts are unchanged apart from the strip.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

SOURCE_FILE = "en_100_tree.jsonl"
OUT_FILE = "general-text.jsonl"
N_TEXTS = 150
MIN_CHARS, MAX_CHARS = 200, 1500


def _messages(node: dict) -> Iterator[dict]:
    yield node
    for reply in node.get("replies") or []:
        yield from _messages(reply)


def _usable(message: dict) -> bool:
    text = (message.get("text") or "").strip()
    return (
        message.get("role") == "assistant"
        and message.get("synthetic") is False  # the trees also hold some model-written replies
        and message.get("lang") == "en"
        and not message.get("deleted")
        and message.get("review_result") is True
        and MIN_CHARS <= len(text) <= MAX_CHARS
    )


def select(rows: list[dict]) -> list[dict]:
    """Usable replies, deduplicated by text, first N_TEXTS by sha256 of the message id."""
    candidates, seen = [], set()
    for row in rows:
        for message in _messages(row["prompt"]):
            text = message.get("text", "").strip()
            if _usable(message) and text not in seen:
                seen.add(text)
                candidates.append({"id": message["message_id"], "text": text})
    candidates.sort(key=lambda m: hashlib.sha256(m["id"].encode()).hexdigest())
    return candidates[:N_TEXTS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("../shared/data/oasst-en100-trees"))
    parser.add_argument("--out", type=Path, default=Path("examples/data"))
    args = parser.parse_args()
    lines = (args.source / SOURCE_FILE).read_text(encoding="utf-8").splitlines()
    chosen = select([json.loads(line) for line in lines if line.strip()])
    with (args.out / OUT_FILE).open("w", encoding="utf-8", newline="\n") as handle:
        for message in chosen:
            handle.write(json.dumps({"text": message["text"]}, ensure_ascii=False) + "\n")
    chars = sum(len(m["text"]) for m in chosen)
    print(f"wrote {len(chosen)} texts, {chars} characters (~{chars // 4} tokens) to {args.out / OUT_FILE}")


if __name__ == "__main__":
    main()
