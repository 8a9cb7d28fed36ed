"""Listwise ranking runner: PRO — Preference Ranking Optimization (Song et al. 2024; methods.md §3B).

The pipeline hands every method pairs; a ranked record became k(k−1)/2 of them, each carrying the
record's id in `group`. This runner regroups its training pairs into the records' ranked lists, lays
each batch out in the cheaper of two layouts (`workers.list_packing`) and trains the PRO loss of
`workers.losses`. No reference model: the pipeline's pairwise E1–E4 still compare adapter off and on,
with the evaluation β of `MethodRunner.beta`, and `report` adds the listwise E1 (full order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import torch

from workers.errors import UserFacingError
from workers.evaluators.listwise import listwise_metrics, longer_first_exact_match
from workers.list_packing import layout_batch, list_logps, score_lists
from workers.losses import pro_ranking_loss
from workers.methods.base import EvaluationInputs, MethodRunner, TrainingInputs
from workers.ranked_lists import TokenizedList, lists_from_records, tokenize_list
from workers.tokenization import PairTokenizer

# Held-out lists are scored whole: E1 for k > 2 is the exact match of the full order (methods.md §7).
EVALUATION_MAX_RESPONSES = 64
SECTION_TITLE = "Listwise ranking (PRO, methods.md §3B): full order of held-out lists, E1 for k > 2"


class ListDataset(torch.utils.data.Dataset):
    def __init__(self, lists: Sequence[TokenizedList]):
        self.lists = list(lists)

    def __len__(self) -> int:
        return len(self.lists)

    def __getitem__(self, index: int) -> TokenizedList:
        return self.lists[index]

    def lengths(self) -> list[int]:
        return [item.length for item in self.lists]


def list_gaps(
    lists: Sequence[TokenizedList], n_slots: int, scale: float | None, min_gap: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(gaps d [B, N, N], beats [B, N, N]) for `pro_ranking_loss`.

    beats[b, k, i]: y^i is strictly below y^k (ties and padding never compete). d = 1 (vanilla PRO)
    when `scale` is None, else max((level_k − level_i) / scale, min_gap): the ε floor of pitfall 3.
    """
    gaps = torch.ones(len(lists), n_slots, n_slots)
    beats = torch.zeros(len(lists), n_slots, n_slots, dtype=torch.bool)
    for b, item in enumerate(lists):
        levels = torch.tensor(item.levels, dtype=torch.float32)
        n = len(levels)
        diff = levels[:, None] - levels[None, :]
        beats[b, :n, :n] = diff > 0
        if scale is not None:
            gaps[b, :n, :n] = (diff / scale).clamp(min=min_gap)
    return gaps, beats


def mean_gap(lists: Sequence[TokenizedList]) -> float:
    """Mean level difference over every strictly ordered pair: the per-dataset scale of score gaps."""
    diffs = [
        a - b for item in lists for i, a in enumerate(item.levels) for b in item.levels[i + 1 :] if a > b
    ]
    return sum(diffs) / len(diffs) if diffs else 1.0


class ListCollator:
    def __init__(self, pad_id: int, scale: float | None, min_gap: float):
        self.pad_id, self.scale, self.min_gap = pad_id, scale, min_gap

    def __call__(self, items: list[TokenizedList]) -> dict[str, torch.Tensor]:
        batch = layout_batch(items, self.pad_id)
        batch["gaps"], batch["beats"] = list_gaps(items, int(batch["n_slots"]), self.scale, self.min_gap)
        return batch


def _pair_tokenizer(recipe, tokenizer) -> PairTokenizer:
    t = recipe.training
    return PairTokenizer(tokenizer, max_length=t.max_length, max_prompt_length=t.max_prompt_length,
                         use_chat_template=recipe.model.use_chat_template)  # fmt: skip


