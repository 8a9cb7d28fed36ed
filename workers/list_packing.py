"""Ranked lists as model input, in two layouts that give the same log-probs (a test checks it).

- plain (`plain_rows`): one row per response, `prompt + y`; the prompt is repeated n times.
- packed (`pack_lists`): one row per list, `prompt + y¹ + … + yⁿ`, the prompt once. The generalisation
  of `workers.packing` (two responses): a 4-D attention mask lets each response see the prompt and
  its own earlier tokens only, and position ids restart every response right after the prompt.

Training and scoring pick the layout per batch by token slots (`layout_batch`), from two measurements
of a forward + backward (SmolLM2-135M, 2-core CPU, bf16 autocast, interleaved runs on a busy machine):
- OASST lists (prompts ~77 tokens, up to 4 responses of up to ~240): packed rows took 1.3-1.7x the
  time of plain rows despite 35 % fewer token slots: attention over one long row with a dense 4-D mask
  costs more than the repeated prompts save;
- USR Topical-Chat lists (prompts ~160 tokens, 6 responses of ~28): packed rows took 0.65-0.95x the
  time of plain rows with 74 % fewer token slots.
So a batch is packed only when that at least halves its token slots (`PACK_BELOW`). Sequence j of list
b is slot b·N + j, N being the longest list in the batch; shorter lists leave their slots empty.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import torch

from workers.batching import length_grouped_batches
from workers.logprobs import chunked_token_logps, response_logps
from workers.ranked_lists import TokenizedList
from workers.scoring import autocast_for

PROMPT, PAD = 0, -1  # response j of a list is segment j + 1
SCORING_BATCH_LISTS = 4
PACK_BELOW = 0.5  # pack a batch when its packed token slots are below this share of the plain ones


def _row(item: TokenizedList) -> tuple[list[int], list[int], list[int]]:
    p = len(item.prompt_ids)
    tokens, positions, segments = list(item.prompt_ids), list(range(p)), [PROMPT] * p
    for j, ids in enumerate(item.response_ids):
        tokens += ids
        positions += range(p, p + len(ids))
        segments += [j + 1] * len(ids)
    return tokens, positions, segments


def list_attention_mask(segments: torch.Tensor) -> torch.Tensor:
    """[B, 1, T, T] bool, True = may attend: causal, to the prompt or within one's own response."""
    width = segments.shape[1]
    causal = torch.ones(width, width, dtype=torch.bool).tril()
    keys, queries = segments[:, None, :], segments[:, :, None]
    visible = (keys == PROMPT) | (keys == queries)
    mask = causal[None] & visible & (keys != PAD)
    # A padding query that may attend to nothing would give NaN in softmax; let it see itself.
    mask |= torch.eye(width, dtype=torch.bool)[None] & (queries == PAD)
    return mask[:, None]


def _predictions(item: TokenizedList, row: int, width: int) -> tuple[list[int], list[int], list[int]]:
    """(packed column predicting each response token, that token, its sequence slot) for one list."""
    p = len(item.prompt_ids)
    cols, targets, slots, start = [], [], [], p
    for j, ids in enumerate(item.response_ids):
        # The first token of every response follows the last prompt token, not the previous response.
        cols += [p - 1] + list(range(start, start + len(ids) - 1))
        targets += ids
        slots += [row * width + j] * len(ids)
        start += len(ids)
    return cols, targets, slots


def pack_lists(lists: Sequence[TokenizedList], pad_id: int) -> dict[str, torch.Tensor]:
    """Tensors for `list_logps`; `sizes` [B] holds each list's n and `n_slots` the N of the batch."""
    rows = [_row(item) for item in lists]
    width = max(len(tokens) for tokens, _, _ in rows)
    n_slots = max(len(item.response_ids) for item in lists)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    position_ids = torch.zeros((len(rows), width), dtype=torch.long)
    segments = torch.full((len(rows), width), PAD, dtype=torch.long)
    pred_rows, pred_cols, targets, seq_index = [], [], [], []
    for i, (item, (tokens, positions, segs)) in enumerate(zip(lists, rows, strict=True)):
        input_ids[i, : len(tokens)] = torch.tensor(tokens)
        position_ids[i, : len(tokens)] = torch.tensor(positions)
        segments[i, : len(tokens)] = torch.tensor(segs)
        cols, tgts, slots = _predictions(item, i, n_slots)
        pred_rows += [i] * len(cols)
        pred_cols, targets, seq_index = pred_cols + cols, targets + tgts, seq_index + slots
    return {
        "input_ids": input_ids, "position_ids": position_ids, "attention_mask": list_attention_mask(segments),
        "pred_rows": torch.tensor(pred_rows), "pred_cols": torch.tensor(pred_cols),
        "targets": torch.tensor(targets), "seq_index": torch.tensor(seq_index),
        "sizes": torch.tensor([len(item.response_ids) for item in lists]), "n_slots": torch.tensor(n_slots),
    }  # fmt: skip


