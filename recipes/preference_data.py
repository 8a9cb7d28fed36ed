"""The canonical preference record (methods.md §0.3), training pairs, and the pure §6.2 converters."""

import math
from collections.abc import Mapping
from itertools import combinations

from pydantic import Field, field_validator, model_validator

from recipes._base import StrictModel

DEFAULT_LEVEL_LABELS: dict[str, float] = {
    "much better": 0.9,
    "better": 0.75,
    "slightly better": 0.6,
    "tie": 0.5,
}
# pair_level magnitude -> level name; the sign says which side wins (see PreferenceRecord.pair_level).
LEVEL_NAMES_BY_MAGNITUDE: dict[int, str] = {0: "tie", 1: "slightly better", 2: "better", 3: "much better"}


def _pair_key(key: object) -> object:
    if isinstance(key, str) and "," in key:
        return tuple(int(part) for part in key.split(","))
    return key


class PreferenceRecord(StrictModel):
    """One prompt with 2..k responses and whatever human signal came with them."""

    prompt: str = Field(description="The prompt text, before the chat template.")
    responses: list[str] = Field(min_length=2, description="The candidate responses, 2..k.")
    pair: tuple[int, int] | None = Field(None, description="(i_chosen, i_rejected) for a pairwise label.")
    ranking: list[int] | None = Field(None, description="Response indices, best first.")
    ratings: dict[str, dict[int, int]] | None = Field(
        None, description="criterion -> {response index: rating in 1..N}."
    )
    pair_level: int | None = Field(
        None,
        ge=-3,
        le=3,
        description="Graded label, response 0 (A) vs 1 (B): -3 = A much better, 0 = tie, 3 = B much better.",
    )
    rater_votes: dict[tuple[int, int], tuple[int, int, int]] | None = Field(
        None, description="(a, b) response indices -> (n prefer a, n prefer b, n tie)."
    )
    annotator_id: str | None = Field(
        None, description="Who labelled it; kept so nobody is majority-voted away."
    )
    rationale: str | None = Field(None, description="Why the chosen response is better.")
    objective_scores: dict[str, dict[int, float]] | None = Field(
        None, description="objective -> {response index: score} from reward models."
    )
    direction: list[float] | None = Field(None, description="A unit preference direction (DPA/RPS).")

    @field_validator("rater_votes", mode="before")
    @classmethod
    def _pair_keys_from_json(cls, value: object) -> object:
        # JSON has no tuple keys: model_dump_json writes (0, 1) as "0,1"; read it back the same way.
        if isinstance(value, dict):
            return {_pair_key(key): votes for key, votes in value.items()}
        return value

    @model_validator(mode="after")
    def _indices_point_at_responses(self) -> "PreferenceRecord":
        k = len(self.responses)
        used: list[int] = list(self.pair or ()) + list(self.ranking or ())
        used += [i for pair in (self.rater_votes or {}) for i in pair]
        used += [i for scores in (self.ratings or {}).values() for i in scores]
        used += [i for scores in (self.objective_scores or {}).values() for i in scores]
        bad = sorted({i for i in used if not 0 <= i < k})
        if bad:
            raise ValueError(f"response indices {bad} are out of range for {k} responses")
        if self.pair is not None and self.pair[0] == self.pair[1]:
            raise ValueError("pair must name two different responses")
        return self


class PreferencePair(StrictModel):
    """One training/evaluation pair: the data shape DPO consumes."""

    prompt: str
    chosen: str
    rejected: str
    strength: float | None = Field(None, description="Preference strength m (e.g. a rating gap), if known.")
    soft_label: float = Field(1.0, ge=0.5, le=1.0, description="P(chosen is better) in [0.5, 1].")
    rationale: str | None = None
    annotator_id: str | None = None
    is_tie: bool = Field(False, description="A tie: kept for evaluation only, never trained on.")
    group: str | None = Field(None, description="Optional id shared by pairs that came from one record.")