class RankingRunner(MethodRunner):
    needs_reference = False
    data_shape = "ranked_list"

    def __init__(self, spec):
        super().__init__(spec)
        self.scale: float | None = None
        self.training_stats: dict[str, Any] = {}

    def _lists(self, records, recipe, tokenizer, max_responses: int) -> tuple[list[TokenizedList], Counter]:
        use_scores = self.spec.score_gaps == "scores"
        ranked, skipped = lists_from_records(records, use_scores=use_scores, max_responses=max_responses)
        pair_tokenizer = _pair_tokenizer(recipe, tokenizer)
        tokenized = []
        for item in ranked:
            made = tokenize_list(item, pair_tokenizer)
            if made is None:
                skipped["no_preference_after_truncation"] += 1
            else:
                tokenized.append(made)
        return tokenized, skipped

    def training_data(self, inputs: TrainingInputs):
        records = inputs.split.records_of(inputs.kept_sources())
        lists, skipped = self._lists(records, inputs.recipe, inputs.tokenizer, self.spec.max_responses)
        if not lists:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())) or "no records"
            raise UserFacingError(
                f"no ranked list of at least 2 responses in the training data ({reasons}): the ranking "
                "method needs ranks, ratings or scores per response; for chosen/rejected pairs use method dpo"
            )
        self.scale = mean_gap(lists) if self.spec.score_gaps == "scores" else None
        sizes = Counter(len(item.response_ids) for item in lists)
        self.training_stats = {
            "training_lists": len(lists),
            "training_list_sizes": {str(n): sizes[n] for n in sorted(sizes)},
            # The pipeline's tokens/s counts its pair rows (a list of 4 is 6 pairs); these are the
            # tokens of one epoch of lists, each prompt once.
            "training_tokens_per_epoch": sum(item.length for item in lists),
            "training_records_skipped": dict(sorted(skipped.items())),
        } | ({"score_gap_scale": self.scale} if self.scale is not None else {})
        collator = ListCollator(inputs.tokenizer.pad_token_id, self.scale, self.spec.min_gap)
        return ListDataset(lists), collator

    def loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        logps, counts = list_logps(model, batch)
        scores = logps / counts.clamp(min=1)
        out = pro_ranking_loss(
            scores, logps[:, 0], batch["gaps"], batch["beats"], batch["sizes"], self.spec.sft_weight
        )
        valid = counts > 0
        others = scores.detach().masked_fill(~valid, float("-inf"))[:, 1:]
        metrics = {
            "rank/loss": out.rank_losses.detach().mean().item(),
            "sft/loss": out.sft_losses.detach().mean().item(),
            "rank/top1_accuracy": (scores.detach()[:, 0] > others.amax(dim=1)).float().mean().item(),
            "logps/top_per_token": scores.detach()[:, 0].mean().item(),
            "logps/rest_per_token": scores.detach()[:, 1:][valid[:, 1:]].mean().item(),
        }
        return out.losses.mean(), metrics

    def report(self, inputs: EvaluationInputs) -> dict[str, Any]:
        """The listwise E1 on the held-out lists, base (adapter off) and adapter, plus a length baseline."""
        max_pairs = inputs.recipe.evaluation.max_pairs
        heldout_pairs = inputs.split.heldout[:max_pairs] if max_pairs else inputs.split.heldout
        records = inputs.split.records_of([heldout_pairs[i] for i in inputs.heldout.kept])
        lists, skipped = self._lists(records, inputs.recipe, inputs.tokenizer, EVALUATION_MAX_RESPONSES)
        if not lists:
            return {"section": {"title": SECTION_TITLE, "note": "no held-out ranked list to evaluate"}}
        pad, precision = inputs.tokenizer.pad_token_id, inputs.precision
        before = score_lists(inputs.model, lists, pad_id=pad, precision=precision, adapter_disabled=True)
        after = score_lists(inputs.model, lists, pad_id=pad, precision=precision)
        metrics = _listwise(lists, before, after, inputs.recipe.evaluation.confidence_level)
        section = {
            "title": SECTION_TITLE,
            "summary": {k: v for k, v in metrics.items() if not k.endswith(("_ci_low", "_ci_high"))},
            "by_list_size": _by_size(lists, before, after),
            "training": self.training_stats,
            "heldout_records_skipped": dict(sorted(skipped.items())),
            "note": "exact match: no human-ordered pair of the list is ordered the other way round (E1's ≥); "
            "ln = mean token log-prob, the score PRO trains; ties in the human order are not scored",
        }
        return {"metrics": metrics, "section": section}


def _values(scored, normalise: bool) -> list[list[float]]:
    return [[s / max(n, 1) for s, n in zip(sums, counts, strict=True)] if normalise else sums
            for sums, counts in scored]  # fmt: skip


def _listwise(lists, before, after, confidence: float) -> dict[str, float]:
    levels = [item.levels for item in lists]
    out: dict[str, float] = {"listwise_heldout_lists": float(len(lists))}
    for when, scored in (("_before", before), ("_after", after)):
        for name, normalise in (("listwise", False), ("listwise_ln", True)):
            out |= listwise_metrics(levels, _values(scored, normalise), name, when, confidence)
    lengths = [[len(ids) for ids in item.response_ids] for item in lists]
    out["listwise_longer_first_baseline"] = longer_first_exact_match(levels, lengths)
    return out


def _by_size(lists, before, after) -> list[dict[str, float]]:
    rows = []
    for n in sorted({len(item.response_ids) for item in lists}):
        index = [i for i, item in enumerate(lists) if len(item.response_ids) == n]
        levels = [lists[i].levels for i in index]
        row = {"responses": n, "lists": len(index)}
        for when, scored in (("_before", before), ("_after", after)):
            m = listwise_metrics(levels, _values([scored[i] for i in index], False), "x", when)
            row[f"exact_match{when}"] = m[f"x_exact_match{when}"]
            row[f"kendall_tau{when}"] = m[f"x_kendall_tau{when}"]
        rows.append(row)
    return rows
