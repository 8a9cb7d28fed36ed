"""Multi-objective reward model r̂(x, y) ∈ R^m: one regression head per rated criterion (methods.md §4A, §6.2).

Targets are the recipe's 1..N ratings mapped to [0, 1] as t = (s − 1)/(N − 1) (the §6.2 scale), and a
head predicts t from the frozen embedding e(x, y). Scores come back on that [0, 1] scale, unclipped;
s = 1 + (N − 1)·r̂ recovers the rating scale. PRO-orchestrator (§3A) and RPS/DPA (§4) consume these.

Two head shapes:
- linear (hidden = 0, the default): closed-form ridge. It minimises (1/n)Σ(t − b − w·e)² + λ‖w‖², solved
  exactly as w = (XcᵀXc + nλI)⁻¹Xcᵀ(t − t̄), b = t̄ − ē·w with X centred (the bias is not shrunk). Exact,
  deterministic, and a 384×384 solve: no learning rate or step count to tune, and on a few hundred rated
  responses a linear probe of a frozen encoder is what the data can support.
- one hidden layer (hidden = h > 0): Linear(d, h) → GELU → Linear(h, 1), full-batch Adam on the MSE + λ‖W‖²
  for `steps` steps, initialised from `seed` (the global RNG is left alone), for criteria that are not
  linear in the embedding and data large enough to show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from recipes.preference_data import PreferenceRecord
from workers.reward_models import _storage
from workers.reward_models.encoders import Encoder

KIND = "multi_objective"


@dataclass(frozen=True)
class HeadConfig:
    hidden: int = 0  # 0 = linear ridge head; h > 0 = one hidden layer of h units trained with Adam
    l2: float = 1e-3  # λ in the objectives above (per-sample scale, so it does not depend on n)
    steps: int = 300
    learning_rate: float = 1e-2
    seed: int = 0


def _new_head(dim: int, hidden: int) -> torch.nn.Module:
    if hidden == 0:
        return torch.nn.Linear(dim, 1)
    return torch.nn.Sequential(torch.nn.Linear(dim, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, 1))


def ridge_head(x: torch.Tensor, t: torch.Tensor, l2: float) -> torch.nn.Linear:
    """w = (XcᵀXc + nλI)⁻¹ Xcᵀ(t − t̄), b = t̄ − ē·w, in float64 for a stable solve."""
    x64, t64 = x.double(), t.double()
    mean_x, mean_t = x64.mean(dim=0), t64.mean()
    xc = x64 - mean_x
    gram = xc.T @ xc + len(x64) * l2 * torch.eye(x64.shape[1], dtype=torch.float64)
    w = torch.linalg.solve(gram, xc.T @ (t64 - mean_t))
    head = torch.nn.Linear(x.shape[1], 1)
    with torch.no_grad():
        head.weight.copy_(w.float().unsqueeze(0))
        head.bias.fill_(float(mean_t - mean_x @ w))
    return head


def adam_head(x: torch.Tensor, t: torch.Tensor, config: HeadConfig) -> torch.nn.Module:
    """Full-batch Adam on mean (t − f(e))² + λ Σ‖W‖² over the weight matrices; seeded, RNG left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        head = _new_head(x.shape[1], config.hidden)
    weights = [p for name, p in head.named_parameters() if name.endswith("weight")]
    optimizer = torch.optim.Adam(head.parameters(), lr=config.learning_rate)
    for _ in range(config.steps):
        optimizer.zero_grad()
        loss = torch.mean((head(x).squeeze(-1) - t) ** 2) + config.l2 * sum((w**2).sum() for w in weights)
        loss.backward()
        optimizer.step()
    return head.eval()


def fit_head(x: torch.Tensor, t: torch.Tensor, config: HeadConfig) -> torch.nn.Module:
    if len(x) < 2:
        raise ValueError("a reward head needs at least two rated responses")
    return ridge_head(x, t, config.l2) if config.hidden == 0 else adam_head(x, t, config)


