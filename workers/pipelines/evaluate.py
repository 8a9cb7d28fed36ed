"""Held-out metrics from the passes the training pipeline already ran (no extra forward passes).

One base (adapter off) and one policy (adapter on) scoring pass over the held-out pairs feed E1, E2,
E3 and E4; CHES (E5) comes from the hidden states of the base pass and of the training reference pass.
"""

from __future__ import annotations

from typing import Any

import torch

from workers.evaluation import preference_metrics
from workers.evaluators import drift_deltas, drift_metrics, histogram, idealized_metrics, spearman


def heldout_metrics(recipe, soft_labels, base: torch.Tensor, policy: torch.Tensor, lengths: torch.Tensor):
    """E1 + E3 (with intervals), E2 (idealized ranking accuracy, alignment gap) and E4 (drift)."""
    ev = recipe.evaluation
    base_l, policy_l, lengths_l = base.tolist(), policy.tolist(), lengths.tolist()
    metrics: dict[str, Any] = preference_metrics(
        base_l, policy_l, lengths_l, beta=recipe.method.beta, confidence=ev.confidence_level,
        bootstrap_samples=ev.bootstrap_samples,
    )  # fmt: skip
    metrics |= idealized_metrics(
        base_l, policy_l, lengths_l, soft_labels=soft_labels, beta=recipe.method.beta
    )
    metrics |= drift_metrics(base_l, policy_l, lengths_l)
    return {k: float(v) if isinstance(v, bool) else v for k, v in metrics.items()}


def ches_report(
    train_ln_ches: list[float], kept: list[int], heldout_ln_ches: list[float], base, policy
) -> dict:
    """The data check of E5: LN-CHES over training pairs, what was dropped, and whether it predicts drift."""
    chosen_drift = [d_w for d_w, _ in drift_deltas(base.tolist(), policy.tolist())]
    return {
        "ln_ches": train_ln_ches,
        "histogram": histogram(train_ln_ches, bins=20),
        "train_pairs": len(train_ln_ches),
        "dropped_pairs": len(train_ln_ches) - len(kept),
        "heldout_spearman_ln_ches_vs_chosen_drift": spearman(heldout_ln_ches, chosen_drift)
        if len(heldout_ln_ches) > 1
        else float("nan"),
    }
