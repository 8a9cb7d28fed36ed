"""Batched, no-grad scoring of pairs: summed response log-probs for chosen and rejected."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import torch

from workers.batching import length_grouped_batches
from workers.logprobs import packed_logps
from workers.packing import pack_pairs
from workers.tokenization import TokenizedPair

SCORING_BATCH_PAIRS = 8


def autocast_for(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def score_pairs(
    model: torch.nn.Module,
    pairs: Sequence[TokenizedPair],
    *,
    pad_id: int,
    precision: str = "fp32",
    adapter_disabled: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
    on_hidden: Callable[[list[int], torch.Tensor, dict[str, torch.Tensor]], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (logps [n, 2], token counts [n, 2]); column 0 chosen, 1 rejected, in input order.

    `on_hidden(pair_indices, last_hidden, batch)` sees each batch's hidden states (e.g. for CHES).
    """
    logps = torch.zeros(len(pairs), 2)
    counts = torch.zeros(len(pairs), 2, dtype=torch.long)
    device = next(model.parameters()).device
    batches = length_grouped_batches([p.length for p in pairs], SCORING_BATCH_PAIRS, seed=0)
    was_training = model.training
    model.eval()
    adapter_off = model.disable_adapter() if adapter_disabled else contextlib.nullcontext()
    with adapter_off, autocast_for(precision, device):
        for done, batch in enumerate(batches, start=1):
            tensors = {k: v.to(device) for k, v in pack_pairs([pairs[i] for i in batch], pad_id).items()}
            sums, n, *hidden = packed_logps(model, tensors, return_hidden=on_hidden is not None)
            if on_hidden:
                on_hidden(batch, hidden[0], tensors)
            half = len(batch)
            index = torch.tensor(batch)
            logps[index] = torch.stack([sums[:half], sums[half:]], dim=1).float().cpu()
            counts[index] = torch.stack([n[:half], n[half:]], dim=1).cpu()
            if on_batch:
                on_batch(done, len(batches))
    model.train(was_training)
    return logps, counts
