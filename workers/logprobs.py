"""Summed response log-probabilities without materialising full-vocabulary logits.

Only positions that predict a response token reach the LM head, in row chunks under activation
checkpointing, so peak memory grows with (response tokens in a chunk × vocabulary) instead of
(batch × sequence × vocabulary) as in a plain `model(...).logits.log_softmax(-1)` (methods.md §0.5:
that full tensor dominated TRL's 8 GB peak on SmolLM2).
"""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

LM_HEAD_CHUNK_ROWS = 1024


def _token_logps(hidden: torch.Tensor, targets: torch.Tensor, lm_head: torch.nn.Module) -> torch.Tensor:
    logits = lm_head(hidden).float()
    return logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def chunked_token_logps(
    hidden: torch.Tensor, targets: torch.Tensor, lm_head: torch.nn.Module
) -> torch.Tensor:
    """log p(target) per row of `hidden` ([M, d]); the LM head is recomputed in backward (cheap)."""
    pieces = []
    for start in range(0, hidden.shape[0], LM_HEAD_CHUNK_ROWS):
        h = hidden[start : start + LM_HEAD_CHUNK_ROWS]
        t = targets[start : start + LM_HEAD_CHUNK_ROWS]
        if torch.is_grad_enabled():
            pieces.append(checkpoint(_token_logps, h, t, lm_head, use_reentrant=False))
        else:
            pieces.append(_token_logps(h, t, lm_head))
    if not pieces:
        return hidden.new_zeros(0, dtype=torch.float32)
    return torch.cat(pieces)


def response_logps(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    response_mask: torch.Tensor,
    *,
    return_hidden: bool = False,
) -> tuple[torch.Tensor, torch.Tensor] | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sum of log π(y_t | x, y_<t) over response tokens of each row, and the response token counts.

    `response_mask[i, t] = 1` marks token t of row i as a response token (prompt and padding are 0).
    The logit at position t−1 predicts token t, hence the one-step shift.
    """
    decoder = model.get_decoder()
    hidden = decoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    predicts_response = response_mask[:, 1:].bool()
    rows = predicts_response.nonzero(as_tuple=True)[0]
    token_logps = chunked_token_logps(
        hidden[:, :-1][predicts_response], input_ids[:, 1:][predicts_response], model.get_output_embeddings()
    )
    sums = torch.zeros(input_ids.shape[0], dtype=torch.float32, device=input_ids.device)
    sums = sums.index_add(0, rows, token_logps)
    counts = predicts_response.sum(dim=1)
    if return_hidden:
        return sums, counts, hidden
    return sums, counts


def packed_logps(
    model: torch.nn.Module, batch: dict[str, torch.Tensor], *, return_hidden: bool = False
) -> tuple[torch.Tensor, ...]:
    """Summed log-probs and token counts of the 2B sequences in a `workers.packing.pack_pairs` batch.

    With `return_hidden`, also the last hidden states, so metrics such as CHES (methods.md §7 E5) ride
    on a scoring pass instead of running their own forward.
    """
    hidden = model.get_decoder()(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        position_ids=batch["position_ids"],
    ).last_hidden_state
    token_logps = chunked_token_logps(
        hidden[batch["pred_rows"], batch["pred_cols"]], batch["targets"], model.get_output_embeddings()
    )
    n_sequences = 2 * batch["input_ids"].shape[0]
    sums = torch.zeros(n_sequences, dtype=torch.float32, device=hidden.device)
    sums = sums.index_add(0, batch["seq_index"], token_logps)
    counts = torch.bincount(batch["seq_index"], minlength=n_sequences)
    return (sums, counts, hidden) if return_hidden else (sums, counts)
