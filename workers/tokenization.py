"""Pairs → token ids with exactly the prompt masked (methods.md §0.2 and §1g-5).

The prompt is rendered with the model's chat template (generation prompt included) and the response is
what the full conversation adds after it, so training and evaluation score the same tokens a chat
model would produce. Prompts are cut from the left (the question usually sits at the end), responses
from the right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recipes.preference_data import PreferencePair


@dataclass(frozen=True)
class TokenizedPair:
    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int]

    @property
    def length(self) -> int:
        """Tokens in its packed row (workers.packing): the prompt once, then both responses."""
        return len(self.prompt_ids) + len(self.chosen_ids) + len(self.rejected_ids)


@dataclass(frozen=True)
class Tokenized:
    pairs: list[TokenizedPair]
    kept: list[int]  # index into the input pairs of each tokenized pair
    dropped_identical_after_truncation: int


class PairTokenizer:
    def __init__(self, tokenizer, *, max_length: int, max_prompt_length: int, use_chat_template: bool = True):
        self.tok = tokenizer
        self.max_length = max_length
        self.max_prompt_length = max_prompt_length
        self.use_chat_template = use_chat_template and bool(getattr(tokenizer, "chat_template", None))

    def _ids(self, text: str) -> list[int]:
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def prompt_ids(self, prompt: str) -> list[int]:
        if self.use_chat_template:
            ids = self.tok.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
            )
            ids = list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
        else:
            bos = [self.tok.bos_token_id] if self.tok.bos_token_id is not None else []
            ids = bos + self._ids(prompt)
        return ids[-self.max_prompt_length :]

    def response_ids(self, response: str) -> list[int]:
        # The chat template closes an assistant turn with its end-of-turn token; the model must learn
        # to emit it, so it belongs to the scored response (methods.md §0.2: EOS included).
        eos = self.tok.eos_token_id
        ids = self._ids(response)
        return ids + ([eos] if eos is not None else [])

    def __call__(self, pair: PreferencePair) -> TokenizedPair:
        prompt = self.prompt_ids(pair.prompt)
        room = max(self.max_length - len(prompt), 1)
        return TokenizedPair(
            prompt, self.response_ids(pair.chosen)[:room], self.response_ids(pair.rejected)[:room]
        )

    def many(self, pairs: Sequence[PreferencePair]) -> Tokenized:
        out, kept, dropped = [], [], 0
        for index, pair in enumerate(pairs):
            tokenized = self(pair)
            if tokenized.chosen_ids == tokenized.rejected_ids:
                dropped += 1  # truncation removed the only difference: no signal left (methods.md §1g-5)
                continue
            out.append(tokenized)
            kept.append(index)
        return Tokenized(out, kept, dropped)
