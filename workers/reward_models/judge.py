"""The evaluation judge of E6 (methods.md §7): a Bradley–Terry head on a frozen encoder, and its data split.

s(x, y) = w·e(x, y). With d = e(x, y_w) − e(x, y_l) and p the pair's soft label (1 for a hard label),
w minimises  L(w) = −(1/n) Σ [p log σ(w·d) + (1 − p) log σ(−w·d)] + (λ/2)‖w‖².
L is strictly convex, so Newton's method finds its unique minimum exactly and deterministically:
  g = −(1/n) Dᵀ(p − σ(Dw)) + λw,   H = (1/n) Dᵀ diag(σ(1 − σ)) D + λI,   w ← w − H⁻¹g.
No bias: it cancels in every difference. Tie pairs carry no direction and are left out.

The contract that keeps E6 honest ("the judging RM must not be any RM used in training or selection"):
the judge is fitted only on pairs from `disjoint_judge_split`, which share no prompt and no response text
with the pairs the policy trains on, the held-out pairs it is evaluated on, or any `exclude` pairs (a
fixed held-out file); the pipeline carves the judge's pairs out first and splits only the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from recipes.preference_data import PreferencePair
from recipes.splits import connected_groups, heldout_split
from workers.evaluators.ranking import wilson_interval
from workers.reward_models import _storage
from workers.reward_models.encoders import Encoder

KIND = "pairwise_judge"


def newton_bradley_terry(
    d: torch.Tensor, p: torch.Tensor, l2: float, iterations: int = 50, tolerance: float = 1e-10
) -> torch.Tensor:
    """argmin_w L(w) above by Newton steps (float64); stops once the step's max-norm is below `tolerance`."""
    d64, p64 = d.double(), p.double()
    n, dim = d64.shape
    w = torch.zeros(dim, dtype=torch.float64)
    eye = torch.eye(dim, dtype=torch.float64)
    for _ in range(iterations):
        q = torch.sigmoid(d64 @ w)
        grad = -(d64.T @ (p64 - q)) / n + l2 * w
        hess = (d64.T * (q * (1 - q))) @ d64 / n + l2 * eye
        step = torch.linalg.solve(hess, grad)
        w = w - step
        if step.abs().max() < tolerance:
            break
    return w.float()


def _unique_texts(pairs: Sequence[PreferencePair]) -> tuple[list[tuple[str, str]], list[tuple[int, int]]]:
    """Each (prompt, response) once, and per pair the rows of its chosen and rejected responses."""
    rows: dict[tuple[str, str], int] = {}
    index = [
        (rows.setdefault((p.prompt, p.chosen), len(rows)), rows.setdefault((p.prompt, p.rejected), len(rows)))
        for p in pairs
    ]
    return list(rows), index


class PairwiseJudge:
    """Scalar judge s(x, y) = w·e(x, y), trained on preference pairs (Bradley–Terry)."""

    def __init__(self, encoder: Encoder, weight: torch.Tensor, l2: float, train_pairs: int = 0):
        self.encoder, self.weight, self.l2, self.train_pairs = encoder, weight.float(), l2, train_pairs

    @classmethod
    def fit(
        cls, pairs: Sequence[PreferencePair], encoder: Encoder, *, l2: float = 1e-3, iterations: int = 50
    ) -> PairwiseJudge:
        usable = [pair for pair in pairs if not pair.is_tie]
        if not usable:
            raise ValueError("the judge needs at least one non-tie preference pair to train on")
        texts, index = _unique_texts(usable)
        e = encoder.encode([p for p, _ in texts], [r for _, r in texts])
        rows_w, rows_l = (torch.tensor(side) for side in zip(*index, strict=True))
        labels = torch.tensor([pair.soft_label for pair in usable])
        weight = newton_bradley_terry(e[rows_w] - e[rows_l], labels, l2, iterations)
        return cls(encoder, weight, l2, len(usable))

    def score_embeddings(self, embeddings: torch.Tensor) -> list[float]:
        return (embeddings.float() @ self.weight).tolist()

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        return self.score_embeddings(self.encoder.encode(prompts, responses))

    def held_out_accuracy(
        self, pairs: Sequence[PreferencePair], confidence: float = 0.95
    ) -> dict[str, float]:
        """Share of non-tie pairs with s(x, y_w) > s(x, y_l) (strict: an exact tie is a miss), Wilson CI."""
        usable = [pair for pair in pairs if not pair.is_tie]
        if not usable:
            raise ValueError("no non-tie pairs to measure the judge's accuracy on")
        texts, index = _unique_texts(usable)
        scores = self.score([p for p, _ in texts], [r for _, r in texts])
        hits = sum(scores[w] > scores[lo] for w, lo in index)
        low, high = wilson_interval(hits, len(usable), confidence)
        return {"judge_accuracy": hits / len(usable), "judge_accuracy_ci_low": low,
                "judge_accuracy_ci_high": high, "judge_heldout_pairs": float(len(usable))}  # fmt: skip

    def save(self, directory: Path | str) -> Path:
        meta = {"encoder": self.encoder.name, "l2": self.l2, "train_pairs": self.train_pairs}
        return _storage.write(directory, KIND, meta, {"weight": self.weight})

    @classmethod
    def load(cls, directory: Path | str, encoder: Encoder | None = None) -> PairwiseJudge:
        meta, tensors = _storage.read(directory, KIND)
        return cls(
            _storage.matching_encoder(meta, encoder), tensors["weight"], meta["l2"], meta["train_pairs"]
        )


def disjoint_judge_split(
    pairs: Sequence[PreferencePair], fraction: float, seed: int, exclude: Sequence[PreferencePair] = ()
) -> tuple[list[int], list[int]]:
    """(judge indices, rest indices) into `pairs`; the judge's pairs share no prompt or response text with
    the rest or with `exclude`.

    Pairs connected (by a shared prompt or response, recipes.splits.connected_groups) to any `exclude` pair
    are never eligible. `recipes.splits.heldout_split` then moves whole groups of the eligible pairs to
    the judge side until it holds about round(fraction · eligible) pairs. Split the policy's training and
    held-out pairs from the rest only: then no text the judge saw is trained or evaluated on.
    """
    n = len(pairs)
    groups = connected_groups(list(pairs) + list(exclude))
    blocked = {i for group in groups if max(group) >= n for i in group if i < n}
    eligible = [i for i in range(n) if i not in blocked]
    _, picked = heldout_split([pairs[i] for i in eligible], fraction, seed)
    judge = sorted(eligible[k] for k in picked)
    chosen = set(judge)
    return judge, [i for i in range(n) if i not in chosen]