class MultiObjectiveRewardModel:
    """Per-criterion heads on a frozen encoder; `.score` gives {criterion: [r̂ on the (s−1)/(N−1) scale]}."""

    def __init__(self, encoder: Encoder, heads: dict[str, torch.nn.Module], levels: int, config: HeadConfig):
        self.encoder, self.heads, self.levels, self.config = encoder, heads, levels, config
        self.criteria = list(heads)

    @classmethod
    def fit(
        cls, embeddings: torch.Tensor, targets: dict[str, tuple[Sequence[int], Sequence[float]]],
        encoder: Encoder, levels: int, config: HeadConfig = HeadConfig(),
    ) -> MultiObjectiveRewardModel:  # fmt: skip
        """targets: criterion → (row indices into `embeddings`, targets in [0, 1]); one head per criterion."""
        heads = {}
        for criterion, (rows, values) in targets.items():
            x = embeddings[torch.tensor(list(rows), dtype=torch.long)].float()
            heads[criterion] = fit_head(x, torch.tensor(list(values), dtype=torch.float32), config)
        return cls(encoder, heads, levels, config)

    @torch.no_grad()
    def score_embeddings(self, embeddings: torch.Tensor) -> dict[str, list[float]]:
        return {c: head(embeddings.float()).squeeze(-1).tolist() for c, head in self.heads.items()}

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> dict[str, list[float]]:
        return self.score_embeddings(self.encoder.encode(prompts, responses))

    def save(self, directory: Path | str) -> Path:
        meta = {"criteria": self.criteria, "levels": self.levels, "encoder": self.encoder.name,
                "hidden": self.config.hidden, "l2": self.config.l2, "steps": self.config.steps,
                "learning_rate": self.config.learning_rate, "seed": self.config.seed}  # fmt: skip
        # Heads are stored by position: criterion names are free text and may contain dots.
        tensors = {
            f"head{i}.{k}": v
            for i, c in enumerate(self.criteria)
            for k, v in self.heads[c].state_dict().items()
        }
        return _storage.write(directory, KIND, meta, tensors)

    @classmethod
    def load(cls, directory: Path | str, encoder: Encoder | None = None) -> MultiObjectiveRewardModel:
        meta, tensors = _storage.read(directory, KIND)
        config = HeadConfig(meta["hidden"], meta["l2"], meta["steps"], meta["learning_rate"], meta["seed"])
        heads = {}
        for i, criterion in enumerate(meta["criteria"]):
            state = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith(f"head{i}.")}
            head = _new_head(state["weight" if config.hidden == 0 else "0.weight"].shape[1], config.hidden)
            head.load_state_dict(state)
            heads[criterion] = head.eval()
        return cls(_storage.matching_encoder(meta, encoder), heads, meta["levels"], config)


def rating_targets(
    records: Sequence[PreferenceRecord], levels: int
) -> tuple[list[tuple[str, str]], dict[str, tuple[list[int], list[float]]]]:
    """Unique (prompt, response) texts that carry a rating, and per criterion (rows, (s − 1)/(N − 1))."""
    if levels < 2:
        raise ValueError("levels must be at least 2")
    texts: dict[tuple[str, str], int] = {}
    targets: dict[str, tuple[list[int], list[float]]] = {}
    for record in records:
        for criterion, by_response in (record.ratings or {}).items():
            for index, rating in by_response.items():
                if not 1 <= rating <= levels:
                    raise ValueError(f"rating {rating} for {criterion!r} is outside 1..{levels}")
                row = texts.setdefault((record.prompt, record.responses[index]), len(texts))
                rows, values = targets.setdefault(criterion, ([], []))
                rows.append(row)
                values.append((rating - 1) / (levels - 1))
    return list(texts), targets


def fit_from_records(
    records: Sequence[PreferenceRecord], encoder: Encoder, levels: int, config: HeadConfig = HeadConfig()
) -> MultiObjectiveRewardModel:
    """One head per criterion of `PreferenceRecord.ratings`, each trained on the responses rated on it."""
    texts, targets = rating_targets(records, levels)
    if not targets:
        raise ValueError("no ratings in the records: a multi-objective reward model needs ratings")
    embeddings = encoder.encode([p for p, _ in texts], [r for _, r in texts])
    return MultiObjectiveRewardModel.fit(embeddings, targets, encoder, levels, config)


def score_targets(
    records: Sequence[PreferenceRecord], objectives: Sequence[str]
) -> tuple[list[tuple[str, str]], dict[str, tuple[list[int], list[float]]]]:
    """Like `rating_targets` for `objective_scores` already on [0, 1] (fields.scores + score_scales)."""
    texts: dict[tuple[str, str], int] = {}
    targets: dict[str, tuple[list[int], list[float]]] = {}
    for record in records:
        for objective in objectives:
            for index, score in (record.objective_scores or {}).get(objective, {}).items():
                row = texts.setdefault((record.prompt, record.responses[index]), len(texts))
                rows, values = targets.setdefault(objective, ([], []))
                rows.append(row)
                values.append(float(score))
    return list(texts), targets


def fit_from_scores(
    records: Sequence[PreferenceRecord], objectives: Sequence[str], encoder: Encoder,
    config: HeadConfig = HeadConfig(),
) -> MultiObjectiveRewardModel:  # fmt: skip
    """One head per objective of `PreferenceRecord.objective_scores` (scores on [0, 1])."""
    texts, targets = score_targets(records, objectives)
    missing = [name for name in objectives if name not in targets]
    if missing:
        raise ValueError(f"no scores for {missing} in the records: check data.fields.scores")
    embeddings = encoder.encode([p for p, _ in texts], [r for _, r in texts])
    # levels = 2 makes s = 1 + r̂ meaningless on purpose: these heads live on the [0, 1] scale only.
    return MultiObjectiveRewardModel.fit(embeddings, targets, encoder, 2, config)
