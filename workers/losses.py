"""Preference losses as pure functions of per-sequence log-probabilities.

Every function takes summed response log-probs (methods.md §0.2) of the policy and of the reference
and returns per-pair losses, so each can be tested against hand-computed values on fixed tensors and
reused by every method runner.
Notation: Δ = (log π_θ(y_w) − log π_ref(y_w)) − (log π_θ(y_l) − log π_ref(y_l)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class PairLoss:
    losses: torch.Tensor  # per pair, shape [B]
    chosen_rewards: torch.Tensor  # β·(log π_θ(y_w) − log π_ref(y_w)), detached
    rejected_rewards: torch.Tensor  # β·(log π_θ(y_l) − log π_ref(y_l)), detached


def dpo_sigmoid(delta: torch.Tensor, beta: float, label_smoothing: float = 0.0) -> torch.Tensor:
    """Standard DPO, with the conservative (cDPO) soft label ε when label_smoothing > 0.

    L = −(1 − ε)·log σ(βΔ) − ε·log σ(−βΔ)
    """
    logits = beta * delta
    return -(1.0 - label_smoothing) * F.logsigmoid(logits) - label_smoothing * F.logsigmoid(-logits)


def dpo_robust(delta: torch.Tensor, beta: float, label_smoothing: float) -> torch.Tensor:
    """rDPO (Chowdhury et al.): unbiased loss under labels flipped with probability ε.

    L = [−(1 − ε)·log σ(βΔ) + ε·log σ(−βΔ)] / (1 − 2ε)
    """
    logits = beta * delta
    eps = label_smoothing
    return (-(1.0 - eps) * F.logsigmoid(logits) + eps * F.logsigmoid(-logits)) / (1.0 - 2.0 * eps)


def dpo_hinge(delta: torch.Tensor, beta: float) -> torch.Tensor:
    """SLiC-style hinge on the DPO logit: L = max(0, 1 − βΔ)."""
    return torch.relu(1.0 - beta * delta)


def dpo_ipo(delta_per_token: torch.Tensor, beta: float) -> torch.Tensor:
    """IPO (Azar et al.) on length-normalised log-ratios, as TRL does: L = (Δ̄ − 1/(2β))²."""
    return (delta_per_token - 1.0 / (2.0 * beta)) ** 2


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    *,
    beta: float,
    loss_type: str = "sigmoid",
    label_smoothing: float = 0.0,
    chosen_lengths: torch.Tensor | None = None,
    rejected_lengths: torch.Tensor | None = None,
) -> PairLoss:
    """The DPO family chosen by `loss_type` (sigmoid | ipo | hinge | robust); formulas above."""
    chosen_ratio = policy_chosen - ref_chosen
    rejected_ratio = policy_rejected - ref_rejected
    delta = chosen_ratio - rejected_ratio
    if loss_type == "sigmoid":
        losses = dpo_sigmoid(delta, beta, label_smoothing)
    elif loss_type == "robust":
        losses = dpo_robust(delta, beta, label_smoothing)
    elif loss_type == "hinge":
        losses = dpo_hinge(delta, beta)
    elif loss_type == "ipo":
        if chosen_lengths is None or rejected_lengths is None:
            raise ValueError("the ipo loss needs response lengths")
        per_token = chosen_ratio / chosen_lengths - rejected_ratio / rejected_lengths
        losses = dpo_ipo(per_token, beta)
    else:
        raise ValueError(f"unknown DPO loss type {loss_type!r}: use sigmoid, ipo, hinge or robust")
    return PairLoss(
        losses=losses,
        chosen_rewards=(beta * chosen_ratio).detach(),
        rejected_rewards=(beta * rejected_ratio).detach(),
    )
