"""The rationale sequence of RDPO (methods.md §5): its context, its target text, and its token rows.

The policy learns to write the pair's rationale r after a user turn c_r that shows the prompt, both
responses labelled "Response A" / "Response B", and the question. The paper's code always puts the
chosen response first, a position shortcut (methods.md §5 pitfall 1); with `randomize_slot` a seeded
coin per pair puts it in A or B and the target opens by naming the winning slot, so the rationale
stays true whichever slot the chosen response landed in.

Each pair gets one extra row, `context + rationale`, scored like a (prompt, response) pair; pairs
without a rationale get an empty row (length 0) and no rationale term. No reference pass is run on
these rows: the loss never reads π_ref(r | c_r) (methods.md §5e).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from recipes.preference_data import PreferencePair
from workers.errors import UserFacingError
from workers.tokenization import PairTokenizer

RATIONALE_QUESTION = "Which response is more preferable, and why?"
SLOTS = ("A", "B")
# Context and rationale are cut to these multiples of training.max_length: the context holds the
# prompt and two responses, the rationale is a response of its own.
CONTEXT_LENGTHS, RATIONALE_LENGTHS = 2, 1


@dataclass(frozen=True)
class RationaleExample:
    context: str  # the user turn c_r, before the chat template
    target: str  # what the policy must write: the rationale, opened by the winning slot's name


def chosen_slot(pair: PreferencePair, seed: int) -> str:
    """A or B from a hash of the seed and the pair's texts: stable under reordering and reruns."""
    key = "\x00".join((str(seed), pair.prompt, pair.chosen, pair.rejected)).encode()
    return SLOTS[hashlib.sha256(key).digest()[0] & 1]


def rationale_context(prompt: str, first: str, second: str) -> str:
    """c_r: the prompt, the two responses labelled A and B, then the question.

    The question comes last so that it sits right before the answer and survives a cut from the left.
    """
    return f"{prompt}\n\nResponse A:\n{first}\n\nResponse B:\n{second}\n\n{RATIONALE_QUESTION}"


def build_example(pair: PreferencePair, seed: int, randomize_slot: bool) -> RationaleExample | None:
    """The context and target for one pair; None when the pair has no (non-blank) rationale."""
    if pair.rationale is None or not pair.rationale.strip():
        return None
    rationale = pair.rationale.strip()
    if not randomize_slot:  # the paper's layout: chosen always first, the rationale as written
        return RationaleExample(rationale_context(pair.prompt, pair.chosen, pair.rejected), rationale)
    slot = chosen_slot(pair, seed)
    first, second = (pair.chosen, pair.rejected) if slot == "A" else (pair.rejected, pair.chosen)
    return RationaleExample(
        rationale_context(pair.prompt, first, second), f"Response {slot} is better. {rationale}"
    )


def require_rationales(pairs: Sequence[PreferencePair]) -> None:
    """The rationale option with data that has none would silently train plain DPO: refuse."""
    if not any(pair.rationale and pair.rationale.strip() for pair in pairs):
        raise UserFacingError(
            "method.rationale is set but no training pair has a rationale: map the column that holds it "
            "with data.fields.rationale, or remove method.rationale"
        )


def _ids(tokenizer: PairTokenizer, example: RationaleExample | None, max_length: int):
    if example is None:
        return [], []
    context = tokenizer.prompt_ids(example.context)  # cut from the left to CONTEXT_LENGTHS·max_length
    return context, tokenizer.response_ids(example.target)[: RATIONALE_LENGTHS * max_length]


def rationale_extras(
    pairs: Sequence[PreferencePair],
    hf_tokenizer,
    *,
    max_length: int,
    use_chat_template: bool,
    seed: int,
    randomize_slot: bool,
) -> dict[str, torch.Tensor]:
    """Per-pair tensors for the dataset: ids [N, W] (padded), context and rationale lengths [N]."""
    require_rationales(pairs)
    tokenizer = PairTokenizer(
        hf_tokenizer,
        max_length=(CONTEXT_LENGTHS + RATIONALE_LENGTHS) * max_length,
        max_prompt_length=CONTEXT_LENGTHS * max_length,
        use_chat_template=use_chat_template,
    )
    rows = [_ids(tokenizer, build_example(p, seed, randomize_slot), max_length) for p in pairs]
    width = max(len(c) + len(r) for c, r in rows)
    pad = hf_tokenizer.pad_token_id if hf_tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    for i, (context, rationale) in enumerate(rows):
        if rationale:
            ids[i, : len(context) + len(rationale)] = torch.tensor(context + rationale)
    return {
        "rationale_ids": ids,
        "rationale_context_lengths": torch.tensor([len(c) if r else 0 for c, r in rows]),
        "rationale_lengths": torch.tensor([len(r) for _, r in rows]),
    }


def rationale_inputs(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """(rows with a rationale, input_ids, attention_mask, response_mask) for `response_logps`.

    Rows are trimmed to the longest rationale row of the batch; the response mask marks the
    rationale tokens, so only they are scored.
    """
    rows = (batch["rationale_lengths"] > 0).nonzero(as_tuple=True)[0]
    context = batch["rationale_context_lengths"][rows]
    ends = context + batch["rationale_lengths"][rows]
    width = int(ends.max()) if rows.numel() else 0
    positions = torch.arange(width, device=rows.device)[None]
    attention_mask = (positions < ends[:, None]).long()
    response_mask = (positions >= context[:, None]).long() * attention_mask
    return rows, batch["rationale_ids"][rows, :width], attention_mask, response_mask
