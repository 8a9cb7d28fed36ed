"""Which pairs go into one batch, and the plain two-row layout used as the packing test oracle.

Pairs are grouped by length so a batch pads little (TRL's default random batches padded 38 % of
tokens on our demo data); batch order is still shuffled every epoch.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import torch

from workers.tokenization import TokenizedPair


def _row(prompt: list[int], response: list[int]) -> tuple[list[int], list[int]]:
    return prompt + response, [0] * len(prompt) + [1] * len(response)


def collate_pairs(pairs: Sequence[TokenizedPair], pad_id: int) -> dict[str, torch.Tensor]:
    """The plain two-row layout ([2B, T]: chosen rows, then rejected rows), for `response_logps`.

    Training and scoring use the prompt-shared `workers.packing`; this layout is its test oracle.
    """
    rows = [_row(p.prompt_ids, p.chosen_ids) for p in pairs] + [
        _row(p.prompt_ids, p.rejected_ids) for p in pairs
    ]
    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    response = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (ids, mask) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        attention[i, : len(ids)] = 1
        response[i, : len(ids)] = torch.tensor(mask)
    return {"input_ids": input_ids, "attention_mask": attention, "response_mask": response}


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int) -> list[list[int]]:
    """Indices cut into batches of similar length; batches shuffled, ties in length broken randomly."""
    rng = random.Random(seed)
    jitter = [rng.random() for _ in lengths]
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], jitter[i]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def padding_share(pairs: Sequence[TokenizedPair], batches: Sequence[Sequence[int]]) -> float:
    """Fraction of token slots in the padded, prompt-shared batches (workers.packing) that are padding."""
    real = padded = 0
    for batch in batches:
        rows = [pairs[i].length for i in batch]
        real += sum(rows)
        padded += max(rows) * len(rows)
    return 1.0 - real / padded if padded else 0.0


class LengthGroupedBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Yields whole batches; a new grouping every epoch (seed + epoch)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int):
        self.lengths, self.batch_size, self.seed, self.epoch = list(lengths), batch_size, seed, 0

    def __iter__(self) -> Iterator[list[int]]:
        batches = length_grouped_batches(self.lengths, self.batch_size, self.seed + self.epoch)
        self.epoch += 1
        return iter(batches)

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size
