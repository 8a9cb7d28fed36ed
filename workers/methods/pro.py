"""PRO runner — Preference Orchestrator (methods.md §3A): prompt-aware weights, weighted-pair DPO.

`training_data` builds everything before the first step: the records behind the training pairs, their
normalized objective scores, the preference adapter (or the recipe's fixed `weights_override`), the
weights w(x) of every training prompt, and the pairs R(x, y) = Σ w_i(x)·r̃_i(x, y) orders. Those pairs
replace the pipeline's equal-weight ones; their reference log-probs come from the pipeline's pass where
a response was already scored (log π(y|x) does not depend on the other response) and from one more
adapter-off pass for the rest. The loss is DPO with the R-gap as strength or margin (`workers.losses`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from recipes.methods.pro import data_objectives
from workers.errors import UserFacingError
from workers.logprobs import packed_logps
from workers.losses import PairSignal, dpo_loss
from workers.methods.base import EvaluationInputs, MethodRunner, TrainingInputs
from workers.preference_adapter import (
    AdapterFit,
    AdapterTraining,
    Normalizer,
    PreferenceAdapter,
    adapter_targets,
    encode_prompts,
    load_preference_adapter,
    rating_levels,
    scored_records,
    train_adapter,
    weighted_pairs,
)
from workers.scoring import score_pairs
from workers.tokenization import PairTokenizer
from workers.trainer import PairCollator, PairDataset

PREFERENCE_ADAPTER_DIR = Path("adapter") / "preference_adapter"  # inside the LoRA folder: travels with it
WEIGHTS_LOG = "pro_weights.jsonl"


@dataclass
class PromptWeights:
    """Per prompt of one side of the split: target t(x) (from its data) and inferred w(x)."""

    prompts: list[str]
    targets: torch.Tensor  # [P, m]
    weights: torch.Tensor  # [P, m]


def prompt_encoder(kind: str, recipe, model=None, tokenizer=None):
    """The frozen e(x): MiniLM, or the base LM (adapter off) with the recipe's lengths and template."""
    from workers.reward_models import BaseModelEncoder, MiniLMEncoder

    if kind == "minilm":
        return MiniLMEncoder()
    t = recipe.training
    return BaseModelEncoder(
        model, tokenizer, max_length=t.max_length, max_prompt_length=t.max_prompt_length,
        use_chat_template=recipe.model.use_chat_template, name=f"base:{recipe.model.name_or_path}",
    )  # fmt: skip


