"""E5 (methods.md §7; Razin et al., ICLR 2025): CHES, LN-CHES and the two baselines they report.

Uses the initial model π_ref (adapter off) and its last-layer hidden states at the positions that
predict response tokens: the last prompt token through the second-to-last response token. In a
`workers.packing` batch these are exactly `hidden[pred_rows, pred_cols]`, so `ches_from_batch` can run
inside the reference scoring loop at no extra forward cost.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch

from workers.batching import length_grouped_batches
from workers.packing import pack_pairs
from workers.scoring import SCORING_BATCH_PAIRS, autocast_for
from workers.tokenization import TokenizedPair


class ChesScores(NamedTuple):
    ches: torch.Tensor  # [n] float64
    ln_ches: torch.Tensor  # [n] float64
    last_hidden_inner: torch.Tensor  # [n] float64, the paper's baseline


def ches_from_hidden(
    h_plus_sum: torch.Tensor, h_minus_sum: torch.Tensor, len_plus: torch.Tensor, len_minus: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """CHES = ⟨H+,H−⟩ − ‖H+‖²;  LN-CHES = ⟨H+,H−⟩/(|y+||y−|) − ‖H+‖²/|y+|².

    H± ([..., d]) are sums of hidden states over the positions predicting y±; |y±| ([...]) the counts.
    Computed in float64: the two terms are large and nearly cancel.
    """
    len_plus, len_minus = torch.as_tensor(len_plus), torch.as_tensor(len_minus)
    for name, lengths in (("chosen", len_plus), ("rejected", len_minus)):
        if (lengths <= 0).any():
            raise ValueError(
                f"E5: zero-length {name} response at index {(lengths <= 0).nonzero().flatten().tolist()}"
            )
    hp, hm = h_plus_sum.double(), h_minus_sum.double()
    cross, own = (hp * hm).sum(-1), (hp * hp).sum(-1)
    lp, lm = len_plus.double(), len_minus.double()
    return cross - own, cross / (lp * lm) - own / (lp * lp)


def ches_from_batch(
    hidden: torch.Tensor, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(CHES [B], LN-CHES [B]) for a `pack_pairs` batch from the reference model's last hidden states.

    H+ of pair k = Σ hidden[pred_rows, pred_cols] over entries with seq_index == k, H− over B + k.
    """
    n_pairs = batch["input_ids"].shape[0]
    states = hidden[batch["pred_rows"], batch["pred_cols"]].double()
    seq = batch["seq_index"].to(states.device)
    sums = torch.zeros(2 * n_pairs, states.shape[-1], dtype=torch.float64, device=states.device)
    sums = sums.index_add(0, seq, states)
    counts = torch.bincount(seq, minlength=2 * n_pairs)
    return ches_from_hidden(sums[:n_pairs], sums[n_pairs:], counts[:n_pairs], counts[n_pairs:])


def last_hidden_inner(hidden: torch.Tensor, pairs: Sequence[TokenizedPair]) -> torch.Tensor:
    """Baseline: ⟨h_last(x, y+), h_last(x, y−)⟩ at each sequence's final token, packed row k = pair k."""
    p = torch.tensor([len(pair.prompt_ids) for pair in pairs])
    c = torch.tensor([len(pair.chosen_ids) for pair in pairs])
    r = torch.tensor([len(pair.rejected_ids) for pair in pairs])
    rows = torch.arange(len(pairs))
    p, c, r, rows = (t.to(hidden.device) for t in (p, c, r, rows))
    # packed row: prompt, chosen, rejected; each response's last token ends its segment
    chosen_last = hidden[rows, p + c - 1].double()
    rejected_last = hidden[rows, p + c + r - 1].double()
    return (chosen_last * rejected_last).sum(-1).cpu()


def _check_pairs(pairs: Sequence[TokenizedPair]) -> None:
    if not pairs:
        raise ValueError("E5: no pairs to score (the input is empty)")
    for index, pair in enumerate(pairs):
        for name, ids in (("chosen", pair.chosen_ids), ("rejected", pair.rejected_ids)):
            if not ids:
                raise ValueError(f"E5: pair {index} has a zero-length {name} response")
        if not pair.prompt_ids:
            raise ValueError(f"E5: pair {index} has an empty prompt (no position predicts its first token)")


