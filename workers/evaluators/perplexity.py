"""E8 (methods.md §7): perplexity on a fixed general corpus (base vs policy) and on held-out chosen responses.

PPL = exp(−Σ_i Σ_t log π(z_{i,t} | z_{i,<t}) / Σ_i |z_i|). The corpus (examples/data/general-text.jsonl,
human-written OpenAssistant replies) is cut into non-overlapping windows of at most 256 tokens; the first
token of a window has no context and is not scored, so |z_i| = window length − 1. Cost: two no-grad
passes over the corpus (adapter off, then on).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from workers.batching import length_grouped_batches
from workers.logprobs import response_logps
from workers.scoring import autocast_for

CORPUS_PATH = Path(__file__).resolve().parents[2] / "examples" / "data" / "general-text.jsonl"
WINDOW_TOKENS = 256
PPL_BATCH = 8


def perplexity(sum_logp: float, n_tokens: int) -> float:
    """exp(−Σ log p / N) for N scored tokens."""
    if n_tokens <= 0:
        raise ValueError("E8: perplexity over zero tokens (the input is empty)")
    return math.exp(-sum_logp / n_tokens)


def in_domain_perplexity(chosen_logps: Sequence[float], chosen_counts: Sequence[int]) -> float:
    """PPL on held-out chosen responses: exp(−Σ log π(y_w|x) / Σ |y_w|), from the existing scoring pass."""
    if not chosen_logps:
        raise ValueError("E8: no held-out chosen responses (the input is empty)")
    for index, count in enumerate(chosen_counts):
        if count <= 0:
            raise ValueError(f"E8: held-out pair {index} has a zero-length chosen response")
    return perplexity(sum(chosen_logps), sum(chosen_counts))


def load_corpus(path: Path = CORPUS_PATH) -> list[str]:
    """The {"text": ...} lines of a JSONL corpus, in file order."""
    return [json.loads(line)["text"] for line in Path(path).read_text(encoding="utf-8").splitlines() if line]


def token_windows(tokenizer, texts: Sequence[str], window: int = WINDOW_TOKENS) -> list[list[int]]:
    """Each text's ids (no special tokens) cut into consecutive windows of ≤ `window` tokens.

    A one-token tail predicts nothing and is dropped.
    """
    if window < 2:
        raise ValueError(f"E8: window must be >= 2 tokens, got {window}")
    out = []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        out += [ids[i : i + window] for i in range(0, len(ids), window) if len(ids) - i >= 2]
    return out


def _right_padded(windows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(w) for w in windows)
    ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(windows), width), dtype=torch.long)
    for i, w in enumerate(windows):
        ids[i, : len(w)] = torch.tensor(w)
        mask[i, : len(w)] = 1
    return ids, mask


@torch.no_grad()
def corpus_logps(
    model, windows: Sequence[Sequence[int]], *, pad_id: int, precision: str = "fp32",
    adapter_disabled: bool = False, on_batch: Callable[[int, int], None] | None = None,
) -> tuple[float, int]:  # fmt: skip
    """(Σ log π(z_t | z_<t), scored tokens) over all windows; every token but a window's first is scored."""
    if not windows:
        raise ValueError("E8: no corpus windows to score (the input is empty)")
    device = next(model.parameters()).device
    batches = length_grouped_batches([len(w) for w in windows], PPL_BATCH, seed=0)
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    off = model.disable_adapter() if adapter_disabled else contextlib.nullcontext()
    with off, autocast_for(precision, device):
        for done, batch in enumerate(batches, start=1):
            ids, mask = (t.to(device) for t in _right_padded([windows[i] for i in batch], pad_id))
            # response_mask = attention mask: every real token after the first is a scored target
            sums, counts = response_logps(model, ids, mask, mask)
            total += float(sums.double().sum())
            count += int(counts.sum())
            if on_batch:
                on_batch(done, len(batches))
    model.train(was_training)
    return total, count


def perplexity_metrics(
    base: tuple[float, int],
    policy: tuple[float, int],
    chosen_base: tuple[Sequence[float], Sequence[int]] | None = None,
    chosen_policy: tuple[Sequence[float], Sequence[int]] | None = None,
) -> dict[str, float]:
    """E8: PPL_base, PPL_policy, ΔPPL = policy − base on the corpus; in-domain PPL on chosen responses.

    `base` / `policy`: (Σ log p, tokens) from `corpus_logps`; `chosen_*`: (summed log-probs, counts).
    """
    out = {"ppl_base": perplexity(*base), "ppl_policy": perplexity(*policy), "ppl_tokens": float(base[1])}
    out["ppl_delta"] = out["ppl_policy"] - out["ppl_base"]
    if chosen_base is not None:
        out["ppl_in_domain_base"] = in_domain_perplexity(*chosen_base)
    if chosen_policy is not None:
        out["ppl_in_domain_policy"] = in_domain_perplexity(*chosen_policy)
    if chosen_base is not None and chosen_policy is not None:
        out["ppl_in_domain_delta"] = out["ppl_in_domain_policy"] - out["ppl_in_domain_base"]
    return out