class PRORunner(MethodRunner):
    data_shape = "rated_responses"

    def __init__(self, spec):
        super().__init__(spec)
        self.mean_strength = 1.0
        self.adapter: PreferenceAdapter | None = None
        self.fit: AdapterFit | None = None
        self.train_weights: PromptWeights | None = None
        self.heldout_weights: PromptWeights | None = None  # set by the report
        self.levels = 2
        self.pair_count = 0

    def objectives(self, recipe) -> list[str]:
        return list(self.spec.objectives or data_objectives(recipe.data.mapping())[1])

    # --- training data ------------------------------------------------------------------------------

    def training_data(self, inputs: TrainingInputs):
        recipe, objectives = inputs.recipe, self.objectives(inputs.recipe)
        self.levels = rating_levels(list(inputs.split.records.values()))
        scored = scored_records(inputs.split.records_of(inputs.kept_sources()), objectives, self.levels)
        if not scored:
            raise UserFacingError(
                f"no training prompt has two responses scored on every objective {objectives}: "
                "check data.fields.scores (or ratings) and method.objectives"
            )
        normalizer = Normalizer.fit(self.spec.normalization, torch.cat([s.unit for s in scored]))
        encoder = prompt_encoder(self.spec.prompt_encoder, recipe, inputs.model, inputs.tokenizer)
        self.adapter = self._build_adapter(recipe, objectives, normalizer, encoder, scored)
        weights = self.train_weights.weights
        pairs = [
            pair
            for s, w in zip(scored, weights, strict=True)
            for pair in weighted_pairs(s, normalizer(s.unit), w, self.spec.min_gap)
        ]
        pairs = _without_filtered(pairs, inputs)
        if not pairs:
            raise UserFacingError(
                f"no training pair has a weighted-score gap of at least method.min_gap ({self.spec.min_gap}):"
                " lower min_gap"
            )
        return self._dataset(inputs, pairs)

    def _build_adapter(self, recipe, objectives, normalizer, encoder, scored) -> PreferenceAdapter:
        prompts = [s.record.prompt for s in scored]
        targets = adapter_targets(
            torch.stack([normalizer(s.unit)[s.preferred] for s in scored]), self.spec.temperature
        )
        t = recipe.training
        extra = {"rating_levels": self.levels, "base_model": recipe.model.name_or_path,
                 "max_length": t.max_length, "max_prompt_length": t.max_prompt_length,
                 "use_chat_template": recipe.model.use_chat_template,
                 "mean_target": targets.mean(dim=0).tolist()}  # fmt: skip
        adapter = PreferenceAdapter(
            objectives, normalizer, self.spec.temperature,
            {"kind": self.spec.prompt_encoder, "name": encoder.name},
            override=self.spec.weights_override, extra=extra,
        )  # fmt: skip
        if self.spec.weights_override:
            weights = adapter.override_weights().expand(len(prompts), -1).clone()
        else:
            embeddings = encode_prompts(encoder, prompts)
            config = AdapterTraining(
                self.spec.adapter_hidden, self.spec.adapter_epochs, self.spec.adapter_learning_rate,
                self.spec.adapter_weight_decay, self.spec.adapter_validation_fraction, t.seed,
            )  # fmt: skip
            self.fit = train_adapter(embeddings, targets, config)
            adapter.mlp = self.fit.mlp
            weights = adapter.weights_from_embeddings(embeddings)
        self.train_weights = PromptWeights(prompts, targets, weights)
        return adapter

    def _dataset(self, inputs: TrainingInputs, pairs):
        t, recipe = inputs.recipe.training, inputs.recipe
        tokenizer = PairTokenizer(
            inputs.tokenizer, max_length=t.max_length, max_prompt_length=t.max_prompt_length,
            use_chat_template=recipe.model.use_chat_template,
        )  # fmt: skip
        tokenized = tokenizer.many(pairs)
        if not tokenized.pairs:
            raise UserFacingError("no PRO training pair left after tokenization: raise training.max_length")
        kept = [pairs[i] for i in tokenized.kept]
        ref = _reference_logps(inputs, kept, tokenized.pairs)
        strength = torch.tensor([p.strength for p in kept], dtype=torch.float32)
        self.mean_strength = float(strength.mean())
        self.pair_count = len(kept)
        dataset = PairDataset(tokenized.pairs, {"ref_logps": ref, "strength": strength})
        return dataset, PairCollator(inputs.tokenizer.pad_token_id)

    # --- loss ---------------------------------------------------------------------------------------

    def loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        logps, _ = packed_logps(model, batch)
        half = logps.shape[0] // 2
        ref = batch["ref_logps"]
        signal = None
        if self.spec.pair_weighting != "none":
            signal = PairSignal(self.spec.pair_weighting, batch["strength"], self.mean_strength,
                                self.spec.margin_scale)  # fmt: skip
        out = dpo_loss(logps[:half], logps[half:], ref[:, 0], ref[:, 1], beta=self.spec.beta, signal=signal)
        metrics = {
            "rewards/chosen": out.chosen_rewards.mean().item(),
            "rewards/rejected": out.rejected_rewards.mean().item(),
            "rewards/accuracy": (out.chosen_rewards > out.rejected_rewards).float().mean().item(),
            "rewards/margin": (out.chosen_rewards - out.rejected_rewards).mean().item(),
            "pro/r_gap": batch["strength"].mean().item(),
        }
        return out.losses.mean(), metrics

    # --- report and artifacts -----------------------------------------------------------------------

    def report(self, inputs: EvaluationInputs) -> dict[str, Any]:
        from workers.pro_report import pro_report

        return pro_report(self, inputs)

    def save_extras(self, out_dir: Path) -> dict[str, Path]:
        if self.adapter is None:
            return {}
        folder = self.adapter.save(out_dir / PREFERENCE_ADAPTER_DIR)
        log = out_dir / WEIGHTS_LOG
        rows = [
            {"split": split, "prompt": prompt, "target": dict(zip(self.adapter.objectives, t, strict=True)),
             "weights": dict(zip(self.adapter.objectives, w, strict=True))}
            for split, side in (("train", self.train_weights), ("heldout", self.heldout_weights))
            if side is not None
            for prompt, t, w in zip(side.prompts, side.targets.tolist(), side.weights.tolist(), strict=True)
        ]  # fmt: skip
        log.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return {"preference_adapter": folder, "pro_weights": log}


