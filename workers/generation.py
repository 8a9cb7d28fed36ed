"""Sampled answers to chat prompts, for comparing base and policy (methods.md §7 E6).

Base (adapter disabled) and policy (adapter enabled) are sampled with identical decoding: the same
chat-template prompt ids as training (`workers.tokenization.PairTokenizer`), T = 0.7 and top-p 0.9 by
default, the same `max_new_tokens`, and batch k seeded with seed + k, so one call's draws do not depend
on how long an earlier batch ran and the two sides see the same random stream batch by batch.

The model's own generation_config is swapped for a bare one while sampling: generate() fills every
knob a call leaves unset (top_k, min_p, repetition_penalty, ...) from it, and SmolLM2 ships one, so
otherwise the model's defaults would leak into a comparison that should be set by the recipe alone.
Prompts are left-padded so every row's next token sits in the last column.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import torch
from transformers import GenerationConfig

from workers.tokenization import PairTokenizer


class Generations(NamedTuple):
    texts: list[str]  # decoded without special tokens
    token_counts: list[int]  # generated tokens per answer, the closing EOS included when produced (§0.2)
    ids: list[list[int]]


def trim_at_eos(ids: Sequence[int], eos_id: int) -> list[int]:
    """Generated ids up to and including the first EOS; what generate() pads after it is dropped."""
    ids = list(ids)
    return ids[: ids.index(eos_id) + 1] if eos_id in ids else ids


def left_padded(prompts: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, prompt in enumerate(prompts):
        ids[i, width - len(prompt) :] = torch.tensor(list(prompt), dtype=torch.long)
        mask[i, width - len(prompt) :] = 1
    return ids, mask


def sampling_config(
    *, max_new_tokens: int, temperature: float, top_p: float, eos_id: int, pad_id: int,
    repetition_penalty: float = 1.0,
) -> GenerationConfig:  # fmt: skip
    """Every knob that changes the distribution set explicitly; T = 0 means greedy decoding."""
    sample = temperature > 0
    return GenerationConfig(
        do_sample=sample, temperature=temperature if sample else 1.0, top_p=top_p if sample else 1.0,
        top_k=0, min_p=None, typical_p=1.0, repetition_penalty=repetition_penalty, no_repeat_ngram_size=0,
        min_new_tokens=0, max_new_tokens=max_new_tokens, eos_token_id=eos_id, pad_token_id=pad_id,
    )  # fmt: skip


@contextlib.contextmanager
def bare_generation_config(model, config: GenerationConfig) -> Iterator[None]:
    target = model.get_base_model() if hasattr(model, "get_base_model") else model
    saved = getattr(target, "generation_config", None)
    target.generation_config = config
    try:
        yield
    finally:
        target.generation_config = saved


def _adapter_context(model, adapter_disabled: bool):
    if not adapter_disabled:
        return contextlib.nullcontext()
    if not hasattr(model, "disable_adapter"):
        raise ValueError("adapter_disabled=True needs a PeftModel (adapter off = the base model)")
    return model.disable_adapter()


@torch.no_grad()
def generate(
    model, tokenizer, prompts: Sequence[str], *, max_new_tokens: int, temperature: float = 0.7,
    top_p: float = 0.9, seed: int = 0, adapter_disabled: bool = False, batch_size: int = 8,
    max_prompt_length: int = 512, use_chat_template: bool = True, repetition_penalty: float = 1.0,
) -> Generations:  # fmt: skip
    """One sampled answer per prompt; the global RNG is left as it was."""
    ids_of = PairTokenizer(
        tokenizer, max_length=max_prompt_length + max_new_tokens, max_prompt_length=max_prompt_length,
        use_chat_template=use_chat_template,
    )  # fmt: skip
    prompt_ids = [ids_of.prompt_ids(p) for p in prompts]
    eos_id, pad_id = tokenizer.eos_token_id, tokenizer.pad_token_id
    config = sampling_config(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                             eos_id=eos_id, pad_id=pad_id, repetition_penalty=repetition_penalty)  # fmt: skip
    adapter = _adapter_context(model, adapter_disabled)  # refuses a plain model before anything changes
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    answers: list[list[int]] = []
    devices = [torch.cuda.current_device()] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), bare_generation_config(model, config), adapter:
        for batch, start in enumerate(range(0, len(prompt_ids), batch_size)):
            torch.manual_seed(seed + batch)
            ids, mask = left_padded(prompt_ids[start : start + batch_size], pad_id)
            out = model.generate(
                input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=config
            )
            answers += [trim_at_eos(row, eos_id) for row in out[:, ids.shape[1] :].tolist()]
    model.train(was_training)
    texts = [tokenizer.decode(a, skip_special_tokens=True).strip() for a in answers]
    return Generations(texts, [len(a) for a in answers], answers)
