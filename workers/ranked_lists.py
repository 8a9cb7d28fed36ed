"""PreferenceRecords → ranked lists for listwise ranking (PRO, methods.md §3B), and their tokens.

The order comes from the record's signal, in this order: `ranking` (a full order, best first), else
the §6.2 aggregate S of its ratings, else the mean of its [0, 1] objective scores. Each response keeps
a `level` (higher = better): responses with equal levels are ties and never compete in the loss;
with score gaps the level differences become the softmax temperatures d. Records with only a
pairwise label carry no list and are counted, not guessed at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from recipes.preference_data import PreferenceRecord, aggregate_score, mean_objective_scores

# Ratings are read on 1..5, as `recipes.preference_data.record_to_pairs` reads them for pair methods.
RATING_LEVELS = 5


@dataclass(frozen=True)
class RankedList:
    prompt: str
    responses: tuple[str, ...]  # best first
    levels: tuple[float, ...]  # non-increasing; equal levels are ties


@dataclass(frozen=True)
class TokenizedList:
    prompt_ids: list[int]
    response_ids: tuple[list[int], ...]  # best first, truncated to fit max_length with the prompt
    levels: tuple[float, ...]

    @property
    def length(self) -> int:
        """Tokens in its packed row (workers.list_packing): the prompt once, then every response."""
        return len(self.prompt_ids) + sum(len(ids) for ids in self.response_ids)


def _rated(record: PreferenceRecord) -> dict[int, float]:
    ratings = record.ratings or {}
    return {
        idx: aggregate_score({c: r[idx] for c, r in ratings.items()}, levels=RATING_LEVELS)
        for idx in range(len(record.responses))
        if all(idx in per_response for per_response in ratings.values())
    }


def response_levels(record: PreferenceRecord, use_scores: bool) -> dict[int, float]:
    """Level per response index (higher = better); {} when the record has no list-shaped signal.

    With `use_scores`, a ranked record's levels are its ratings or scores (so the gaps carry their
    size) where every ranked response has one; ranks alone give evenly spaced levels.
    """
    scored = _rated(record) if record.ratings else {}
    if not scored and record.objective_scores:
        scored = mean_objective_scores(record)
    if record.ranking:
        if use_scores and all(i in scored for i in record.ranking):
            return {i: scored[i] for i in record.ranking}
        k = len(record.ranking)
        return {idx: float(k - position) for position, idx in enumerate(record.ranking)}
    return scored


def ranked_list(record: PreferenceRecord, *, use_scores: bool, max_responses: int) -> RankedList | None:
    """The record as a list, best first, cut to its best `max_responses`; None without any preference."""
    levels = response_levels(record, use_scores)
    order = sorted(levels, key=lambda idx: (-levels[idx], idx))[:max_responses]
    if len(order) < 2 or levels[order[0]] == levels[order[-1]]:
        return None
    return RankedList(
        record.prompt, tuple(record.responses[i] for i in order), tuple(levels[i] for i in order)
    )


def lists_from_records(
    records: Sequence[PreferenceRecord], *, use_scores: bool, max_responses: int
) -> tuple[list[RankedList], Counter]:
    """Every record that gives a list, and a count of why the others did not."""
    lists, skipped = [], Counter()
    for record in records:
        if use_scores and record.ranking and not (record.ratings or record.objective_scores):
            skipped["ranks_without_scores"] += 1
            continue
        made = ranked_list(record, use_scores=use_scores, max_responses=max_responses)
        if made is None:
            skipped["no_ranked_responses"] += 1
        else:
            lists.append(made)
    return lists, skipped


def tokenize_list(ranked: RankedList, pair_tokenizer) -> TokenizedList | None:
    """Tokens with `workers.tokenization.PairTokenizer`'s rules (chat template, prompt cut from the
    left, responses from the right). A response that truncation made identical to a better one is
    dropped: the same tokens cannot be both better and worse. None when fewer than 2 remain or no
    preference is left."""
    prompt = pair_tokenizer.prompt_ids(ranked.prompt)
    room = max(pair_tokenizer.max_length - len(prompt), 1)
    responses, levels, seen = [], [], set()
    for text, level in zip(ranked.responses, ranked.levels, strict=True):
        ids = pair_tokenizer.response_ids(text)[:room]
        if tuple(ids) in seen:
            continue
        seen.add(tuple(ids))
        responses.append(ids)
        levels.append(level)
    if len(responses) < 2 or levels[0] == levels[-1]:
        return None
    return TokenizedList(prompt, tuple(responses), tuple(levels))
