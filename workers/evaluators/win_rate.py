"""E6 (methods.md §7): win rate of the policy against the base, judged by a held-out reward model.

Per prompt x, with judge scores r_θ = r(x, y_θ) and r_b = r(x, y_b) and a tie margin τ ≥ 0 (0 by default):
  o(x) = 1[r_θ > r_b + τ] + ½·1[|r_θ − r_b| ≤ τ]        (1 win, ½ tie, 0 loss)
  WR = mean_x o(x), with a percentile-bootstrap interval over prompts;
  WR without ties = wins / (wins + losses) (the RPS convention), with a Wilson interval;
  mean answer length (generated tokens) of each side;
  length-controlled WR = σ(a), where (a, b) fit P(win | Δ) = σ(a + b·Δ/s) on the non-tie prompts,
  Δ = |y_θ| − |y_b| and s = sqrt(mean Δ²): the win probability at equal length, so wins that only come
  from answering longer do not count. Δ is scaled, not centred (centring would move the intercept
  away from "equal length"), so the small ridge penalty below means the same on any length scale.

The logistic fit minimises −(1/n)Σ[w log σ(z) + (1 − w) log σ(−z)] + (λ/2)(a² + b²), z = a + bΔ/s,
by Newton's method with step halving. λ = 1e-4 keeps the optimum finite when wins are separable by
length (all wins, or wins exactly where the policy is longer): all wins then give σ(a) ≈ 0.9994
instead of a diverging fit. The penalty also shrinks b a little, and when the policy is longer on
average the intercept absorbs part of that: about +0.001 on the test's 13-of-16 example (+0.01 at
λ = 1e-3), which is why λ is this small.

`win_rate_pass` is the end-to-end pass (generation + judging); everything above it is pure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from workers.evaluators.ranking import bootstrap_mean_interval, wilson_interval
from workers.generation import generate

LC_L2 = 1e-4


class ScalarJudge(Protocol):
    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]: ...


def outcomes(policy: Sequence[float], base: Sequence[float], tau: float = 0.0) -> list[float]:
    """o = 1 if r_θ > r_b + τ, ½ if |r_θ − r_b| ≤ τ, else 0."""
    if tau < 0:
        raise ValueError(f"the tie margin τ must be >= 0, got {tau}")
    if len(policy) != len(base):
        raise ValueError(f"E6: {len(policy)} policy scores against {len(base)} base scores")
    return [
        1.0 if p > b + tau else 0.5 if abs(p - b) <= tau else 0.0 for p, b in zip(policy, base, strict=True)
    ]


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def _penalized_loss(a: float, b: float, xs: Sequence[float], ys: Sequence[float], l2: float) -> float:
    def nll(z: float, y: float) -> float:  # −[y log σ(z) + (1 − y) log σ(−z)], overflow-free
        return max(z, 0.0) - y * z + math.log1p(math.exp(-abs(z)))

    return sum(nll(a + b * x, y) for x, y in zip(xs, ys, strict=True)) / len(xs) + l2 / 2 * (a * a + b * b)


def logistic_fit(xs: Sequence[float], ys: Sequence[float], l2: float = LC_L2, iterations: int = 100):
    """(a, b) minimising the penalised loss above for y ∈ {0, 1}; Newton's 2×2 step, halved until it helps."""
    a = b = 0.0
    n = len(xs)
    loss = _penalized_loss(a, b, xs, ys, l2)
    for _ in range(iterations):
        q = [_sigmoid(a + b * x) for x in xs]
        ga = sum(qi - y for qi, y in zip(q, ys, strict=True)) / n + l2 * a
        gb = sum((qi - y) * x for qi, y, x in zip(q, ys, xs, strict=True)) / n + l2 * b
        v = [qi * (1 - qi) for qi in q]
        haa = sum(v) / n + l2
        hab = sum(vi * x for vi, x in zip(v, xs, strict=True)) / n
        hbb = sum(vi * x * x for vi, x in zip(v, xs, strict=True)) / n + l2
        det = haa * hbb - hab * hab
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        step = 1.0
        while step > 1e-8 and _penalized_loss(a - step * da, b - step * db, xs, ys, l2) > loss:
            step /= 2
        a, b = a - step * da, b - step * db
        new_loss = _penalized_loss(a, b, xs, ys, l2)
        if loss - new_loss < 1e-14:
            break
        loss = new_loss
    return a, b


