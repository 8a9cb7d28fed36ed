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


# --- Per-pair label strength and Flex-DPO (methods.md §6.2 item 4, §7 E4) ----------------------------
# These take the DPO logit z directly (z = βΔ, or β⁺·r_w − β⁻·r_l under Flex-DPO) so each composes with
# either form of the logit.


def flex_logits(
    chosen_ratio: torch.Tensor, rejected_ratio: torch.Tensor, beta: float, beta_rejected: float
) -> torch.Tensor:
    """z = β⁺·r_w − β⁻·r_l with r = log π_θ(y) − log π_ref(y); β⁺ = β⁻ gives βΔ."""
    return beta * chosen_ratio - beta_rejected * rejected_ratio


def flex_dpo(
    chosen_ratio: torch.Tensor, rejected_ratio: torch.Tensor, beta: float, beta_rejected: float
) -> torch.Tensor:
    """Flex-DPO (Yan et al., 3D-properties): L = −log σ(β⁺·r_w − β⁻·r_l)."""
    return -F.logsigmoid(flex_logits(chosen_ratio, rejected_ratio, beta, beta_rejected))


def dpo_margin(
    logits: torch.Tensor, strength: torch.Tensor, margin_scale: float, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Margin-DPO (the Secrets-II adaptive margin moved into DPO): L = −log σ(z − γ_m·m).

    A stronger preference must be won by a wider logit margin before the loss flattens. With
    label_smoothing ε the shifted logit goes through cDPO: −(1−ε)·log σ(z − γ_m·m) − ε·log σ(γ_m·m − z).
    """
    return dpo_sigmoid(logits - margin_scale * strength, 1.0, label_smoothing)


def dpo_strength_weighted(losses: torch.Tensor, strength: torch.Tensor, mean_strength: float) -> torch.Tensor:
    """Strength-weighted DPO: L = (m / m̄)·ℓ, with ℓ the per-pair loss (−log σ(z) for sigmoid).

    m̄ is the training set's mean strength, fixed once, so the loss keeps its scale across batches.
    """
    return strength / mean_strength * losses


def dpo_soft_label(logits: torch.Tensor, soft_label: torch.Tensor) -> torch.Tensor:
    """Soft-label DPO, cDPO form with a per-pair p = P(chosen ≻ rejected):

    L = −[p·log σ(z) + (1 − p)·log σ(−z)]; p = 1 is plain DPO, p = 0.5 gives no gradient (a tie).
    """
    return -soft_label * F.logsigmoid(logits) - (1.0 - soft_label) * F.logsigmoid(-logits)


# --- Rationale term (RDPO, methods.md §5) ----------------------------------------------------------


def rationale_nll_linear(rationale_logps: torch.Tensor, weight: float) -> torch.Tensor:
    """The paper's term: L_r = −γ·log π_θ(r | c_r), log π summed over rationale tokens."""
    return -weight * rationale_logps


def rationale_saturating(rationale_logps: torch.Tensor, weight: float) -> torch.Tensor:
    """The paper's code: L_r = −log σ(γ·log π_θ(r | c_r)).

    log π ≤ 0, so the term lies in [log 2, ∞) and is ≈ the linear one while γ·|log π| is large; its
    gradient γ·(1 − σ(γ·log π)) fades from γ to γ/2 as the rationale becomes likely.
    """
    return -F.logsigmoid(weight * rationale_logps)


@dataclass(frozen=True)
class PairSignal:
    """Per-pair label information for the §6.2 losses; `None` fields are not used."""

    weighting: str = "none"  # none | margin | strength | soft_label
    strength: torch.Tensor | None = None  # m per pair (1 where the data has none)
    mean_strength: float = 1.0  # m̄ of the training set
    margin_scale: float = 1.0  # γ_m
    soft_label: torch.Tensor | None = None  # p per pair


def _logit_losses(logits: torch.Tensor, loss_type: str, label_smoothing: float, signal: PairSignal):
    """sigmoid | robust | hinge on a precomputed logit z (z = βΔ or its Flex-DPO form)."""
    if signal.weighting == "margin":
        return dpo_margin(logits, signal.strength, signal.margin_scale, label_smoothing)
    if signal.weighting == "soft_label":
        return dpo_soft_label(logits, signal.soft_label)
    if loss_type == "sigmoid":
        return dpo_sigmoid(logits, 1.0, label_smoothing)
    if loss_type == "robust":
        return dpo_robust(logits, 1.0, label_smoothing)
    if loss_type == "hinge":
        return dpo_hinge(logits, 1.0)
    raise ValueError(f"loss type {loss_type!r} has no logit form: use sigmoid, hinge or robust")


def _classic_losses(
    chosen_ratio: torch.Tensor,
    rejected_ratio: torch.Tensor,
    beta: float,
    loss_type: str,
    label_smoothing: float,
    chosen_lengths: torch.Tensor | None,
    rejected_lengths: torch.Tensor | None,
) -> torch.Tensor:
    """The four `loss_type`s on βΔ, exactly as before the §6.2 options (no signal, one β)."""
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
    return losses


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
    beta_rejected: float | None = None,
    signal: PairSignal | None = None,
) -> PairLoss:
    """The DPO family chosen by `loss_type` (sigmoid | ipo | hinge | robust); formulas above.

    `beta_rejected` switches to Flex-DPO logits β⁺·r_w − β⁻·r_l; `signal` adds the §6.2 pair weighting.
    Without either, the result is bit-identical to the plain losses (the same operations run).
    """
    chosen_ratio = policy_chosen - ref_chosen
    rejected_ratio = policy_rejected - ref_rejected
    signal = signal or PairSignal()
    beta_minus = beta if beta_rejected is None else beta_rejected
    if beta_rejected is None and signal.weighting in ("none", "strength"):
        losses = _classic_losses(
            chosen_ratio, rejected_ratio, beta, loss_type, label_smoothing, chosen_lengths, rejected_lengths
        )
    else:
        logits = flex_logits(chosen_ratio, rejected_ratio, beta, beta_minus)
        losses = _logit_losses(logits, loss_type, label_smoothing, signal)
    if signal.weighting == "strength":
        losses = dpo_strength_weighted(losses, signal.strength, signal.mean_strength)
    return PairLoss(
        losses=losses,
        chosen_rewards=(beta * chosen_ratio).detach(),
        rejected_rewards=(beta_minus * rejected_ratio).detach(),
    )


