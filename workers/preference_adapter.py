"""PRO's preference adapter (methods.md §3A): prompt → weights over objectives, and what feeds it.

Pipeline, all [D] beyond the paper's abstract (reasons in docs/methods/pro.md):
1. Per-response objective scores on [0, 1] (`fields.scores` with `score_scales`, or 1..N ratings as
   (s − 1)/(N − 1)), normalized per objective over the training responses (`Normalizer`).
2. Target per prompt: t(x) = softmax(r̃(x, y_w)/τ), y_w the response with the best equal-weight mean
   (the "preferred response" of the rest of the studio, `mean_objective_scores`).
3. Adapter: w_φ(x) = softmax(MLP(e(x))), e(x) a frozen prompt embedding, trained on KL(t ‖ w_φ).
4. Pairs: R(x, y) = Σ_i w_i(x)·r̃_i(x, y); every response pair with an R-gap ≥ δ, strength = the gap.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from recipes.preference_data import PreferencePair, PreferenceRecord
from workers.errors import UserFacingError
from workers.losses import preference_adapter_kl, scalarized_rewards

FORMAT = "studio-preference-adapter"
SCHEMA_VERSION = 1
META_FILE, WEIGHTS_FILE = "preference_adapter.json", "preference_adapter.safetensors"
ADAPTER_BATCH = 16  # prompts per adapter step: a few dozen prompts give a few noisy steps per epoch


# --- objective scores ------------------------------------------------------------------------------


def rating_levels(records: Sequence[PreferenceRecord]) -> int:
    """N of 1..N ratings: the highest rating in the data (the recipe does not state the scale)."""
    seen = [r for rec in records for per in (rec.ratings or {}).values() for r in per.values()]
    return max([2, *seen])


def record_objectives(record: PreferenceRecord) -> dict[str, dict[int, float]]:
    return record.objective_scores or {
        k: {i: float(s) for i, s in v.items()} for k, v in (record.ratings or {}).items()
    }


@dataclass(frozen=True)
class ScoredRecord:
    """One prompt's responses that are scored on every objective: rows of `unit` are `indices`."""

    record: PreferenceRecord
    indices: list[int]
    unit: torch.Tensor  # [k, m] scores on [0, 1]

    @property
    def preferred(self) -> int:
        """Row of y_w: the best equal-weight mean of the unit scores (the first one on a tie)."""
        return int(torch.argmax(self.unit.mean(dim=1)))


def scored_records(
    records: Sequence[PreferenceRecord], objectives: Sequence[str], levels: int
) -> list[ScoredRecord]:
    """Records with ≥ 2 responses scored on every objective; ratings are mapped with (s − 1)/(N − 1)."""
    out = []
    for record in records:
        by_objective = record_objectives(record)
        if not all(name in by_objective for name in objectives):
            continue
        rows = [i for i in range(len(record.responses)) if all(i in by_objective[n] for n in objectives)]
        if len(rows) < 2:
            continue
        unit = torch.tensor([[by_objective[n][i] for n in objectives] for i in rows], dtype=torch.float32)
        if record.objective_scores is None:  # ratings
            unit = (unit - 1) / (levels - 1)
        out.append(ScoredRecord(record, rows, unit))
    return out


@dataclass(frozen=True)
class Normalizer:
    """r̃_i = (r_i − center_i) / scale_i; fitted per objective over the training responses."""

    method: str  # zscore | minmax
    center: list[float]
    scale: list[float]

    @classmethod
    def fit(cls, method: str, unit: torch.Tensor) -> Normalizer:
        """zscore: center = mean, scale = std (population); minmax: center = min, scale = max − min.

        A constant objective gets scale 1: it then adds the same amount to every response (no signal).
        """
        if method == "zscore":
            center, scale = unit.mean(dim=0), unit.std(dim=0, unbiased=False)
        elif method == "minmax":
            center, scale = unit.min(dim=0).values, unit.max(dim=0).values - unit.min(dim=0).values
        else:
            raise ValueError(f"unknown normalization {method!r}: use zscore or minmax")
        scale = torch.where(scale > 1e-8, scale, torch.ones_like(scale))
        return cls(method, center.tolist(), scale.tolist())

    def __call__(self, unit: torch.Tensor) -> torch.Tensor:
        return (unit - torch.tensor(self.center)) / torch.tensor(self.scale)


def adapter_targets(preferred_normalized: torch.Tensor, temperature: float) -> torch.Tensor:
    """t(x) = softmax(r̃(x, y_w)/τ), one row per prompt."""
    return torch.softmax(preferred_normalized / temperature, dim=-1)