def list_logps(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed response log-probs and token counts, both [B, N], of a `pack_lists` or `plain_rows` batch."""
    n_lists, n_slots = batch["sizes"].shape[0], int(batch["n_slots"])
    if "response_mask" in batch:  # plain rows: one sequence per row
        sums, counts = response_logps(
            model, batch["input_ids"], batch["attention_mask"], batch["response_mask"]
        )
        seq_index = batch["slot_index"]
        token_counts = counts
    else:
        hidden = model.get_decoder()(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            position_ids=batch["position_ids"],
        ).last_hidden_state
        sums = chunked_token_logps(
            hidden[batch["pred_rows"], batch["pred_cols"]], batch["targets"], model.get_output_embeddings()
        )
        seq_index = batch["seq_index"]
        token_counts = torch.ones_like(seq_index)
    slots = torch.zeros(n_lists * n_slots, dtype=torch.float32, device=sums.device)
    slots = slots.index_add(0, seq_index, sums.float())
    counts = torch.zeros(n_lists * n_slots, dtype=torch.long, device=sums.device)
    counts = counts.index_add(0, seq_index, token_counts.long())
    return slots.view(n_lists, n_slots), counts.view(n_lists, n_slots)


def plain_rows(lists: Sequence[TokenizedList], pad_id: int) -> dict[str, torch.Tensor]:
    """One row per response (`prompt + y`), list by list, for `response_logps`; `slot_index` says
    which [B, N] slot each row fills."""
    n_slots = max(len(item.response_ids) for item in lists)
    rows = [(item.prompt_ids + ids, len(item.prompt_ids), b * n_slots + j)
            for b, item in enumerate(lists) for j, ids in enumerate(item.response_ids)]  # fmt: skip
    width = max(len(ids) for ids, _, _ in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    response = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (ids, prompt_length, _) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        attention[i, : len(ids)] = 1
        response[i, prompt_length : len(ids)] = 1
    return {
        "input_ids": input_ids, "attention_mask": attention, "response_mask": response,
        "slot_index": torch.tensor([slot for _, _, slot in rows]),
        "sizes": torch.tensor([len(item.response_ids) for item in lists]), "n_slots": torch.tensor(n_slots),
    }  # fmt: skip


def _slots(lists: Sequence[TokenizedList]) -> tuple[int, int]:
    """(packed, plain) token slots of a batch, padding included."""
    packed = len(lists) * max(item.length for item in lists)
    widths = [len(item.prompt_ids) + len(ids) for item in lists for ids in item.response_ids]
    return packed, len(widths) * max(widths)


def layout_batch(lists: Sequence[TokenizedList], pad_id: int) -> dict[str, torch.Tensor]:
    """The cheaper layout for this batch (see the module docstring)."""
    packed, plain = _slots(lists)
    return pack_lists(lists, pad_id) if packed < PACK_BELOW * plain else plain_rows(lists, pad_id)


@torch.no_grad()
def score_lists(
    model: torch.nn.Module,
    lists: Sequence[TokenizedList],
    *,
    pad_id: int,
    precision: str = "fp32",
    adapter_disabled: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> list[tuple[list[float], list[int]]]:
    """(summed log-probs, token counts) of every response of every list, in input order."""
    out: list = [None] * len(lists)
    device = next(model.parameters()).device
    batches = length_grouped_batches([item.length for item in lists], SCORING_BATCH_LISTS, seed=0)
    was_training = model.training
    model.eval()
    adapter_off = model.disable_adapter() if adapter_disabled else contextlib.nullcontext()
    with adapter_off, autocast_for(precision, device):
        for done, batch in enumerate(batches, start=1):
            tensors = layout_batch([lists[i] for i in batch], pad_id)
            sums, counts = list_logps(model, {k: v.to(device) for k, v in tensors.items()})
            for row, index in enumerate(batch):
                n = len(lists[index].response_ids)
                out[index] = (sums[row, :n].float().cpu().tolist(), counts[row, :n].cpu().tolist())
            if on_batch:
                on_batch(done, len(batches))
    model.train(was_training)
    return out
