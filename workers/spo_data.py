"""SPO's training rows: each pair packed with its degraded variants, and the pooled hidden states.

A row is `prompt + chosen + rejected + y^(1) + ... + y^(K_eff)`: the pair part is exactly the
prompt-shared layout of `workers.packing` (so `packed_logps` scores chosen and rejected unchanged), and
each variant is one more segment that sees only the prompt and itself, with positions restarting
after the prompt. The prompt is computed once for all 2 + K_eff responses, and the degree head reads
every response's mean hidden state from the same forward pass as the DPO loss.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from workers.batching import length_grouped_batches
from workers.logprobs import chunked_token_logps
from workers.packing import CHOSEN, PAD, PROMPT, REJECTED, pack_pairs
from workers.scoring import SCORING_BATCH_PAIRS, autocast_for
from workers.tokenization import TokenizedPair
from workers.trainer import PairCollator

FIRST_VARIANT = REJECTED + 1  # segment id of the first degraded variant in a row


@dataclass(frozen=True)
class SPOExample:
    """One pair and what the degree head learns from it: (variant token ids, degree) per variant."""

    pair: TokenizedPair
    variants: tuple[tuple[list[int], int], ...] = ()
    rejected_degree: int | None = None  # the rejected response's class when it is degraded too

    @property
    def length(self) -> int:
        """Tokens in its packed row, for length-grouped batches."""
        return self.pair.length + sum(len(ids) for ids, _ in self.variants)

    def pooled(self) -> list[tuple[int, int]]:
        """(segment id, degree) of every response the head classifies: chosen is degree 0."""
        out = [(CHOSEN, 0)]
        if self.rejected_degree is not None:
            out.append((REJECTED, self.rejected_degree))
        return out + [(FIRST_VARIANT + j, degree) for j, (_, degree) in enumerate(self.variants)]


def segment_mask_4d(segments: torch.Tensor) -> torch.Tensor:
    """[B, 1, T, T] bool: causal, no padding keys, each response sees only the prompt and itself.

    On prompt + chosen + rejected it equals `workers.packing.attention_mask_4d`.
    """
    width = segments.shape[1]
    causal = torch.ones(width, width, dtype=torch.bool).tril()
    same_or_prompt = (segments[:, None, :] == PROMPT) | (segments[:, :, None] == segments[:, None, :])
    mask = causal[None] & (segments != PAD)[:, None, :] & same_or_prompt
    mask |= torch.eye(width, dtype=torch.bool)[None] & (segments == PAD)[:, :, None]  # no all-masked rows
    return mask[:, None]


def _row(example: SPOExample) -> tuple[list[int], list[int], list[int]]:
    pair, p = example.pair, len(example.pair.prompt_ids)
    c, r = len(pair.chosen_ids), len(pair.rejected_ids)
    tokens = pair.prompt_ids + pair.chosen_ids + pair.rejected_ids
    positions = list(range(p + c)) + list(range(p, p + r))
    segments = [PROMPT] * p + [CHOSEN] * c + [REJECTED] * r
    for j, (ids, _) in enumerate(example.variants):
        tokens += ids
        positions += list(range(p, p + len(ids)))
        segments += [FIRST_VARIANT + j] * len(ids)
    return tokens, positions, segments


def _pooling(segments: torch.Tensor, examples: Sequence[SPOExample]) -> dict[str, torch.Tensor]:
    rows, cols, sample, degrees = [], [], [], []
    for i, example in enumerate(examples):
        for segment, degree in example.pooled():
            where = (segments[i] == segment).nonzero(as_tuple=True)[0].tolist()
            rows += [i] * len(where)
            cols += where
            sample += [len(degrees)] * len(where)
            degrees.append(degree)
    as_long = lambda values: torch.tensor(values, dtype=torch.long)  # noqa: E731
    return {"pool_rows": as_long(rows), "pool_cols": as_long(cols), "pool_sample": as_long(sample),
            "degrees": as_long(degrees)}  # fmt: skip


def pack_with_variants(examples: Sequence[SPOExample], pad_id: int) -> dict[str, torch.Tensor]:
    """`pack_pairs` tensors for the pair part, widened by the variant segments, plus pooling indices."""
    batch = pack_pairs([e.pair for e in examples], pad_id)  # predictor indices stay valid: a row prefix
    rows = [_row(example) for example in examples]
    width = max(len(tokens) for tokens, _, _ in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    position_ids = torch.zeros((len(rows), width), dtype=torch.long)
    segments = torch.full((len(rows), width), PAD, dtype=torch.long)
    for i, (tokens, positions, segs) in enumerate(rows):
        input_ids[i, : len(tokens)] = torch.tensor(tokens)
        position_ids[i, : len(tokens)] = torch.tensor(positions)
        segments[i, : len(tokens)] = torch.tensor(segs)
    batch |= {
        "input_ids": input_ids,
        "position_ids": position_ids,
        "attention_mask": segment_mask_4d(segments),
    }
    return batch | _pooling(segments, examples)


def mean_pooled(hidden: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """h(x, y) per pooled response: the mean last-layer hidden state over its tokens, [S, d] in fp32."""
    picked = hidden[batch["pool_rows"], batch["pool_cols"]].float()
    n_samples = batch["degrees"].shape[0]
    sums = picked.new_zeros(n_samples, hidden.shape[-1]).index_add(0, batch["pool_sample"], picked)
    counts = torch.bincount(batch["pool_sample"], minlength=n_samples).clamp(min=1)
    return sums / counts[:, None].to(sums.dtype)


def last_hidden(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The decoder's last hidden states of a packed batch (no LM head: the caller picks positions)."""
    return model.get_decoder()(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        position_ids=batch["position_ids"],
    ).last_hidden_state


class SPOCollator(PairCollator):
    def __call__(self, items: list[tuple[SPOExample, dict[str, torch.Tensor]]]) -> dict[str, torch.Tensor]:
        batch = pack_with_variants([example for example, _ in items], self.pad_id)
        for name in items[0][1]:
            batch[name] = torch.stack([extras[name] for _, extras in items])
        return batch


@torch.no_grad()
def response_token_logps(
    model: torch.nn.Module,
    pairs: Sequence[TokenizedPair],
    *,
    pad_id: int,
    precision: str,
    adapter_disabled: bool,
) -> list[tuple[list[float], list[float]]]:
    """Per-token log π(y_t | x, y_<t) of each pair's chosen and rejected response, in input order."""
    device = next(model.parameters()).device
    out: list[tuple[list[float], list[float]]] = [([], [])] * len(pairs)
    was_training = model.training
    model.eval()
    adapter = model.disable_adapter() if adapter_disabled else contextlib.nullcontext()
    with adapter, autocast_for(precision, device):
        for batch_indices in length_grouped_batches([p.length for p in pairs], SCORING_BATCH_PAIRS, seed=0):
            batch = {
                k: v.to(device) for k, v in pack_pairs([pairs[i] for i in batch_indices], pad_id).items()
            }
            hidden = last_hidden(model, batch)
            token_logps = (
                chunked_token_logps(
                    hidden[batch["pred_rows"], batch["pred_cols"]],
                    batch["targets"],
                    model.get_output_embeddings(),
                )
                .float()
                .cpu()
            )
            sequence = batch["seq_index"].cpu()
            for k, index in enumerate(batch_indices):  # sequence k is chosen, len(batch) + k rejected
                out[index] = (token_logps[sequence == k].tolist(),
                              token_logps[sequence == len(batch_indices) + k].tolist())  # fmt: skip
    model.train(was_training)
    return out
