"""Pairs → `SPOExample`s: each chosen response (and, if asked, each rejected one) with its degraded
variants as token ids, built once before training and again on held-out pairs for the report.

Selectors (methods.md §2b, studio choices [D]):
- `base_contribution`: a unit's importance is its tokens' total surprisal −Σ log π_ref(y_t | x, y_<t)
  under the base model (adapter off), read from one no-grad pass over prompt + response;
- `longest`: characters; `random`: a seeded draw per response.
Only units the model sees after truncation can be deleted, so a variant always differs from the
response the DPO loss scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workers.spo_data import SPOExample, response_token_logps
from workers.spo_units import (
    degraded_texts,
    deletion_order,
    effective_units,
    longest_first,
    random_importance,
    sentence_units,
    unit_token_spans,
)
from workers.tokenization import PairTokenizer, TokenizedPair

SELECTORS = ("base_contribution", "longest", "random")


@dataclass
class VariantStats:
    """How many responses could be degraded; reported so a data set of one-liners is visible."""

    responses: int = 0
    with_variants: int = 0
    variants: int = 0
    identical_after_truncation: int = 0  # variants dropped: same tokens as a less degraded one

    def as_dict(self, prefix: str) -> dict[str, float]:
        out = {f"{prefix}_responses": self.responses, f"{prefix}_responses_with_variants": self.with_variants,
               f"{prefix}_variants": self.variants,
               f"{prefix}_variants_identical_dropped": self.identical_after_truncation}  # fmt: skip
        return {k: float(v) for k, v in out.items()}


class VariantBuilder:
    def __init__(self, tokenizer, pair_tokenizer: PairTokenizer, *, units: int, selector: str, seed: int):
        if selector not in SELECTORS:
            raise ValueError(f"unknown SPO selector {selector!r}: use one of {', '.join(SELECTORS)}")
        self.tokenizer = tokenizer
        self.pair_tokenizer = pair_tokenizer
        self.units = units
        self.selector = selector
        self.text_importance = longest_first if selector == "longest" else random_importance(seed)

    def _tokenize(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _importance(self, text, units, spans, token_logps: Sequence[float] | None) -> list[float]:
        if self.selector != "base_contribution":
            return self.text_importance(text, units)
        n = len(token_logps)
        return [-sum(token_logps[start : min(end, n)]) for start, end in spans]

    def variants(
        self,
        text: str,
        kept_ids: list[int],
        room: int,
        token_logps: Sequence[float] | None,
        stats: VariantStats,
    ) -> list[tuple[list[int], int]]:
        """[(token ids of y^(k), k)] for k = 1..K_eff; `kept_ids` is the response as the DPO loss sees it."""
        stats.responses += 1
        units = sentence_units(text)
        spans = unit_token_spans(self._tokenize, text, units)
        visible = [i for i, (start, _) in enumerate(spans) if start < len(kept_ids)]
        k_eff = effective_units(self.units, len(units), len(visible))
        importance = self._importance(text, units, spans, token_logps)
        order = [i for i in deletion_order(importance) if i in visible]
        out, previous = [], kept_ids
        for k, degraded in enumerate(degraded_texts(text, units, order, k_eff), start=1):
            ids = self.pair_tokenizer.response_ids(degraded)[:room]
            if ids == previous:
                stats.identical_after_truncation += 1
                continue
            out.append((ids, k))
            previous = ids
        stats.with_variants += bool(out)
        stats.variants += len(out)
        return out

    def token_logps(self, model, pairs: Sequence[TokenizedPair], *, with_rejected: bool, precision: str):
        """The base model's per-token log-probs, only for the selector that reads them (else Nones)."""
        if self.selector != "base_contribution":
            return [(None, None)] * len(pairs)
        if not with_rejected:  # a one-token stand-in keeps the packed layout without scoring the rejected
            pairs = [TokenizedPair(p.prompt_ids, p.chosen_ids, p.chosen_ids[:1]) for p in pairs]
        return response_token_logps(
            model, pairs, pad_id=self.tokenizer.pad_token_id, precision=precision, adapter_disabled=True
        )

    def examples(
        self, sources: Sequence, pairs: Sequence[TokenizedPair], token_logps, *, rejected_offset: int | None
    ) -> tuple[list[SPOExample], VariantStats]:
        """One example per pair; with `rejected_offset`, the rejected side's degrees start there."""
        stats = VariantStats()
        examples = []
        for source, pair, (chosen_logps, rejected_logps) in zip(sources, pairs, token_logps, strict=True):
            room = max(self.pair_tokenizer.max_length - len(pair.prompt_ids), 1)
            variants = self.variants(source.chosen, pair.chosen_ids, room, chosen_logps, stats)
            if rejected_offset is not None:
                rejected = self.variants(source.rejected, pair.rejected_ids, room, rejected_logps, stats)
                variants += [(ids, rejected_offset + k) for ids, k in rejected]
            examples.append(SPOExample(pair, tuple(variants), rejected_offset))
        return examples, stats


def pair_tokenizer_for(recipe, tokenizer) -> PairTokenizer:
    """The same tokenization the pipeline used for the pairs, so variants and originals match."""
    t = recipe.training
    return PairTokenizer(tokenizer, max_length=t.max_length, max_prompt_length=t.max_prompt_length,
                         use_chat_template=recipe.model.use_chat_template)  # fmt: skip


def build_examples(builder: VariantBuilder, model, sources, pairs, *, rejected_offset, precision: str):
    logps = builder.token_logps(model, pairs, with_rejected=rejected_offset is not None, precision=precision)
    return builder.examples(sources, pairs, logps, rejected_offset=rejected_offset)
