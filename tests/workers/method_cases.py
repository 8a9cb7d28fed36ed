"""One `MethodCase` per training method: what the shared contract suite (test_method_contract.py)
needs to run that method on the tiny model. A method without a case fails the suite.

Adding a method: write its case below and add it to CASES.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
LLMBAR = SHARED_DATA / "llmbar" / "LLMBar_Natural.json"


@dataclass(frozen=True)
class MethodCase:
    method: dict  # the recipe's `method:` block
    write_data: Callable[[Path], dict]  # writes a data file under the folder; returns the `data:` block
    hand_loss_check: Callable[[], None]  # the method's loss against a hand computation on fixed tensors
    training: dict = field(default_factory=dict)  # overrides of the tiny training settings


def llmbar_pairs(folder: Path, n: int = 16) -> dict:
    rows = json.loads(LLMBAR.read_text())[:n]
    path = folder / "pairs.jsonl"
    path.write_text(
        "".join(
            json.dumps({"prompt": r["input"], "chosen": r[f"output_{r['label']}"],
                        "rejected": r[f"output_{3 - r['label']}"]}) + "\n"
            for r in rows
        )  # fmt: skip
    )
    return {"kind": "file", "path": str(path), "preset": "prompt_chosen_rejected"}


def _dpo_hand_check() -> None:
    from workers.losses import dpo_loss

    # Δ = (−1 − −2) − (−3 − −2.5) = 1.5; β = 0.5 → −log σ(0.75)
    out = dpo_loss(
        torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([-2.0]), torch.tensor([-2.5]),
        beta=0.5, loss_type="sigmoid",
    )  # fmt: skip
    expected = -torch.log(torch.sigmoid(torch.tensor(0.75)))
    assert torch.allclose(out.losses, expected.reshape(1), atol=1e-6)


USR_TRAIN = Path(__file__).resolve().parents[2] / "examples" / "data" / "usr-topicalchat.train.jsonl"


def usr_records(folder: Path, n: int = 8) -> dict:
    """Real multi-objective records (USR Topical-Chat: 6 replies with human attribute scores each)."""
    path = folder / "usr.jsonl"
    path.write_text("".join(USR_TRAIN.read_text().splitlines(keepends=True)[:n]))
    return {
        "kind": "file", "path": str(path),
        "fields": {"prompt": "prompt", "responses": "responses",
                   "scores": {"engagingness": "engagingness", "groundedness": "groundedness"},
                   "score_scales": {"engagingness": [1, 3]}},
    }  # fmt: skip


def _rps_hand_check() -> None:
    from workers.directions import budgeted_neighbours, projected
    from workers.losses import sft_nll

    # −log π / |y|: rows (−6 over 3 tokens, −2 over 4 tokens) → (2, 0.5)
    assert torch.allclose(sft_nll(torch.tensor([-6.0, -2.0]), torch.tensor([3, 4])), torch.tensor([2.0, 0.5]))
    grid = [-40 + 5 * i for i in range(17)]
    assert budgeted_neighbours(45, grid, 5, 30) == [40, 35, 30, 25, 20]  # the paper's 45° example
    assert abs(projected((0.2, 0.8), 90) - 0.8) < 1e-12 and abs(projected((0.2, 0.8), 0) - 0.2) < 1e-12


CASES: dict[str, MethodCase] = {
    "dpo": MethodCase({"method": "dpo", "beta": 0.1}, llmbar_pairs, _dpo_hand_check),
    "rps": MethodCase(
        {"method": "rps", "objectives": ["engagingness", "groundedness"], "k": 2, "max_new_tokens": 6,
         "directions_per_prompt": 2, "eval_directions_deg": [10, 45], "eval_prompts": 2},
        usr_records, _rps_hand_check, {"max_length": 128, "max_prompt_length": 96},
    ),  # fmt: skip
}
