"""Build the listwise-ranking example data (PRO, examples/ranking.yaml) in examples/data/ from OASST trees.

Run from the project root (pure Python, no model needed):

    python scripts/make_ranking_data.py [--shared ../shared/data] [--out examples/data]

Same inputs give byte-identical outputs. Steps:
1. Read OpenAssistant's 100 English message trees. Every prompter message with at least two ranked
   assistant replies is one ranked group (what the `ranked_siblings` preset reads): 212 groups, k = 2..9.
2. One record per group: the replies in rank order with OASST's ranks (0 = best) unchanged, texts
   stripped of surrounding whitespace. A group's prompt is the prompter message; for a follow-up
   message deeper in the tree, the earlier turns of its branch come first as a short transcript, so
   "Thanks, and what about X?" is answerable. A reply text repeated within a group is kept once (the
   better-ranked one); groups left with fewer than two replies are dropped.
3. Split by tree, not by group: a reply in one group is the prompt context of the groups below it, so
   whole trees are shuffled with a fixed seed and taken into the held-out file until it has
   HELDOUT_SHARE of the groups. Held-out prompts and responses never occur in training.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

SEED = 0
HELDOUT_SHARE = 0.25
SOURCE_FILE = Path("oasst-en100-trees/en_100_tree.jsonl")
TRAIN_FILE, HELDOUT_FILE = "oasst-ranked.train.jsonl", "oasst-ranked.heldout.jsonl"
SPEAKERS = {"prompter": "User", "assistant": "Assistant"}


def _prompt(branch: list[dict]) -> str:
    """The prompter message, after the earlier turns of its branch (if any) as a transcript."""
    if len(branch) == 1:
        return branch[0]["text"].strip()
    turns = [f"{SPEAKERS[m['role']]}: {m['text'].strip()}" for m in branch[:-1]]
    return "Conversation so far:\n\n" + "\n\n".join(turns) + f"\n\nUser: {branch[-1]['text'].strip()}"


def _group(branch: list[dict], tree_id: str) -> dict | None:
    replies = [
        r for r in branch[-1].get("replies") or [] if isinstance(r, dict) and r.get("rank") is not None
    ]
    seen, responses, ranks = set(), [], []
    for reply in sorted(replies, key=lambda r: r["rank"]):
        text = reply["text"].strip()
        if text and text not in seen:
            seen.add(text)
            responses.append(text)
            ranks.append(reply["rank"])
    if len(responses) < 2:
        return None
    return {"prompt": _prompt(branch), "responses": responses, "ranks": ranks,
            "message_tree_id": tree_id, "message_id": branch[-1]["message_id"]}  # fmt: skip


def groups_of_tree(tree: dict) -> list[dict]:
    """Every ranked group of one tree, depth first."""
    groups, stack = [], [[tree["prompt"]]]
    while stack:
        branch = stack.pop()
        made = _group(branch, tree["message_tree_id"])
        if made:
            groups.append(made)
        replies = [r for r in branch[-1].get("replies") or [] if isinstance(r, dict)]
        stack.extend(branch + [reply] for reply in reversed(replies))
    return groups


def split_by_tree(trees: list[list[dict]]) -> tuple[list[dict], list[dict]]:
    order = list(range(len(trees)))
    random.Random(SEED).shuffle(order)
    target = HELDOUT_SHARE * sum(len(groups) for groups in trees)
    heldout, train = [], []
    for index in order:
        (heldout if len(heldout) < target else train).extend(trees[index])
    return train, heldout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("examples/data"))
    args = parser.parse_args()
    lines = (args.shared / SOURCE_FILE).read_text(encoding="utf-8").splitlines()
    trees = [groups_of_tree(json.loads(line)) for line in lines if line.strip()]
    train, heldout = split_by_tree([groups for groups in trees if groups])
    for name, part in ((TRAIN_FILE, train), (HELDOUT_FILE, heldout)):
        with (args.out / name).open("w", encoding="utf-8") as handle:
            for record in part:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    for name, part in (("training", train), ("held-out", heldout)):
        sizes = sorted(len(r["responses"]) for r in part)
        pairs = sum(k * (k - 1) // 2 for k in sizes)
        span = f"k {sizes[0]}..{sizes[-1]}"
        print(f"{name}: {len(part)} groups, {sum(sizes)} responses, {pairs} ordered pairs, {span}")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
