"""Annotator-vs-consensus scores: how each annotator compares with the others on the items they share.

The consensus of an item is taken leave-one-out, from the OTHER annotators only, so that an annotator is
not compared with a consensus they helped to form (which inflates agreement most for small panels).
nominal: the majority label of the others (ties: no consensus, the item is not scored);
ordinal/interval: the median of the others, then the mean absolute deviation and Spearman's ρ.
Reference: Spearman (1904); ties get average ranks, ρ = Pearson's r of the ranks (Kendall & Gibbons,
Rank Correlation Methods, 5th ed., 1990, ch. 3).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from annotation.agreement.alpha import Level
from annotation.agreement.data import Matrix, Value
from recipes.statistics import average_ranks, pearson


@dataclass(frozen=True)
class ConsensusScore:
    """One annotator against the leave-one-out consensus; the unused measure of a level is None."""

    n_items: int  # items scored: labelled by this annotator and with a consensus of the others
    n_no_consensus: int  # items with other annotators but no majority among them (nominal ties)
    agreement_rate: float | None = None  # nominal: share of items equal to the majority of the others
    mean_abs_deviation: float | None = None  # ordinal: mean |value − median of the others|
    spearman: float | None = None  # ordinal: Spearman's ρ between values and consensus (NaN if undefined)


def majority(values: Sequence[Value]) -> Value | None:
    """The most frequent value, or None when two or more values tie for the top count."""
    top = Counter(values).most_common(2)
    if len(top) > 1 and top[0][1] == top[1][1]:
        return None
    return top[0][0]


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's ρ = Pearson's r of the average ranks; NaN for fewer than 2 items or a constant side."""
    if len(x) != len(y):
        raise ValueError(f"spearman needs equal lengths, got {len(x)} and {len(y)}")
    if len(x) < 2:
        return math.nan
    return pearson(average_ranks(x), average_ranks(y))


def consensus_scores(matrix: Matrix, level: Level) -> dict[str, ConsensusScore]:
    """Per annotator (sorted), their values against the leave-one-out consensus of the other annotators."""
    rows = {name: {item: v for item, v in row.items() if v is not None} for name, row in matrix.items()}
    return {name: _score_one(name, rows, level) for name in sorted(rows)}


def _score_one(name: str, rows: dict[str, dict[str, Value]], level: Level) -> ConsensusScore:
    own, consensus, no_consensus = [], [], 0
    for item, value in rows[name].items():
        others = [row[item] for other, row in rows.items() if other != name and item in row]
        if not others:
            continue
        centre = majority(others) if level == "nominal" else statistics.median(others)
        if centre is None:
            no_consensus += 1
            continue
        own.append(value)
        consensus.append(centre)
    if level == "nominal":
        rate = sum(a == b for a, b in zip(own, consensus, strict=True)) / len(own) if own else None
        return ConsensusScore(n_items=len(own), n_no_consensus=no_consensus, agreement_rate=rate)
    mad = statistics.fmean(abs(a - b) for a, b in zip(own, consensus, strict=True)) if own else None
    return ConsensusScore(
        n_items=len(own),
        n_no_consensus=no_consensus,
        mean_abs_deviation=mad,
        spearman=spearman(own, consensus),
    )
