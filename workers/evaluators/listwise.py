"""E1 for more than two responses (methods.md §7): the full order of a held-out ranked list.

Pure functions of per-response values (log-probs or lengths) and the human levels of one list (higher =
better; equal levels are ties and are not scored against each other). Only human-ordered pairs count:
a list is an exact match when no such pair is ordered the other way round by the model (E1's ≥: equal
values are not wrong), Kendall's τ is (concordant − discordant) / ordered pairs, and top-1 asks whether
a human-best response gets the highest value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from workers.evaluators.ranking import wilson_interval


@dataclass(frozen=True)
class OrderAgreement:
    concordant: int
    discordant: int
    ordered_pairs: int

    @property
    def exact(self) -> bool:
        return self.discordant == 0

    @property
    def tau(self) -> float:
        return (self.concordant - self.discordant) / self.ordered_pairs if self.ordered_pairs else math.nan


def order_agreement(levels: Sequence[float], values: Sequence[float], strict: bool = False) -> OrderAgreement:
    """Counts over pairs with different human levels; `strict` counts equal model values as wrong
    (for baselines such as 'longer first', where equal lengths are common and decide nothing)."""
    concordant = discordant = ordered = 0
    for a in range(len(levels)):
        for b in range(len(levels)):
            if levels[a] <= levels[b]:
                continue
            ordered += 1
            if values[a] > values[b]:
                concordant += 1
            elif values[a] < values[b] or strict:
                discordant += 1
    return OrderAgreement(concordant, discordant, ordered)


def top1_correct(levels: Sequence[float], values: Sequence[float]) -> bool:
    best = max(levels)
    return max(v for v, lv in zip(values, levels, strict=True) if lv == best) >= max(values)


def _rate(name: str, hits: Sequence[bool], confidence: float) -> dict[str, float]:
    low, high = wilson_interval(sum(hits), len(hits), confidence)
    rate = sum(hits) / len(hits) if hits else math.nan
    return {name: rate, f"{name}_ci_low": low, f"{name}_ci_high": high}


def listwise_metrics(
    levels: Sequence[Sequence[float]],
    values: Sequence[Sequence[float]],
    name: str = "listwise",
    when: str = "",
    confidence: float = 0.95,
) -> dict[str, float]:
    """`{name}_exact_match{when}`, `{name}_top1{when}` (with Wilson intervals) and the mean
    `{name}_kendall_tau{when}`, e.g. listwise_exact_match_before."""
    agreements = [order_agreement(lv, v) for lv, v in zip(levels, values, strict=True)]
    top1 = [top1_correct(lv, v) for lv, v in zip(levels, values, strict=True)]
    out = _rate(f"{name}_exact_match{when}", [a.exact for a in agreements], confidence)
    out |= _rate(f"{name}_top1{when}", top1, confidence)
    taus = [a.tau for a in agreements if a.ordered_pairs]
    out[f"{name}_kendall_tau{when}"] = sum(taus) / len(taus) if taus else math.nan
    return out


def longer_first_exact_match(levels: Sequence[Sequence[float]], lengths: Sequence[Sequence[int]]) -> float:
    """Share of lists whose human order is exactly 'longest response first' (equal lengths: a miss)."""
    hits = [order_agreement(lv, n, strict=True).exact for lv, n in zip(levels, lengths, strict=True)]
    return sum(hits) / len(hits) if hits else math.nan