def length_controlled(
    wins: Sequence[float], policy_lengths: Sequence[float], base_lengths: Sequence[float], l2: float = LC_L2
) -> dict[str, float]:
    """σ(a) of P(win | Δ) = σ(a + b·Δ/s) over non-tie prompts (o ∈ {0, 1}); NaN when all are ties."""
    rows = [(o, p - q) for o, p, q in zip(wins, policy_lengths, base_lengths, strict=True) if o != 0.5]
    if not rows:
        return {"win_rate_length_controlled": math.nan, "win_rate_length_slope": math.nan}
    scale = math.sqrt(sum(d * d for _, d in rows) / len(rows)) or 1.0
    a, b = logistic_fit([d / scale for _, d in rows], [o for o, _ in rows], l2)
    # slope per token: the log-odds change of a win for each extra token the policy writes
    return {"win_rate_length_controlled": _sigmoid(a), "win_rate_length_slope": b / scale}


def win_rate_metrics(
    policy_scores: Sequence[float], base_scores: Sequence[float], policy_lengths: Sequence[float],
    base_lengths: Sequence[float], *, tau: float = 0.0, confidence: float = 0.95,
    bootstrap_samples: int = 1000, seed: int = 0,
) -> dict[str, float]:  # fmt: skip
    """All of E6 from the judge's scores and the answers' lengths (one value each per prompt)."""
    o = outcomes(policy_scores, base_scores, tau)
    if not o:
        raise ValueError("E6: no prompts to compute a win rate on (the input is empty)")
    wins, ties = o.count(1.0), o.count(0.5)
    losses = len(o) - wins - ties
    low, high = bootstrap_mean_interval(o, confidence, bootstrap_samples, seed)
    decided = wins + losses
    nt_low, nt_high = wilson_interval(wins, decided, confidence)
    out = {"win_rate": sum(o) / len(o), "win_rate_ci_low": low, "win_rate_ci_high": high,
           "win_rate_prompts": float(len(o)), "win_rate_wins": float(wins), "win_rate_ties": float(ties),
           "win_rate_losses": float(losses), "win_rate_tie_margin": float(tau),
           "win_rate_no_ties": wins / decided if decided else math.nan,
           "win_rate_no_ties_ci_low": nt_low, "win_rate_no_ties_ci_high": nt_high,
           "mean_length_policy": sum(policy_lengths) / len(o),
           "mean_length_base": sum(base_lengths) / len(o)}  # fmt: skip
    return out | length_controlled(o, policy_lengths, base_lengths)


class WinRateResult(NamedTuple):
    metrics: dict[str, float]
    policy_texts: list[str]
    base_texts: list[str]
    policy_scores: list[float]
    base_scores: list[float]


def win_rate_pass(
    policy_model, tokenizer, prompts: Sequence[str], judge: ScalarJudge, *, max_new_tokens: int = 64,
    temperature: float = 0.7, top_p: float = 0.9, seed: int = 0, batch_size: int = 8, tau: float = 0.0,
    confidence: float = 0.95, bootstrap_samples: int = 1000, max_prompt_length: int = 512,
    use_chat_template: bool = True,
) -> WinRateResult:  # fmt: skip
    """E6 end to end on a PeftModel: base (adapter off) and policy answers with identical decoding and
    seeds, both scored by `judge`, which must never have been used in training or selection."""
    if not prompts:
        raise ValueError("E6: no prompts to generate answers for (the input is empty)")
    decoding = {"max_new_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p, "seed": seed,
                "batch_size": batch_size, "max_prompt_length": max_prompt_length,
                "use_chat_template": use_chat_template}  # fmt: skip
    base = generate(policy_model, tokenizer, prompts, adapter_disabled=True, **decoding)
    policy = generate(policy_model, tokenizer, prompts, adapter_disabled=False, **decoding)
    base_scores = judge.score(prompts, base.texts)
    policy_scores = judge.score(prompts, policy.texts)
    metrics = win_rate_metrics(
        policy_scores, base_scores, policy.token_counts, base.token_counts, tau=tau,
        confidence=confidence, bootstrap_samples=bootstrap_samples, seed=seed,
    )  # fmt: skip
    return WinRateResult(metrics, policy.texts, base.texts, policy_scores, base_scores)