def aggregate_score(
    ratings_for_response: Mapping[str, int], weights: Mapping[str, float] | None = None, levels: int = 5
) -> float:
    """S(x, y) = Σ_a w_a · (s_a − 1) / (N − 1), in [0, 1].

    Weights default to equal (1/|A|); given weights are normalized to sum to 1 so S stays in [0, 1].
    A criterion missing from `weights` gets weight 0.
    """
    if levels < 2:
        raise ValueError("levels must be at least 2")
    if not ratings_for_response:
        raise ValueError("no ratings to aggregate")
    for criterion, score in ratings_for_response.items():
        if not 1 <= score <= levels:
            raise ValueError(f"rating {score} for '{criterion}' is outside 1..{levels}")
    if weights is None:
        weights = {criterion: 1.0 for criterion in ratings_for_response}
    total = sum(weights.get(c, 0.0) for c in ratings_for_response)
    if total <= 0:
        raise ValueError("weights of the rated criteria must sum to more than 0")
    return sum(weights.get(c, 0.0) * (s - 1) / (levels - 1) for c, s in ratings_for_response.items()) / total


def _scores_per_response(record: PreferenceRecord, weights, levels: int) -> dict[int, float]:
    """S per response; a response not rated on every criterion is left out (its S would not compare)."""
    ratings = record.ratings or {}
    scores = {}
    for idx in range(len(record.responses)):
        if all(idx in per_response for per_response in ratings.values()):
            scores[idx] = aggregate_score({c: r[idx] for c, r in ratings.items()}, weights, levels)
    return scores


def pairs_from_ratings(
    record: PreferenceRecord,
    weights: Mapping[str, float] | None = None,
    min_gap: float | None = None,
    levels: int = 5,
    kappa: float | None = None,
) -> list[PreferencePair]:
    """Every (y_i, y_j) with S_i − S_j ≥ δ becomes a pair with strength m_ij = S_i − S_j.

    δ defaults to 1/(N − 1): one rating step on one criterion when there is a single criterion.
    soft_label = σ(κ·m_ij) when kappa is given, else 1.0 (hard label; the strength still carries m).
    """
    if not record.ratings:
        return []
    delta = 1 / (levels - 1) if min_gap is None else min_gap
    scores = _scores_per_response(record, weights, levels)
    pairs = []
    for i, j in combinations(sorted(scores), 2):
        winner, loser = (i, j) if scores[i] >= scores[j] else (j, i)
        margin = scores[winner] - scores[loser]
        if margin + 1e-12 < delta or margin <= 0:
            continue
        label = 1.0 if kappa is None else soft_label_from_margin(margin, kappa)
        pairs.append(_pair(record, winner, loser, strength=margin, soft_label=label))
    return pairs


# [D] Two responses whose mean objective score (on [0, 1]) differs by less than this are not a pair:
# a tenth of the scale is about one step of a 1..10 rating, below which labels are mostly noise.
DEFAULT_SCORE_GAP = 0.1


def mean_objective_scores(
    record: PreferenceRecord, weights: Mapping[str, float] | None = None
) -> dict[int, float]:
    """S per response: the (weighted) mean of its [0, 1] objective scores; unscored responses are left out."""
    scores = record.objective_scores or {}
    weights = weights or {name: 1.0 for name in scores}
    total = sum(weights.get(name, 0.0) for name in scores)
    if total <= 0:
        raise ValueError("weights of the scored objectives must sum to more than 0")
    return {
        idx: sum(weights.get(name, 0.0) * by_response[idx] for name, by_response in scores.items()) / total
        for idx in range(len(record.responses))
        if all(idx in by_response for by_response in scores.values())
    }


def pairs_from_scores(
    record: PreferenceRecord, weights: Mapping[str, float] | None = None, min_gap: float = DEFAULT_SCORE_GAP
) -> list[PreferencePair]:
    """Every (y_i, y_j) whose mean objective score differs by ≥ min_gap; strength = the difference."""
    scores = mean_objective_scores(record, weights)
    pairs = []
    for i, j in combinations(sorted(scores), 2):
        winner, loser = (i, j) if scores[i] >= scores[j] else (j, i)
        margin = scores[winner] - scores[loser]
        if margin + 1e-12 >= min_gap and margin > 0:
            pairs.append(_pair(record, winner, loser, strength=margin))
    return pairs


def soft_label_from_votes(n_a: int, n_b: int, n_tie: int = 0) -> float:
    """P(a ≻ b) = (n_a + n_tie/2) / (n_a + n_b + n_tie): ties are split equally between the two sides."""
    if min(n_a, n_b, n_tie) < 0:
        raise ValueError("vote counts cannot be negative")
    total = n_a + n_b + n_tie
    if total == 0:
        raise ValueError("no votes")
    return (n_a + n_tie / 2) / total