def sft_nll(response_logps: torch.Tensor, response_lengths: torch.Tensor) -> torch.Tensor:
    """Per-row mean token NLL, −log π(y|x)/|y|: the rejection-sampling fine-tuning step of DPA (§4A).

    Normalised per token so long and short selected responses weigh the same in a batch.
    """
    return -response_logps / response_lengths.clamp(min=1).to(response_logps.dtype)


# --- PRO — Preference Orchestrator (methods.md §3A) ------------------------------------------------


def preference_adapter_kl(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """The preference adapter's loss per prompt: KL(t ‖ w) with w = softmax(z) over the m objectives.

    KL(t ‖ w) = Σ_i t_i·(log t_i − log w_i), with 0·log 0 = 0, so a target that puts no mass on an
    objective adds nothing for it. t: [P, m] rows on the simplex; z: [P, m] adapter logits.
    """
    log_w = F.log_softmax(logits, dim=-1)
    log_t = torch.log(target.clamp(min=torch.finfo(target.dtype).tiny))
    return torch.where(target > 0, target * (log_t - log_w), torch.zeros_like(target)).sum(dim=-1)


def scalarized_rewards(weights: torch.Tensor, normalized_scores: torch.Tensor) -> torch.Tensor:
    """R(x, y) = Σ_i w_i(x)·r̃_i(x, y) for one prompt: weights [m], normalized scores [k, m] → [k]."""
    return normalized_scores @ weights


# --- Listwise ranking: PRO — Preference Ranking Optimization (methods.md §3B) --------------------


@dataclass(frozen=True)
class RankingLoss:
    losses: torch.Tensor  # per list, shape [B]: rank_losses + sft_losses
    rank_losses: torch.Tensor  # Σ_k of the per-position softmax terms, [B]
    sft_losses: torch.Tensor  # λ·(n−1)²·(−log π(y¹|x)), [B]


def pro_ranking_loss(
    scores: torch.Tensor,
    top_logps: torch.Tensor,
    gaps: torch.Tensor,
    beats: torch.Tensor,
    sizes: torch.Tensor,
    sft_weight: float,
) -> RankingLoss:
    """PRO per list (Song et al. 2024; official code), responses in order y¹ ≻ … ≻ yⁿ:

        L_rank = Σ_k −log [ exp(d_k^k·s_k) / (exp(d_k^k·s_k) + Σ_{i∈W(k)} exp(d_k^i·s_i)) ]
        d_k^k  = max_{i∈W(k)} d_k^i                      (the self-gap)
        L      = L_rank + λ_sft·(n−1)²·(−log π(y¹|x))

    s_k: the mean token log-prob of y^k ([B, N]; length-normalised, §0.2). top_logps: the SUMMED
    log-prob of y¹ ([B]), as in the official SFT term. gaps[b, k, i] = d_k^i ([B, N, N]; all 1 for
    vanilla PRO). beats[b, k, i]: y^i is in W(k), the strictly worse responses after position k
    ([B, N, N] bool); padding slots of ragged lists and exact ties are False, and a position with an
    empty W(k) adds nothing. sizes: n of each list ([B]).
    """
    d = torch.where(beats, gaps, torch.zeros_like(gaps))
    self_gap = d.amax(dim=-1)  # [B, N]; 0 where W(k) is empty (masked below)
    positive = self_gap * scores
    negatives = (d * scores[:, None, :]).masked_fill(~beats, float("-inf"))
    logits = torch.cat([positive[..., None], negatives], dim=-1)  # [B, N, N + 1]
    terms = torch.logsumexp(logits, dim=-1) - positive
    rank = torch.where(beats.any(dim=-1), terms, torch.zeros_like(terms)).sum(dim=-1)
    sft = sft_weight * (sizes.to(scores.dtype) - 1) ** 2 * -top_logps
    return RankingLoss(losses=rank + sft, rank_losses=rank, sft_losses=sft)


# --- SPO: self-supervised preference degree (methods.md §2b) --------------------------------------


def degree_classification_losses(degree_logits: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """SPO's self-supervised term per classified response: L_k = −log softmax(g_φ(h(x, y^(k))))_k.

    degree_logits: [S, K + 1] head outputs; degrees: [S] the number k of key units deleted (0 = original).
    """
    return F.cross_entropy(degree_logits.float(), degrees, reduction="none")


def spo_objective(
    alignment_losses: torch.Tensor, degree_losses: torch.Tensor, ssl_weight: float
) -> torch.Tensor:
    """L_SPO = mean over pairs of L_align + λ · mean over classified responses of L_SSL.

    The two means run over different sets (a pair brings 1 + K_eff responses), so each term keeps its
    scale whatever the number of variants; no classified response means no SSL term.
    """
    if degree_losses.numel() == 0:
        return alignment_losses.mean()
    return alignment_losses.mean() + ssl_weight * degree_losses.mean()
