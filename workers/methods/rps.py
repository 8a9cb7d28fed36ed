"""RPS runner (methods.md §4): a selection reward model, optional direction-conditioned SFT, and E9.

Data roles, all prompt-disjoint: the training records minus a `judge_fraction` share fit the selection
reward model (MiniLM heads) and give the conditioned-SFT examples; the set-aside share fits the judge
(heads on the base model's own hidden states, adapter off: another encoder and other prompts, so the
judge never saw what selection or training used); held-out prompts are where RPS meets its baseline.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import torch

from workers.directions import conditioned_prompt, in_coverage, projected
from workers.errors import UserFacingError
from workers.logprobs import response_logps
from workers.losses import sft_nll
from workers.methods.base import EvaluationInputs, MethodRunner, TrainingInputs
from workers.reward_models import (
    BaseModelEncoder,
    Encoder,
    MiniLMEncoder,
    MultiObjectiveRewardModel,
    WithTextFeatures,
    fit_from_scores,
)
from workers.rps_evaluation import evaluate_directions
from workers.rps_selection import SamplePlan, draw_samples, pick, rps_keys, score_samples
from workers.sft_data import SFTCollator, SFTDataset, SFTExample
from workers.tokenization import PairTokenizer

RPS_DIR = "rps"
RPS_SCHEMA_VERSION = 1


def split_for_judge(records: list, fraction: float, seed: int) -> tuple[list, list]:
    """(selection records, judge records) by prompt, seeded; both sides keep at least one prompt."""
    prompts = sorted({r.prompt for r in records})
    random.Random(seed).shuffle(prompts)
    judge_count = min(max(1, round(fraction * len(prompts))), len(prompts) - 1)
    judge_prompts = set(prompts[:judge_count])
    return [r for r in records if r.prompt not in judge_prompts], [
        r for r in records if r.prompt in judge_prompts
    ]


def best_along(record, objectives, angle: float) -> int | None:
    """Index of the response with the highest human score along the direction (None if unscored)."""
    scores = record.objective_scores or {}
    first, second = scores.get(objectives[0], {}), scores.get(objectives[1], {})
    scored = [i for i in range(len(record.responses)) if i in first and i in second]
    return max(scored, key=lambda i: projected((first[i], second[i]), angle)) if scored else None


def conditioned_examples(records, spec, tokenizer, recipe, seed: int) -> list[SFTExample]:
    """Per record, `directions_per_prompt` angles drawn uniformly from the coverage, each paired with the
    best response along it (rejection sampling over the dataset's rated responses, DPA §4A [D])."""
    t = recipe.training
    ids = PairTokenizer(tokenizer, max_length=t.max_length, max_prompt_length=t.max_prompt_length,
                        use_chat_template=recipe.model.use_chat_template)  # fmt: skip
    rng = random.Random(seed)
    examples = []
    for record in records:
        for _ in range(spec.directions_per_prompt):
            angle = rng.uniform(spec.coverage_min_deg, spec.coverage_max_deg)
            best = best_along(record, spec.objectives, angle)
            if best is None:
                continue
            prompt_ids = ids.prompt_ids(conditioned_prompt(record.prompt, angle, spec.objectives))
            room = max(t.max_length - len(prompt_ids), 1)
            examples.append(SFTExample(prompt_ids, ids.response_ids(record.responses[best])[:room]))
    return examples


class RPSRunner(MethodRunner):
    needs_reference = False
    data_shape = "rated_responses"

    def __init__(self, spec):
        super().__init__(spec)
        self.selection_model: MultiObjectiveRewardModel | None = None
        self.judge_records: list = []

    def training_data(self, inputs: TrainingInputs):
        records = inputs.split.records_of(inputs.kept_sources())
        if len(records) < 2:
            raise UserFacingError("RPS needs at least two training prompts with scored responses")
        selection, self.judge_records = split_for_judge(
            records, self.spec.judge_fraction, inputs.recipe.training.seed
        )
        try:
            self.selection_model = fit_from_scores(
                selection, self.spec.objectives, self._features(MiniLMEncoder(pool="response"))
            )
        except ValueError as exc:
            raise UserFacingError(f"RPS selection reward model: {exc}") from None
        if self.spec.training == "none":
            return None, None  # selection only: the pipeline skips the training loop
        examples = conditioned_examples(
            selection, self.spec, inputs.tokenizer, inputs.recipe, inputs.recipe.training.seed
        )
        if not examples:
            raise UserFacingError(
                "no conditioned training example: the records lack scores for method.objectives"
            )
        return SFTDataset(examples), SFTCollator(inputs.tokenizer.pad_token_id)

    def _features(self, encoder: Encoder) -> Encoder:
        return WithTextFeatures(encoder) if self.spec.reward_text_features else encoder

    def loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        logps, counts = response_logps(
            model, batch["input_ids"], batch["attention_mask"], batch["response_mask"]
        )
        losses = sft_nll(logps, counts)
        return losses.mean(), {"sft/token_logps": (logps / counts.clamp(min=1)).detach().mean().item()}

    def report(self, inputs: EvaluationInputs) -> dict[str, Any]:
        judge = fit_from_scores(
            self.judge_records,
            self.spec.objectives,
            self._features(BaseModelEncoder(inputs.model, inputs.tokenizer, pool="response")),
        )
        return evaluate_directions(self.spec, inputs, self.selection_model, judge)

    def save_extras(self, out_dir: Path) -> dict[str, Path]:
        folder = out_dir / RPS_DIR
        self.selection_model.save(folder / "selection_reward_model")
        config = {"schema_version": RPS_SCHEMA_VERSION, "spec": self.spec.model_dump(mode="json")}
        (folder / "rps.json").write_text(json.dumps(config, indent=2))
        return {"rps": folder}


def in_coverage_of(spec, angle: float) -> bool:
    return in_coverage(angle, spec.coverage_min_deg, spec.coverage_max_deg)


def direction_degrees(direction) -> float:
    """An angle in degrees from a number, [angle] or an (x, y) direction vector; None means 0°."""
    if direction is None:
        return 0.0
    if isinstance(direction, int | float):
        return float(direction)
    values = [float(v) for v in direction]
    if len(values) == 1:
        return values[0]
    if len(values) == 2 and any(values):
        return math.degrees(math.atan2(values[1], values[0]))
    raise UserFacingError(f"a direction is an angle in degrees or an (x, y) vector, got {direction!r}")


def _rps_folder(path: Path) -> Path:
    """The run's rps/ folder, given the run folder or its adapter folder."""
    for candidate in (Path(path) / RPS_DIR, Path(path).parent / RPS_DIR):
        if (candidate / "selection_reward_model").exists():
            return candidate
    raise UserFacingError(f"no RPS selection reward model next to {path}: was this run trained with rps?")


def generate_candidates(model, tokenizer, recipe, run_dir: Path, prompt: str, direction) -> dict:
    """Serving (`studio generate --direction`): RPS's k candidates along the neighbours, each with its
    selection score along the target, and the index of the one RPS returns. `run_dir` may be the run's
    folder or its adapter folder; `direction` an angle in degrees or an (x, y) vector."""
    spec, direction = recipe.method, direction_degrees(direction)
    folder = _rps_folder(run_dir)
    selection = MultiObjectiveRewardModel.load(folder / "selection_reward_model")
    plan = SamplePlan()
    keys = rps_keys(plan, spec, 0, direction)
    samples = draw_samples(model, tokenizer, spec, [prompt], plan, seed=recipe.training.seed,
                           use_chat_template=recipe.model.use_chat_template,
                           max_prompt_length=recipe.training.max_prompt_length)  # fmt: skip
    scores = score_samples(selection, spec.objectives, [prompt], samples)
    chosen = pick(keys, scores, direction)
    candidates = [
        {"direction_deg": key[2], "text": samples[key], "score": projected(scores[key], direction),
         "objective_scores": dict(zip(spec.objectives, scores[key], strict=True))}
        for key in keys
    ]  # fmt: skip
    return {
        "candidates": candidates,
        "selected": keys.index(chosen),
        "in_coverage": in_coverage_of(spec, direction),
    }