def weighted_pairs(
    scored: ScoredRecord, normalized: torch.Tensor, weights: torch.Tensor, min_gap: float
) -> list[PreferencePair]:
    """Every response pair whose R = Σ w_i·r̃_i differs by ≥ δ (and > 0); strength m = the R-gap."""
    rewards = scalarized_rewards(weights, normalized).tolist()
    pairs = []
    for a, b in combinations(range(len(rewards)), 2):
        win, lose = (a, b) if rewards[a] >= rewards[b] else (b, a)
        gap = rewards[win] - rewards[lose]
        if gap > 0 and gap + 1e-9 >= min_gap:
            record = scored.record
            pairs.append(
                PreferencePair(
                    prompt=record.prompt,
                    chosen=record.responses[scored.indices[win]],
                    rejected=record.responses[scored.indices[lose]],
                    strength=gap,
                    annotator_id=record.annotator_id,
                )
            )
    return pairs


# --- the adapter MLP --------------------------------------------------------------------------------


class PreferenceMLP(torch.nn.Module):
    """z = MLP(e(x)): two GELU hidden layers; the output layer starts at zero, so w starts uniform."""

    def __init__(self, dim: int, hidden: int, objectives: int):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(dim, hidden), torch.nn.GELU(),
            torch.nn.Linear(hidden, hidden), torch.nn.GELU(),
            torch.nn.Linear(hidden, objectives),
        )  # fmt: skip
        torch.nn.init.zeros_(self.net[-1].weight)
        torch.nn.init.zeros_(self.net[-1].bias)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.net(embeddings)


@dataclass(frozen=True)
class AdapterTraining:
    hidden: int = 256
    epochs: int = 100
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    validation_fraction: float = 0.2
    seed: int = 0


@dataclass
class AdapterFit:
    mlp: PreferenceMLP
    epochs: int  # epochs of the final fit on every training prompt
    train_curve: list[float]  # mean KL per epoch of the final fit (index 0 = before training)
    validation_curve: list[float] = field(default_factory=list)  # per epoch of the selection run
    validation_prompts: int = 0


@contextlib.contextmanager
def _one_thread():
    # A 2-layer MLP on a few dozen rows: thread hand-offs cost more than the math (≈10× slower on a
    # busy 2-core machine), so run it on one thread and give the setting back afterwards.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _kl(mlp: PreferenceMLP, embeddings: torch.Tensor, targets: torch.Tensor) -> float:
    with torch.no_grad():
        return float(preference_adapter_kl(targets, mlp(embeddings)).mean())


def _fit(embeddings, targets, config: AdapterTraining, epochs: int, validation=None):
    """AdamW on the mean KL(t ‖ softmax(MLP(e))) in shuffled batches of ADAPTER_BATCH prompts.

    The output bias starts at log t̄ (the training prompts' mean target), so epoch 0 is the
    average-weights baseline and training only adds what the prompts predict. Returns the MLP, the
    training KL per epoch and, with `validation` = (e, t), the validation KL per epoch.
    """
    torch.manual_seed(config.seed)
    mlp = PreferenceMLP(embeddings.shape[1], config.hidden, targets.shape[1])
    with torch.no_grad():
        mlp.net[-1].bias.copy_(targets.mean(dim=0).clamp(min=1e-12).log())
    order = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.AdamW(mlp.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    curve, val_curve = [_kl(mlp, embeddings, targets)], []
    val_curve += [_kl(mlp, *validation)] if validation else []
    for _ in range(epochs):
        for rows in torch.randperm(len(embeddings), generator=order).split(ADAPTER_BATCH):
            optimizer.zero_grad()
            preference_adapter_kl(targets[rows], mlp(embeddings[rows])).mean().backward()
            optimizer.step()
        curve.append(_kl(mlp, embeddings, targets))
        val_curve += [_kl(mlp, *validation)] if validation else []
    return mlp.eval(), curve, val_curve


def train_adapter(embeddings: torch.Tensor, targets: torch.Tensor, config: AdapterTraining) -> AdapterFit:
    """Early stopping by prompts: fit on all but a seeded `validation_fraction` of the prompts for
    `epochs`, take the epoch (0 = average weights) with the lowest validation KL, then refit on every
    prompt for that many epochs. Fewer than 2 prompts on either side: train `epochs` on all of them.
    Seeded; the global RNG is left as it was.
    """
    n = len(embeddings)
    n_val = round(n * config.validation_fraction)
    with torch.random.fork_rng(devices=[]), _one_thread():
        if n_val < 2 or n - n_val < 2:
            mlp, curve, _ = _fit(embeddings, targets, config, config.epochs)
            return AdapterFit(mlp, config.epochs, curve)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed))
        val, fit = perm[:n_val], perm[n_val:]
        _, _, val_curve = _fit(embeddings[fit], targets[fit], config, config.epochs,
                               (embeddings[val], targets[val]))  # fmt: skip
        best = min(range(len(val_curve)), key=val_curve.__getitem__)
        mlp, curve, _ = _fit(embeddings, targets, config, best)
    return AdapterFit(mlp, best, curve, val_curve, n_val)


