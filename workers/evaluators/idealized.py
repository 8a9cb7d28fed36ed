"""E2 (methods.md §7): idealized ranking accuracy R*, R̃*, the alignment gap and per-pair required loss.

Chen et al. (Cor. 3.3): the DPO-optimal policy π* ∝ π_ref·exp(r/β) ranks a pair correctly iff
    log π_ref(y_w|x) − log π_ref(y_l|x) + (1/β)·log(α/(1−α)) > 0,
with α the share of raters preferring y_w. So R* needs only the reference log-probs (the held-out base
pass, no extra forward) and α. Pure functions of per-pair (chosen, rejected) summed log-probs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import median as exact_median

from workers.evaluators._checks import Pair, require_lengths, require_pairs
from workers.evaluators.ranking import ranking_correct

ALPHA_EPSILON = 1e-3  # α is clipped to [ε, 1−ε] so log(α/(1−α)) stays finite
TIE_EPSILON = 0.01  # E1: a tie is ranked correctly iff |π(y1) − π(y2)| < 0.01
BETA_GRID = (0.01, 0.1, 1.0, 5.0, 10.0)  # the paper's grid when the training β is unknown
HARD_REQUIRED_LOSS = 0.1  # [D] a pair is "hard" when DPO must push its loss below this many nats


def rater_proportions(
    n: int, alpha: Sequence[float | None] | None = None, soft_labels: Sequence[float | None] | None = None
) -> tuple[list[float], bool]:
    """α per pair, clipped to [ε, 1−ε]: vote share if known, else §6.2 soft label p, else 1 (hard label).

    Returns (alphas, estimated); estimated is True when any pair had no real vote share.
    """
    alphas, estimated = [], False
    for i in range(n):
        value = alpha[i] if alpha is not None else None
        if value is None:
            estimated = True
            value = soft_labels[i] if soft_labels is not None and soft_labels[i] is not None else 1.0
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"E2: pair {i} has rater proportion {value}, outside [0, 1]")
        alphas.append(min(max(value, ALPHA_EPSILON), 1.0 - ALPHA_EPSILON))
    return alphas, estimated


def is_tie(alpha: float) -> bool:
    return abs(alpha - 0.5) < 1e-12


def _scores(logps: Sequence[Pair], lengths: Sequence[Pair] | None) -> list[Pair]:
    """Summed log-probs, or the mean per-token ones ℓ̄ = log π / |y| for the length-normalised R̃."""
    if lengths is None:
        return list(logps)
    return [(w / lw, lo / ll) for (w, lo), (lw, ll) in zip(logps, lengths, strict=True)]


def tie_correct(logp_1: float, logp_2: float) -> bool:
    """E1 tie rule, in probability space: correct iff |exp(log π(y1)) − exp(log π(y2))| < 0.01."""
    return abs(math.exp(logp_1) - math.exp(logp_2)) < TIE_EPSILON


def ranking_correct_with_ties(
    logps: Sequence[Pair], alphas: Sequence[float], lengths: Sequence[Pair] | None = None
) -> list[bool]:
    """E1 per pair: 1[π(y_w) ≥ π(y_l)] (workers.evaluators.ranking), or the tie rule where α = 0.5."""
    plain = ranking_correct(logps, lengths)
    scores = _scores(logps, lengths)
    return [tie_correct(*s) if is_tie(a) else hit for hit, s, a in zip(plain, scores, alphas, strict=True)]


def idealized_correct(
    base: Sequence[Pair], alphas: Sequence[float], beta: float, lengths: Sequence[Pair] | None = None
) -> list[bool]:
    """R* per pair: 1[log π_ref(y_w) − log π_ref(y_l) + (1/β)·log(α/(1−α)) > 0] (strict, as in Cor. 3.3).

    With lengths, the log-probs are the per-token means (R̃*). At α = 0.5 the reward term is 0, so π*
    keeps π_ref's ratio; [D] its probabilities are taken as π_ref's and scored with the E1 tie rule.
    """
    out = []
    for (w, lo), a in zip(_scores(base, lengths), alphas, strict=True):
        if is_tie(a):
            out.append(tie_correct(w, lo))
        else:
            out.append(w - lo + math.log(a / (1.0 - a)) / beta > 0)
    return out


def _softplus(x: float) -> float:
    """log(1 + e^x) without overflow."""
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


def required_losses(base: Sequence[Pair], beta: float) -> list[float]:
    """Thm 4.1: the pair is ranked right iff L_DPO ≤ −log σ(β·c), c = log π_ref(y_l) − log π_ref(y_w).

    −log σ(z) = softplus(−z). Small values flag pairs DPO can hardly flip (the reference prefers y_l).
    """
    return [_softplus(-beta * (lo - w)) for w, lo in base]


def _accuracy(hits: Sequence[bool]) -> float:
    return sum(hits) / len(hits)


def _idealized_by_beta(base, alphas, lengths, betas) -> tuple[list[float], list[float]]:
    plain = [_accuracy(idealized_correct(base, alphas, b)) for b in betas]
    normalised = [_accuracy(idealized_correct(base, alphas, b, lengths)) for b in betas]
    return plain, normalised


def _summarise_beta(
    out: dict, r: float, r_ln: float, plain: list[float], ln: list[float], known: bool
) -> None:
    """R*, R̃* and gaps R* − R: one value for a known β, else min / median / max over the β grid."""
    stats = {"": lambda v: v[0]} if known else {"_min": min, "_median": exact_median, "_max": max}
    for suffix, f in stats.items():
        out[f"e2_idealized_accuracy{suffix}"] = f(plain)
        out[f"e2_idealized_accuracy_ln{suffix}"] = f(ln)
        out[f"e2_alignment_gap{suffix}"] = f(plain) - r
        out[f"e2_alignment_gap_ln{suffix}"] = f(ln) - r_ln


def idealized_metrics(
    base: Sequence[Pair],
    policy: Sequence[Pair],
    lengths: Sequence[Pair],
    *,
    alpha: Sequence[float | None] | None = None,
    soft_labels: Sequence[float | None] | None = None,
    beta: float | None = None,
    hard_loss: float = HARD_REQUIRED_LOSS,
) -> dict[str, float | bool]:
    """E2 on held-out pairs: R*, R̃*, gap = R* − R (R = E1 accuracy of the policy, ties by the E1 rule).

    β known: one value each. β None: min / median / max over β ∈ {0.01, 0.1, 1, 5, 10}; the required
    loss then uses β = 1. `e2_estimated` is True when α came from soft or hard labels, not votes.
    """
    require_pairs("E2", base, policy, lengths)
    require_lengths("E2", lengths)
    alphas, estimated = rater_proportions(len(base), alpha, soft_labels)
    r = _accuracy(ranking_correct_with_ties(policy, alphas))
    r_ln = _accuracy(ranking_correct_with_ties(policy, alphas, lengths))
    betas = [beta] if beta is not None else list(BETA_GRID)
    plain, ln = _idealized_by_beta(base, alphas, lengths, betas)
    out: dict[str, float | bool] = {
        "e2_estimated": estimated,
        "e2_tie_pairs": float(sum(is_tie(a) for a in alphas)),
        "e2_ranking_accuracy": r,
        "e2_ranking_accuracy_ln": r_ln,
    }
    _summarise_beta(out, r, r_ln, plain, ln, known=beta is not None)
    loss_beta = beta if beta is not None else 1.0
    losses = required_losses(base, loss_beta)
    out["e2_required_loss_beta"] = loss_beta
    out["e2_required_loss_median"] = exact_median(losses)
    out["e2_hard_pairs"] = float(sum(v < hard_loss for v in losses))
    out["e2_reference_wrong_pairs"] = float(sum(lo > w for w, lo in base))  # c > 0: loss must go below log 2
    return out
