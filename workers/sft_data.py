"""Prompt + response rows for supervised (NLL) training steps, e.g. RPS's direction-conditioned SFT."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SFTExample:
    prompt_ids: list[int]
    response_ids: list[int]

    @property
    def length(self) -> int:
        return len(self.prompt_ids) + len(self.response_ids)


class SFTDataset(torch.utils.data.Dataset):
    def __init__(self, examples: Sequence[SFTExample]):
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> SFTExample:
        return self.examples[index]

    def lengths(self) -> list[int]:  # for the trainer's length-grouped batches
        return [example.length for example in self.examples]


class SFTCollator:
    """Right-padded rows with a response mask: the layout `workers.logprobs.response_logps` reads."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, examples: Sequence[SFTExample]) -> dict[str, torch.Tensor]:
        width = max(example.length for example in examples)
        input_ids = torch.full((len(examples), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(examples), width), dtype=torch.long)
        response = torch.zeros((len(examples), width), dtype=torch.long)
        for row, example in enumerate(examples):
            ids = example.prompt_ids + example.response_ids
            input_ids[row, : len(ids)] = torch.tensor(ids)
            attention[row, : len(ids)] = 1
            response[row, len(example.prompt_ids) : len(ids)] = 1
        return {"input_ids": input_ids, "attention_mask": attention, "response_mask": response}
