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


def tiny_recipe(case: MethodCase, model_dir: Path, folder: Path, name: str = "contract") -> dict:
    """The recipe (as a dict) that runs `case` for two steps on the tiny model."""
    training = {
        "max_steps": 2, "batch_size": 2, "max_length": 96, "max_prompt_length": 48, "logging_steps": 1,
        "learning_rate": 0.01, "heldout_fraction": 0.25, "precision": "fp32",
    } | case.training  # fmt: skip
    return {
        "name": name,
        "model": {"name_or_path": str(model_dir), "lora": {"r": 4, "alpha": 8}},
        "data": case.write_data(folder),
        "method": case.method,
        "training": training,
        "evaluation": {"metrics": ["ranking_accuracy", "reward_accuracy"], "bootstrap_samples": 100},
    }


def llmbar_pairs(folder: Path, n: int = 16) -> dict:
    rows = json.loads(LLMBAR.read_text())[:n]
    path = folder / "pairs.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "prompt": r["input"],
                    "chosen": r[f"output_{r['label']}"],
                    "rejected": r[f"output_{3 - r['label']}"],
                }
            )
            + "\n"
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


OASST_RANKED = Path(__file__).resolve().parents[2] / "examples" / "data" / "oasst-ranked.train.jsonl"


def oasst_ranked_lists(folder: Path, n: int = 12) -> dict:
    """Real ranked lists (OASST sibling replies, ranks 0 = best, k = 2..8), shortened for the tiny model."""
    rows = [json.loads(line) for line in OASST_RANKED.read_text().splitlines()[:n]]
    path = folder / "ranked.jsonl"
    path.write_text("".join(json.dumps(row | {"responses": [r[:300] for r in row["responses"]]}) + "\n"
                            for row in rows))  # fmt: skip
    return {"kind": "file", "path": str(path), "fields": {"prompt": "prompt", "responses": "responses",
                                                          "ranks": "ranks"}}  # fmt: skip


def _ranking_hand_check() -> None:
    from workers.losses import pro_ranking_loss

    # s = (−1, −2, −3), every d = 1: −log(e⁻¹/(e⁻¹ + e⁻² + e⁻³)) − log(e⁻²/(e⁻² + e⁻³))
    # = log(1 + e⁻¹ + e⁻²) + log(1 + e⁻¹) = 0.407606 + 0.313262; SFT 0.05·(3 − 1)²·12 = 2.4
    beats = torch.tensor([[[False, True, True], [False, False, True], [False, False, False]]])
    out = pro_ranking_loss(
        torch.tensor([[-1.0, -2.0, -3.0]]), torch.tensor([-12.0]), torch.ones(1, 3, 3), beats,
        torch.tensor([3]), sft_weight=0.05,
    )  # fmt: skip
    assert torch.allclose(out.losses, torch.tensor([0.407606 + 0.313262 + 2.4]), atol=1e-5)


def _spo_hand_check() -> None:
    import math

    from workers.losses import degree_classification_losses, spo_objective

    # softmax([0, ln 3, 0])_1 = 3/5 and softmax([ln 2, 0, 0])_0 = 2/4
    logits = torch.tensor([[0.0, math.log(3.0), 0.0], [math.log(2.0), 0.0, 0.0]])
    degree = degree_classification_losses(logits, torch.tensor([1, 0]))
    assert torch.allclose(degree, torch.tensor([-math.log(0.6), -math.log(0.5)]), atol=1e-6)
    # mean([0.5, 1.5]) + 0.1 · mean([0.510826, 0.693147]) = 1.0601986
    total = spo_objective(torch.tensor([0.5, 1.5]), degree, ssl_weight=0.1)
    assert abs(total.item() - 1.0601986) < 1e-6
    assert spo_objective(torch.tensor([0.5, 1.5]), torch.zeros(0), 0.1).item() == 1.0  # no variant: DPO


def _pro_hand_check() -> None:
    import math

    from recipes.preference_data import PreferenceRecord
    from workers.losses import preference_adapter_kl
    from workers.preference_adapter import ScoredRecord, weighted_pairs

    # t = (½, ½, 0), w = softmax(0, ln 3, 0) = (⅕, ⅗, ⅕): KL = ½·ln(½/⅕) + ½·ln(½/⅗) = 0.366985
    kl = preference_adapter_kl(torch.tensor([[0.5, 0.5, 0.0]]), torch.tensor([[0.0, math.log(3.0), 0.0]]))
    assert torch.allclose(kl, torch.tensor([0.366985]), atol=1e-6)
    # w = (¾, ¼), r̃ rows (1, −1), (0, 1), (−1, 0) → R = (0.5, 0.25, −0.75); δ = 0.3 keeps a≻c, b≻c
    record = PreferenceRecord(prompt="q", responses=["a", "b", "c"])
    scored = ScoredRecord(record, [0, 1, 2], torch.zeros(3, 2))
    normalized = torch.tensor([[1.0, -1.0], [0.0, 1.0], [-1.0, 0.0]])
    pairs = weighted_pairs(scored, normalized, torch.tensor([0.75, 0.25]), min_gap=0.3)
    assert [(p.chosen, p.rejected) for p in pairs] == [("a", "c"), ("b", "c")]
    assert [round(p.strength, 6) for p in pairs] == [1.25, 1.0]


CASES: dict[str, MethodCase] = {
    "dpo": MethodCase({"method": "dpo", "beta": 0.1}, llmbar_pairs, _dpo_hand_check),
    "rps": MethodCase(
        {
            "method": "rps",
            "objectives": ["engagingness", "groundedness"],
            "k": 2,
            "max_new_tokens": 6,
            "directions_per_prompt": 2,
            "eval_directions_deg": [10, 45],
            "eval_prompts": 2,
        },
        usr_records,
        _rps_hand_check,
        {"max_length": 128, "max_prompt_length": 96},
    ),  # fmt: skip
    "ranking": MethodCase(
        {"method": "ranking", "max_responses": 3},
        oasst_ranked_lists,
        _ranking_hand_check,
        {"max_length": 64, "max_prompt_length": 32},
    ),  # fmt: skip
    "pro": MethodCase(
        {"method": "pro", "beta": 0.1, "prompt_encoder": "base_model", "adapter_epochs": 5},
        usr_records,
        _pro_hand_check,
        {"max_length": 128, "max_prompt_length": 96},
    ),  # fmt: skip
    "spo": MethodCase({"method": "spo", "beta": 0.1, "units": 2}, llmbar_pairs, _spo_hand_check),
}
