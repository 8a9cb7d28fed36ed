"""Held-out metrics from the passes the training pipeline already ran (no extra forward passes).

One base (adapter off) and one policy (adapter on) scoring pass over the held-out pairs feed E1, E2,
E3 and E4; CHES (E5) comes from the hidden states of the base pass and of the training reference pass.
"""

from __future__ import annotations

from typing import Any

import torch

from workers.errors import UserFacingError
from workers.evaluators import (
    corpus_logps,
    dispersion,
    drift_deltas,
    drift_metrics,
    histogram,
    idealized_metrics,
    kl_pass,
    load_corpus,
    perplexity_metrics,
    spearman,
    token_windows,
)
from workers.evaluators.ranking import preference_metrics


def heldout_metrics(
    recipe, soft_labels, base: torch.Tensor, policy: torch.Tensor, lengths: torch.Tensor, beta: float
):
    """E1 + E3 (with intervals), E2 (idealized ranking accuracy, alignment gap) and E4 (drift)."""
    ev = recipe.evaluation
    base_l, policy_l, lengths_l = base.tolist(), policy.tolist(), lengths.tolist()
    metrics: dict[str, Any] = preference_metrics(
        base_l, policy_l, lengths_l, beta=beta, confidence=ev.confidence_level,
        bootstrap_samples=ev.bootstrap_samples,
    )  # fmt: skip
    metrics |= idealized_metrics(base_l, policy_l, lengths_l, soft_labels=soft_labels, beta=beta)
    metrics |= drift_metrics(base_l, policy_l, lengths_l)
    # Held-out responses were never trained on: their drift is E4's dispersion onto unseen responses.
    metrics |= dispersion([delta for pair in drift_deltas(base_l, policy_l) for delta in pair])
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


def kl_metrics(
    recipe, model, tokenizer, heldout_prompts: list[list[int]], precision: str
) -> dict[str, float]:
    """E7 on T=1 samples of the policy for the first `kl_prompts` distinct held-out prompts."""
    ev = recipe.evaluation
    prompts = [list(p) for p in dict.fromkeys(tuple(p) for p in heldout_prompts)][: ev.kl_prompts]
    result = kl_pass(
        model,
        prompts,
        eos_id=tokenizer.eos_token_id,
        pad_id=tokenizer.pad_token_id,
        max_new_tokens=ev.kl_max_new_tokens,
        seed=recipe.training.seed,
        precision=precision,
    )
    return result.metrics


def perplexity_delta(recipe, model, tokenizer, precision: str, on_batch, chosen) -> dict[str, float]:
    """E8: general-text perplexity of base and adapter, plus in-domain PPL on held-out chosen responses."""
    windows = token_windows(tokenizer, load_corpus())[: recipe.evaluation.perplexity_windows]
    common = {"pad_id": tokenizer.pad_token_id, "precision": precision, "on_batch": on_batch}
    base = corpus_logps(model, windows, adapter_disabled=True, **common)
    policy = corpus_logps(model, windows, **common)
    return perplexity_metrics(base, policy, *chosen)


def win_rate_report(recipe, model, tokenizer, split, out_dir) -> dict[str, float]:
    """E6: adapter vs base answers on held-out prompts, judged by a reward model trained only on the
    judge share of the data (never on training or held-out text). The judge's own held-out accuracy is
    reported next to the win rate, and `win_rate_judge_weak` is 1 when it is not clearly above chance."""
    from workers.evaluators.win_rate import win_rate_pass
    from workers.reward_models import MiniLMEncoder, PairwiseJudge

    if not split.judge:
        raise UserFacingError(
            "evaluation.win_rate needs judge pairs, but no data is disjoint from training and held-out: "
            "raise evaluation.judge_fraction or add data"
        )
    ev = recipe.evaluation
    judge = PairwiseJudge.fit(split.judge, MiniLMEncoder())
    judge.save(out_dir / "judge")
    out = judge.held_out_accuracy(split.heldout, ev.confidence_level)
    prompts = list(dict.fromkeys(pair.prompt for pair in split.heldout))[: ev.win_rate_prompts]
    result = win_rate_pass(
        model, tokenizer, prompts, judge, max_new_tokens=ev.win_rate_max_new_tokens,
        seed=recipe.training.seed, confidence=ev.confidence_level, bootstrap_samples=ev.bootstrap_samples,
        max_prompt_length=recipe.training.max_prompt_length, use_chat_template=recipe.model.use_chat_template,
    )  # fmt: skip
    out |= result.metrics
    out["win_rate_judge_weak"] = float(out["judge_accuracy_ci_low"] <= 0.5)
    return out
