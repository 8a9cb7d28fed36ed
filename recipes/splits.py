"""Prompt-disjoint held-out split and a leakage count (methods.md §7 preamble)."""

import random
from collections.abc import Sequence

from recipes.preference_data import PreferencePair


def _norm(text: str) -> str:
    return text.strip()


class _UnionFind:
    def __init__(self, size: int):
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, left: int, right: int) -> None:
        root_left, root_right = self.find(left), self.find(right)
        if root_left != root_right:
            self.parent[max(root_left, root_right)] = min(root_left, root_right)


def connected_groups(pairs: Sequence[PreferencePair]) -> list[list[int]]:
    """Pair indices grouped so that pairs sharing a prompt or any response text land in one group."""
    groups = _UnionFind(len(pairs))
    first_seen: dict[tuple[str, str], int] = {}
    for index, pair in enumerate(pairs):
        keys = [
            ("prompt", _norm(pair.prompt)),
            ("response", _norm(pair.chosen)),
            ("response", _norm(pair.rejected)),
        ]
        for key in keys:
            if key in first_seen:
                groups.union(first_seen[key], index)
            else:
                first_seen[key] = index
    by_root: dict[int, list[int]] = {}
    for index in range(len(pairs)):
        by_root.setdefault(groups.find(index), []).append(index)
    return sorted(by_root.values())


def heldout_split(pairs: Sequence[PreferencePair], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train indices, held-out indices); no prompt or response text appears on both sides.

    Whole groups are visited in a seed-determined order and moved to held-out whenever that brings the
    held-out size closer to round(fraction * len(pairs)); a group larger than twice the target never moves,
    so the held-out share can fall short when the data is one big connected component.
    """
    if not 0 <= fraction < 1:
        raise ValueError("fraction must be in [0, 1)")
    target = round(fraction * len(pairs))
    groups = connected_groups(pairs)
    random.Random(seed).shuffle(groups)
    heldout: list[int] = []
    for group in groups:
        if abs(len(heldout) + len(group) - target) < abs(len(heldout) - target):
            heldout.extend(group)
    chosen = set(heldout)
    return [i for i in range(len(pairs)) if i not in chosen], sorted(heldout)


def leakage(train_pairs: Sequence[PreferencePair], heldout_pairs: Sequence[PreferencePair]) -> dict[str, int]:
    """Counts of held-out pairs that share a prompt, a response, or either with the training pairs."""
    train_prompts = {_norm(p.prompt) for p in train_pairs}
    train_responses = {_norm(text) for p in train_pairs for text in (p.chosen, p.rejected)}
    shared_prompt = shared_response = leaky = 0
    for pair in heldout_pairs:
        has_prompt = _norm(pair.prompt) in train_prompts
        has_response = bool({_norm(pair.chosen), _norm(pair.rejected)} & train_responses)
        shared_prompt += has_prompt
        shared_response += has_response
        leaky += has_prompt or has_response
    return {
        "heldout_pairs": len(heldout_pairs),
        "shared_prompt": shared_prompt,
        "shared_response": shared_response,
        "leaky": leaky,
        "leak_free": len(heldout_pairs) - leaky,
    }