# --- prompt encoders --------------------------------------------------------------------------------


def encode_prompts(encoder, prompts: Sequence[str]) -> torch.Tensor:
    """e(x): the frozen (prompt, response) encoder with an empty response, i.e. the prompt alone."""
    return encoder.encode(list(prompts), [""] * len(prompts)).float()


def encoder_info(kind: str, encoder) -> dict[str, Any]:
    return {"kind": kind, "name": encoder.name}


# --- the saved bundle -------------------------------------------------------------------------------


@dataclass
class PreferenceAdapter:
    """What generation needs: objectives, normalization, encoder identity, τ and the MLP (or override)."""

    objectives: list[str]
    normalizer: Normalizer
    temperature: float
    encoder: dict[str, Any]  # {"kind": "minilm" | "base_model", "name": ...}
    mlp: PreferenceMLP | None = None
    override: dict[str, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. rating levels, the base model path

    def override_weights(self) -> torch.Tensor:
        raw = torch.tensor([float((self.override or {}).get(n, 0.0)) for n in self.objectives])
        return raw / raw.sum()

    @torch.no_grad()
    def weights_from_embeddings(self, embeddings: torch.Tensor) -> torch.Tensor:
        """w(x) per row: the override for every prompt when set, else softmax(MLP(e(x)))."""
        if self.override:
            return self.override_weights().expand(len(embeddings), -1).clone()
        return torch.softmax(self.mlp(embeddings.float()), dim=-1)

    def infer_weights(self, prompts: Sequence[str], encoder=None) -> torch.Tensor:
        """w(x) for each prompt, [P, m] in `objectives` order; MiniLM is built here when none is given."""
        if self.override:
            return self.override_weights().expand(len(prompts), -1).clone()
        return self.weights_from_embeddings(encode_prompts(self._encoder(encoder), prompts))

    def _encoder(self, encoder):
        if encoder is None:
            if self.encoder["kind"] != "minilm":
                raise UserFacingError(
                    f"this preference adapter reads prompts with {self.encoder['name']!r}: pass that "
                    "encoder (workers.reward_models.BaseModelEncoder on the base model)"
                )
            from workers.reward_models import MiniLMEncoder

            return MiniLMEncoder()
        if encoder.name != self.encoder["name"]:
            raise UserFacingError(
                f"the preference adapter was trained on {self.encoder['name']!r}, not {encoder.name!r}"
            )
        return encoder

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT, "schema_version": SCHEMA_VERSION, "objectives": self.objectives,
            "normalization": {"method": self.normalizer.method, "center": self.normalizer.center,
                              "scale": self.normalizer.scale},
            "temperature": self.temperature, "encoder": self.encoder, "weights_override": self.override,
            "mlp": None if self.mlp is None else {"input_dim": self.mlp.net[0].in_features,
                                                  "hidden": self.mlp.net[0].out_features},
            **self.extra,
        }  # fmt: skip
        (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        if self.mlp is not None:
            state = {k: v.detach().contiguous().cpu() for k, v in self.mlp.state_dict().items()}
            save_file(state, str(folder / WEIGHTS_FILE))
        return folder


def load_preference_adapter(folder: Path | str) -> PreferenceAdapter:
    """The bundle `PreferenceAdapter.save` wrote; refuses other formats and versions by name."""
    folder = Path(folder)
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        raise UserFacingError(f"no {META_FILE} in {folder}: not a saved PRO preference adapter")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT or meta.get("schema_version") != SCHEMA_VERSION:
        raise UserFacingError(
            f"{meta_path} is {meta.get('format')!r} v{meta.get('schema_version')}, "
            f"not {FORMAT} v{SCHEMA_VERSION}: retrain the run with this version of the studio"
        )
    mlp = None
    if meta["mlp"] is not None:
        mlp = PreferenceMLP(meta["mlp"]["input_dim"], meta["mlp"]["hidden"], len(meta["objectives"]))
        mlp.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        mlp.eval()
    norm = meta["normalization"]
    known = {"format", "schema_version", "objectives", "normalization", "temperature", "encoder",
             "weights_override", "mlp"}  # fmt: skip
    return PreferenceAdapter(
        objectives=list(meta["objectives"]),
        normalizer=Normalizer(norm["method"], norm["center"], norm["scale"]),
        temperature=meta["temperature"],
        encoder=meta["encoder"],
        mlp=mlp,
        override=meta["weights_override"],
        extra={k: v for k, v in meta.items() if k not in known},
    )
