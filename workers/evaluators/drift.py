"""E4 (methods.md §7): chosen / rejected log-prob drift, i.e. likelihood displacement.

δ_w = log π_θ(y_w|x) − log π_ref(y_w|x), δ_l likewise, from the held-out base and policy passes the
pipeline already runs (no extra forward). Pure functions of per-pair (chosen, rejected) summed log-probs.
"""

from __future__ import annotations

from collections.abc import Sequence

from workers.evaluators._checks import Pair, mean, median, require_lengths, require_pairs


def drift_deltas(base: Sequence[Pair], policy: Sequence[Pair]) -> list[Pair]:
    """(δ_w, δ_l) per pair: δ = log π_θ(y|x) − log π_ref(y|x), summed over response tokens."""
    return [(pw - bw, pl - bl) for (bw, bl), (pw, pl) in zip(base, policy, strict=True)]


def drastic_drop_ratios(deltas: Sequence[Pair]) -> list[float]:
    """|δ_l| / |δ_w| per pair; pairs with δ_w = 0 have no ratio and are left out (not infinity)."""
    return [abs(dl) / abs(dw) for dw, dl in deltas if dw != 0]


def _rate(hits: Sequence[bool]) -> float:
    return sum(hits) / len(hits)


def _location(out: dict, name: str, values: Sequence[float]) -> None:
    out[f"e4_{name}_mean"] = mean(values)
    out[f"e4_{name}_median"] = median(values)


def drift_metrics(base: Sequence[Pair], policy: Sequence[Pair], lengths: Sequence[Pair]) -> dict[str, float]:
    """E4: mean/median of δ_w, δ_l and δ/|y|; Pr[δ_w < 0]; Pr[δ_w < 0 ∧ δ_l < 0]; median |δ_l|/|δ_w|.

    The ratio's median is over pairs with δ_w ≠ 0 (`e4_drastic_drop_pairs` says how many); NaN if none.
    """
    require_pairs("E4", base, policy, lengths)
    require_lengths("E4", lengths)
    deltas = drift_deltas(base, policy)
    out: dict[str, float] = {}
    _location(out, "delta_chosen", [dw for dw, _ in deltas])
    _location(out, "delta_rejected", [dl for _, dl in deltas])
    _location(
        out, "delta_chosen_per_token", [dw / lw for (dw, _), (lw, _) in zip(deltas, lengths, strict=True)]
    )
    _location(
        out, "delta_rejected_per_token", [dl / ll for (_, dl), (_, ll) in zip(deltas, lengths, strict=True)]
    )
    out["e4_displacement_rate"] = _rate([dw < 0 for dw, _ in deltas])
    out["e4_both_decrease_rate"] = _rate([dw < 0 and dl < 0 for dw, dl in deltas])
    ratios = drastic_drop_ratios(deltas)
    out["e4_drastic_drop_ratio_median"] = median(ratios)
    out["e4_drastic_drop_pairs"] = float(len(ratios))
    return out


def dispersion(delta_unseen: Sequence[float]) -> dict[str, float]:
    """Drift onto responses not trained on: mean/median δ_u and Pr[δ_u > 0] (likelihood moved there).

    A rising δ_u while δ_w falls is the "dispersion" symptom; compare with `drift_metrics` at the same step.
    """
    if not delta_unseen:
        raise ValueError("E4 dispersion: no unseen responses to evaluate (the input is empty)")
    return {
        "e4_dispersion_mean": mean(delta_unseen),
        "e4_dispersion_median": median(delta_unseen),
        "e4_dispersion_rise_rate": _rate([d > 0 for d in delta_unseen]),
        "e4_dispersion_responses": float(len(delta_unseen)),
    }
