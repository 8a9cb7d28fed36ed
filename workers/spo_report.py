"""SPO's own held-out check (methods.md §2g-1): does the degree head read content, or only length?

Deleting sentences makes a response shorter, so a classifier can score well from length alone. The
report puts the head's accuracy on held-out variants next to a classifier that sees only the
variant's token count — a 1-D Gaussian per degree on log-length with class priors, fitted on the
training variants — and next to chance 1/(number of classes) and the majority class.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from workers.batching import length_grouped_batches
from workers.evaluators.ranking import wilson_interval
from workers.packing import CHOSEN, REJECTED
from workers.scoring import SCORING_BATCH_PAIRS, autocast_for
from workers.spo_data import FIRST_VARIANT, SPOExample, last_hidden, mean_pooled, pack_with_variants

MIN_STD = 0.05  # in log-tokens: a degree seen with one length only must not get a zero-width Gaussian


def pooled_lengths(example: SPOExample) -> list[tuple[int, int]]:
    """(response tokens, degree) of every response the head classifies in this example."""
    sizes = {CHOSEN: len(example.pair.chosen_ids), REJECTED: len(example.pair.rejected_ids)}
    variant_sizes = [len(ids) for ids, _ in example.variants]
    out = []
    for segment, degree in example.pooled():
        size = sizes[segment] if segment in sizes else variant_sizes[segment - FIRST_VARIANT]
        out.append((size, degree))
    return out


@dataclass(frozen=True)
class LengthBaseline:
    """argmax_k log P(k) + log N(log |y|; μ_k, σ_k): the best a length-only classifier of this form does."""

    classes: tuple[int, ...]
    log_priors: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    @classmethod
    def fit(cls, lengths: Sequence[int], degrees: Sequence[int]) -> LengthBaseline:
        if not lengths:
            raise ValueError("the length baseline needs at least one classified response")
        counts = Counter(degrees)
        classes = tuple(sorted(counts))
        logs = [math.log(max(n, 1)) for n in lengths]
        means, stds = [], []
        for k in classes:
            values = [x for x, d in zip(logs, degrees, strict=True) if d == k]
            mean = sum(values) / len(values)
            means.append(mean)
            stds.append(max(math.sqrt(sum((x - mean) ** 2 for x in values) / len(values)), MIN_STD))
        priors = tuple(math.log(counts[k] / len(degrees)) for k in classes)
        return cls(classes, priors, tuple(means), tuple(stds))

    def predict(self, length: int) -> int:
        x = math.log(max(length, 1))
        scores = [p - math.log(s) - 0.5 * ((x - m) / s) ** 2
                  for p, m, s in zip(self.log_priors, self.means, self.stds, strict=True)]  # fmt: skip
        return self.classes[max(range(len(scores)), key=scores.__getitem__)]


@torch.no_grad()
def head_predictions(model, head, examples: Sequence[SPOExample], pad_id: int, precision: str) -> list[int]:
    """The head's degree for every classified response, in `pooled_lengths` order (adapter on)."""
    device = next(model.parameters()).device
    predictions: dict[int, list[int]] = {}
    was_training = model.training
    model.eval()
    for indices in length_grouped_batches([e.length for e in examples], SCORING_BATCH_PAIRS, seed=0):
        batch = {
            k: v.to(device) for k, v in pack_with_variants([examples[i] for i in indices], pad_id).items()
        }
        with autocast_for(precision, device):
            hidden = last_hidden(model, batch)
        with torch.autocast(device.type, enabled=False):  # the head stays fp32 (methods.md §2e)
            predicted = head(mean_pooled(hidden, batch)).argmax(dim=-1).cpu().tolist()
        position = 0
        for index in indices:  # pack_with_variants pools each example's responses in `pooled()` order
            size = len(examples[index].pooled())
            predictions[index] = predicted[position : position + size]
            position += size
    model.train(was_training)
    return [p for i in range(len(examples)) for p in predictions[i]]


def _accuracy(hits: Sequence[bool], confidence: float, name: str) -> dict[str, float]:
    low, high = wilson_interval(sum(hits), len(hits), confidence)
    return {name: sum(hits) / len(hits), f"{name}_ci_low": low, f"{name}_ci_high": high}


def degree_report(
    truth: Sequence[int], head: Sequence[int], lengths: Sequence[int], baseline: LengthBaseline,
    n_classes: int, confidence: float,
) -> tuple[dict[str, float], list[dict[str, float]]]:  # fmt: skip
    """(metrics, one row per degree) comparing the head with the length baseline on the same responses."""
    by_length = [baseline.predict(n) for n in lengths]
    most_common_train = baseline.classes[
        max(range(len(baseline.classes)), key=baseline.log_priors.__getitem__)
    ]
    metrics = _accuracy([h == t for h, t in zip(head, truth, strict=True)], confidence, "spo_head_accuracy")
    metrics |= _accuracy([b == t for b, t in zip(by_length, truth, strict=True)], confidence,
                         "spo_length_baseline_accuracy")  # fmt: skip
    metrics |= {
        "spo_chance_accuracy": 1.0 / n_classes,
        "spo_majority_accuracy": sum(t == most_common_train for t in truth) / len(truth),
        "spo_head_mean_abs_error": sum(abs(h - t) for h, t in zip(head, truth, strict=True)) / len(truth),
        "spo_heldout_classified": float(len(truth)),
    }
    rows = []
    for degree in sorted(set(truth)):
        at = [i for i, t in enumerate(truth) if t == degree]
        rows.append({"degree": degree, "responses": len(at),
                     "head_recall": sum(head[i] == degree for i in at) / len(at),
                     "length_baseline_recall": sum(by_length[i] == degree for i in at) / len(at),
                     "mean_tokens": sum(lengths[i] for i in at) / len(at)})  # fmt: skip
    return metrics, rows