def reference_context(model: torch.nn.Module) -> contextlib.AbstractContextManager:
    """π_ref: the adapter disabled if the model is a PeftModel, the plain model otherwise."""
    return model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()


@torch.no_grad()
def ches_pass(
    model: torch.nn.Module,
    pairs: Sequence[TokenizedPair],
    *,
    pad_id: int,
    precision: str = "fp32",
    on_batch: Callable[[int, int], None] | None = None,
) -> ChesScores:
    """CHES, LN-CHES and the last-hidden inner product of every pair, in input order (one forward each)."""
    _check_pairs(pairs)
    out = torch.zeros(3, len(pairs), dtype=torch.float64)
    device = next(model.parameters()).device
    batches = length_grouped_batches([p.length for p in pairs], SCORING_BATCH_PAIRS, seed=0)
    was_training = model.training
    model.eval()
    with reference_context(model), autocast_for(precision, device):
        for done, batch in enumerate(batches, start=1):
            chunk = [pairs[i] for i in batch]
            tensors = {k: v.to(device) for k, v in pack_pairs(chunk, pad_id).items()}
            hidden = model.get_decoder()(
                input_ids=tensors["input_ids"],
                attention_mask=tensors["attention_mask"],
                position_ids=tensors["position_ids"],
            ).last_hidden_state
            ches, ln_ches = ches_from_batch(hidden, tensors)
            out[:, torch.tensor(batch)] = torch.stack(
                [ches.cpu(), ln_ches.cpu(), last_hidden_inner(hidden, chunk)]
            )
            if on_batch:
                on_batch(done, len(batches))
    model.train(was_training)
    return ChesScores(out[0], out[1], out[2])


def ches_scores(
    model: torch.nn.Module, pairs: Sequence[TokenizedPair], pad_id: int, precision: str = "fp32"
) -> tuple[torch.Tensor, torch.Tensor]:
    """(CHES [n], LN-CHES [n]) under π_ref, in input order; see `ches_pass` for the baseline too."""
    scores = ches_pass(model, pairs, pad_id=pad_id, precision=precision)
    return scores.ches, scores.ln_ches


def drop_top_fraction(ln_ches: Sequence[float], q: float) -> list[int]:
    """Indices kept after dropping the ⌊q·n⌋ highest LN-CHES (q = 0.95 keeps the lowest 5 %, as the paper).

    Ties at the cut are broken by index (earlier kept), so the result is deterministic; sorted ascending.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"E5: q must be in [0, 1], got {q}")
    values = [float(v) for v in ln_ches]
    n_drop = math.floor(q * len(values) + 1e-9)  # guard 0.95·380 = 360.99999… → 361
    order = sorted(range(len(values)), key=lambda i: (values[i], i))
    return sorted(order[: len(values) - n_drop])


def normalized_edit_distance(a: Sequence[int], b: Sequence[int]) -> float:
    """Baseline: Levenshtein(a, b) / max(|a|, |b|) over token ids (0 = identical, 1 = nothing shared)."""
    if not a or not b:
        raise ValueError("E5: normalized edit distance of a zero-length response")
    previous = list(range(len(b) + 1))
    for i, token in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, other in enumerate(b, start=1):
            substitution = previous[j - 1] + (token != other)
            current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
        previous = current
    return previous[-1] / max(len(a), len(b))


class ChesCollector:
    """`score_pairs(on_hidden=...)` hook: CHES and LN-CHES of every pair from a pass that runs anyway."""

    def __init__(self, n_pairs: int):
        self.values = torch.zeros(n_pairs, 2, dtype=torch.float64)  # columns: CHES, LN-CHES

    def __call__(self, pair_indices: list[int], hidden: torch.Tensor, batch: dict[str, torch.Tensor]) -> None:
        ches, ln_ches = ches_from_batch(hidden, batch)
        self.values[torch.tensor(pair_indices)] = torch.stack([ches, ln_ches], dim=1).cpu()

    @property
    def ln_ches(self) -> list[float]:
        return self.values[:, 1].tolist()