def soft_label_from_level(level: str, mapping: Mapping[str, float] | None = None) -> float:
    """p for a graded label such as "better".

    Default table: {much better 0.9, better 0.75, slightly better 0.6, tie 0.5}.
    """
    table = DEFAULT_LEVEL_LABELS if mapping is None else mapping
    if level not in table:
        raise ValueError(f"unknown preference level '{level}'; known: {', '.join(table)}")
    return table[level]


def soft_label_from_margin(margin: float, kappa: float) -> float:
    """p = σ(κ·m) = 1 / (1 + e^(−κ·m)); m ≥ 0 gives p in [0.5, 1)."""
    return 1 / (1 + math.exp(-kappa * margin))


def _pair(record: PreferenceRecord, chosen: int, rejected: int, **extra) -> PreferencePair:
    return PreferencePair(
        prompt=record.prompt,
        chosen=record.responses[chosen],
        rejected=record.responses[rejected],
        rationale=record.rationale,
        annotator_id=record.annotator_id,
        **extra,
    )


def _pairs_from_votes(record: PreferenceRecord) -> list[PreferencePair]:
    """Majority side becomes chosen with p from the votes; an exact split becomes an is_tie pair."""
    pairs = []
    for (a, b), (n_a, n_b, n_tie) in (record.rater_votes or {}).items():
        p_a = soft_label_from_votes(n_a, n_b, n_tie)
        if n_a == n_b:
            pairs.append(_pair(record, a, b, soft_label=0.5, is_tie=True))
        elif n_a > n_b:
            pairs.append(_pair(record, a, b, soft_label=p_a))
        else:
            pairs.append(_pair(record, b, a, soft_label=1 - p_a))
    return pairs


def _pairs_from_level(record: PreferenceRecord) -> list[PreferencePair]:
    level = record.pair_level or 0
    name = LEVEL_NAMES_BY_MAGNITUDE[abs(level)]
    if level == 0:
        return [_pair(record, 0, 1, soft_label=0.5, is_tie=True)]
    chosen, rejected = (0, 1) if level < 0 else (1, 0)
    return [_pair(record, chosen, rejected, soft_label=soft_label_from_level(name), strength=abs(level))]


def _explicit_pair_label(record: PreferenceRecord) -> float:
    """Soft label for an explicit pair: its votes if any (§6.2.3 order), else its graded level, else 1."""
    chosen, rejected = record.pair
    votes = record.rater_votes or {}
    if (chosen, rejected) in votes:
        return max(0.5, soft_label_from_votes(*votes[(chosen, rejected)]))
    if (rejected, chosen) in votes:
        n_a, n_b, n_tie = votes[(rejected, chosen)]
        return max(0.5, soft_label_from_votes(n_b, n_a, n_tie))
    if record.pair_level and {chosen, rejected} == {0, 1}:
        return soft_label_from_level(LEVEL_NAMES_BY_MAGNITUDE[abs(record.pair_level)])
    return 1.0


def record_to_pairs(
    record: PreferenceRecord, levels: int = 5, kappa: float | None = None
) -> list[PreferencePair]:
    """Pairs from the first signal the record has, in this order:

    1. explicit `pair` → that one pair (soft label from its votes or level when present);
    2. `ranking` → ALL ordered pairs (ranking[i] ≻ ranking[j] for i < j), not only best-vs-rest: a
       k-ranking carries k(k−1)/2 comparisons and DPO can use every one; strength = rank gap / (k − 1);
    3. `ratings` → pairs_from_ratings(record, levels=levels, kappa=kappa);
       `objective_scores` → pairs_from_scores(record): equal-weight mean, gap ≥ DEFAULT_SCORE_GAP;
    4. `rater_votes` → the majority side per voted pair with p from soft_label_from_votes;
    5. `pair_level` → a pair with p from soft_label_from_level.
    Exact ties (equal votes, level 0) become is_tie=True pairs with p = 0.5: evaluation only.
    """
    if record.pair is not None:
        chosen, rejected = record.pair
        return [_pair(record, chosen, rejected, soft_label=_explicit_pair_label(record))]
    if record.ranking:
        order, gaps = record.ranking, max(len(record.ranking) - 1, 1)
        return [
            _pair(record, order[i], order[j], strength=(j - i) / gaps)
            for i, j in combinations(range(len(order)), 2)
        ]
    if record.ratings:
        return pairs_from_ratings(record, levels=levels, kappa=kappa)
    if record.objective_scores:
        return pairs_from_scores(record)
    if record.rater_votes:
        return _pairs_from_votes(record)
    if record.pair_level is not None:
        return _pairs_from_level(record)
    return []
