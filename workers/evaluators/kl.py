"""E7 (methods.md §7): on-policy KL from the reference, k1 and k3 estimates.

y ~ π_θ(·|x) sampled at T = 1 with no truncation (top-k off, top-p 1), stopped at EOS. Then, per
generated token, d_t = log π_θ(y_t|x, y_<t) − log π_ref(y_t|x, y_<t) from two no-grad forwards on the
same samples (adapter on / off). Cost: one generation and two scoring passes over K prompts.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

from workers.evaluators.ranking import bootstrap_mean_interval
from workers.generation import bare_generation_config, left_padded, sampling_config, trim_at_eos
from workers.logprobs import chunked_token_logps
from workers.scoring import autocast_for

KL_BATCH = 8


class KLResult(NamedTuple):
    metrics: dict[str, float]
    responses: list[list[int]]  # generated ids per prompt, EOS included when it was produced
    per_token_d: list[list[float]]


@torch.no_grad()
def sample_responses(
    model,
    prompts: Sequence[Sequence[int]],
    *,
    eos_id: int,
    pad_id: int,
    max_new_tokens: int = 64,
    seed: int = 0,
) -> list[list[int]]:
    """y ~ π_θ(·|x) at T = 1 for each prompt (chat-template ids), seeded without touching the global RNG."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    responses: list[list[int]] = []
    devices = [torch.cuda.current_device()] if device.type == "cuda" else []
    # T = 1 with every truncation and penalty off, and the model's own generation_config swapped out:
    # generate() fills unset knobs (min_p, ...) from it, and any of them would bias the estimate (§7).
    config = sampling_config(
        max_new_tokens=max_new_tokens, temperature=1.0, top_p=1.0, eos_id=eos_id, pad_id=pad_id
    )
    with torch.random.fork_rng(devices=devices), bare_generation_config(model, config):
        torch.manual_seed(seed)
        for start in range(0, len(prompts), KL_BATCH):
            ids, mask = left_padded(prompts[start : start + KL_BATCH], pad_id)
            out = model.generate(
                input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=config
            )
            responses += [trim_at_eos(row, eos_id) for row in out[:, ids.shape[1] :].tolist()]
    model.train(was_training)
    return responses


def _right_padded(prompts, responses, pad_id: int) -> dict[str, torch.Tensor]:
    """Rows prompt + response; the position P−1+j predicts response token j (at column P+j)."""
    rows = [list(p) + list(r) for p, r in zip(prompts, responses, strict=True)]
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    pred_rows, pred_cols = [], []
    for i, (row, prompt, response) in enumerate(zip(rows, prompts, responses, strict=True)):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
        pred_rows += [i] * len(response)
        pred_cols += [len(prompt) - 1 + j for j in range(len(response))]
    rows_t, cols_t = torch.tensor(pred_rows), torch.tensor(pred_cols)
    return {"input_ids": ids, "attention_mask": mask, "pred_rows": rows_t, "pred_cols": cols_t,
            "targets": ids[rows_t, cols_t + 1]}  # fmt: skip


@torch.no_grad()
def response_token_logps(
    model, prompts, responses, *, pad_id: int, precision: str = "fp32", adapter_disabled: bool = False
) -> list[list[float]]:
    """log π(y_t | x, y_<t) for every response token, one list per sequence (adapter off = π_ref)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    off = model.disable_adapter() if adapter_disabled else contextlib.nullcontext()
    out: list[list[float]] = []
    with off, autocast_for(precision, device):
        for start in range(0, len(prompts), KL_BATCH):
            chunk = responses[start : start + KL_BATCH]
            t = {
                k: v.to(device)
                for k, v in _right_padded(prompts[start : start + KL_BATCH], chunk, pad_id).items()
            }
            hidden = model.get_decoder()(
                input_ids=t["input_ids"], attention_mask=t["attention_mask"]
            ).last_hidden_state
            flat = (
                chunked_token_logps(
                    hidden[t["pred_rows"], t["pred_cols"]], t["targets"], model.get_output_embeddings()
                )
                .float()
                .cpu()
                .tolist()
            )
            for response in chunk:
                out.append(flat[: len(response)])
                flat = flat[len(response) :]
    model.train(was_training)
    return out


def kl_estimates(per_token_d: list[list[float]], confidence: float = 0.95) -> dict[str, float]:
    """k1 = Σ_t d_t and k3 = Σ_t (e^{−d_t} − 1 + d_t) per sequence, d_t = log π_θ − log π_ref.

    `*_sequence`: mean over sequences (with a bootstrap interval); `*_token`: Σ over all tokens / tokens.
    k1 is unbiased but can be negative per sample; k3 is never negative.
    """
    if not per_token_d:
        raise ValueError("E7: no sampled sequences to estimate KL on (the input is empty)")
    for index, ds in enumerate(per_token_d):
        if not ds:
            raise ValueError(f"E7: sequence {index} has no generated tokens (zero-length response)")
    k1 = [sum(ds) for ds in per_token_d]
    k3 = [sum(math.exp(-d) - 1.0 + d for d in ds) for ds in per_token_d]
    tokens = sum(len(ds) for ds in per_token_d)
    out = {"kl_samples": float(len(k1)), "kl_mean_tokens": tokens / len(k1)}
    for name, values in (("k1", k1), ("k3", k3)):
        low, high = bootstrap_mean_interval(values, confidence)
        out |= {f"kl_{name}_sequence": sum(values) / len(values), f"kl_{name}_sequence_ci_low": low,
                f"kl_{name}_sequence_ci_high": high, f"kl_{name}_token": sum(values) / tokens}  # fmt: skip
    return out


def kl_pass(
    model, prompts: Sequence[Sequence[int]], *, eos_id: int, pad_id: int,
    max_new_tokens: int = 64, seed: int = 0, precision: str = "fp32",
) -> KLResult:  # fmt: skip
    """E7 end to end on a PeftModel: sample from the policy, score with adapter on and off, estimate."""
    if not hasattr(model, "disable_adapter"):
        raise ValueError(
            "E7: KL to the reference needs the policy as a PeftModel (adapter on = π_θ, off = π_ref)"
        )
    if not prompts:
        raise ValueError("E7: no prompts to sample from (the input is empty)")
    responses = sample_responses(
        model, prompts, eos_id=eos_id, pad_id=pad_id, max_new_tokens=max_new_tokens, seed=seed
    )
    policy = response_token_logps(model, prompts, responses, pad_id=pad_id, precision=precision)
    ref = response_token_logps(
        model, prompts, responses, pad_id=pad_id, precision=precision, adapter_disabled=True
    )
    d = [[p - r for p, r in zip(ps, rs, strict=True)] for ps, rs in zip(policy, ref, strict=True)]
    return KLResult(kl_estimates(d), responses, d)