def _pair_key(prompt: str, a: str, b: str) -> tuple[str, frozenset[str]]:
    return prompt, frozenset((a, b))


def _without_filtered(pairs, inputs: TrainingInputs):
    """Drops re-derived pairs the pipeline filtered out (E5's drop_top_ln_ches, identical after cutting)."""
    kept = set(inputs.train.kept)
    dropped = {
        _pair_key(p.prompt, p.chosen, p.rejected) for i, p in enumerate(inputs.sources) if i not in kept
    }
    return [p for p in pairs if _pair_key(p.prompt, p.chosen, p.rejected) not in dropped]


def _reference_logps(inputs: TrainingInputs, pairs, tokenized) -> torch.Tensor:
    """[n, 2] adapter-off log-probs: reused from the pipeline's pass per (prompt, response), else scored."""
    known: dict[tuple[str, str], torch.Tensor] = {}
    for row, source in enumerate(inputs.kept_sources()):
        known[(source.prompt, source.chosen)] = inputs.ref_logps[row, 0]
        known[(source.prompt, source.rejected)] = inputs.ref_logps[row, 1]
    ref = torch.zeros(len(pairs), 2)
    missing = []
    for i, pair in enumerate(pairs):
        chosen, rejected = known.get((pair.prompt, pair.chosen)), known.get((pair.prompt, pair.rejected))
        if chosen is None or rejected is None:
            missing.append(i)
        else:
            ref[i] = torch.stack([chosen, rejected])
    if missing:
        scored, _ = score_pairs(
            inputs.model, [tokenized[i] for i in missing], pad_id=inputs.tokenizer.pad_token_id,
            precision=inputs.precision, adapter_disabled=True,
        )  # fmt: skip
        ref[torch.tensor(missing)] = scored
    return ref


def weights_for_prompt(
    run_dir: Path | str, prompt: str, override: dict[str, float] | None = None, encoder=None
) -> dict[str, float]:
    """w(x) of one prompt from a finished PRO run, for generation: objective → weight (sums to 1).

    `override` (objective → weight ≥ 0) wins over everything, then the recipe's `weights_override`
    saved with the run, then the adapter. A run whose adapter reads prompts with the base model needs
    `encoder` (a `BaseModelEncoder` on that base), or the base is loaded here from the run's metadata.
    """
    adapter = load_preference_adapter(Path(run_dir) / PREFERENCE_ADAPTER_DIR)
    if override is not None:
        adapter.override = _checked_override(override, adapter.objectives)
    if not adapter.override and adapter.encoder["kind"] == "base_model" and encoder is None:
        encoder = _base_encoder_for(Path(run_dir), adapter)
    weights = adapter.infer_weights([prompt], encoder)[0].tolist()
    return dict(zip(adapter.objectives, weights, strict=True))


def _checked_override(override: dict[str, float], objectives: list[str]) -> dict[str, float]:
    unknown = sorted(set(override) - set(objectives))
    if unknown:
        raise UserFacingError(f"weights override names {unknown}; this run's objectives are {objectives}")
    if any(v < 0 for v in override.values()) or sum(override.values()) <= 0:
        raise UserFacingError("weights override needs weights ≥ 0 with at least one above 0")
    return dict(override)


def _base_encoder_for(run_dir: Path, adapter: PreferenceAdapter):
    from workers import modeling
    from workers.reward_models import BaseModelEncoder

    meta = json.loads((run_dir / "adapter" / "studio_adapter.json").read_text())
    tokenizer = modeling.load_tokenizer(meta["base_model_path"], None)
    model = modeling.load_base_model(meta["base_model_path"], "float32", None)
    extra = adapter.extra
    return BaseModelEncoder(
        model, tokenizer, max_length=extra["max_length"], max_prompt_length=extra["max_prompt_length"],
        use_chat_template=extra["use_chat_template"], name=adapter.encoder["name"],
    )  # fmt: skip
