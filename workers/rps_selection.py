"""RPS at inference (methods.md §4B): sample along trusted neighbour directions, keep the candidate the
selection reward model scores best along the user's target direction.

`SamplePlan` collects every (prompt, conditioning direction, draw) a batch of requests needs, so one
generate() call serves RPS pools shared by several targets and the baselines' k draws from each target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from workers.directions import budgeted_neighbours, conditioned_prompt, projected
from workers.generation import generate

SampleKey = tuple[str, int, float, int]  # (pool "rps" | "baseline", prompt index, direction, draw)


@dataclass
class SamplePlan:
    keys: list[SampleKey] = field(default_factory=list)

    def need(self, key: SampleKey) -> SampleKey:
        if key not in self.keys:
            self.keys.append(key)
        return key


def rps_keys(plan: SamplePlan, spec, prompt: int, target: float, repeat: int = 0) -> list[SampleKey]:
    """One draw per neighbour direction; a direction used twice (a cycled short list) gets two draws."""
    directions = budgeted_neighbours(target, spec.grid(), spec.k, spec.max_angle_deg)
    seen: dict[float, int] = {}
    keys = []
    for direction in directions:
        draw = repeat * spec.k + seen.get(direction, 0)
        seen[direction] = seen.get(direction, 0) + 1
        keys.append(plan.need(("rps", prompt, direction, draw)))
    return keys


def baseline_keys(plan: SamplePlan, spec, prompt: int, target: float, repeat: int = 0) -> list[SampleKey]:
    """The same compute from the target itself: k draws conditioned on v_t."""
    return [plan.need(("baseline", prompt, target, repeat * spec.k + j)) for j in range(spec.k)]


def draw_samples(
    model, tokenizer, spec, prompts: Sequence[str], plan: SamplePlan, *, seed: int,
    use_chat_template: bool, max_prompt_length: int, batch_size: int = 16,
) -> dict[SampleKey, str]:  # fmt: skip
    """Every planned sample from the adapter, conditioned with DPA's instruction; seeds differ by batch."""
    texts = [conditioned_prompt(prompts[p], direction, spec.objectives) for _, p, direction, _ in plan.keys]
    out = generate(
        model, tokenizer, texts, max_new_tokens=spec.max_new_tokens, temperature=spec.temperature,
        top_p=spec.top_p, repetition_penalty=spec.repetition_penalty, seed=seed, batch_size=batch_size,
        max_prompt_length=max_prompt_length, use_chat_template=use_chat_template,
    )  # fmt: skip
    return dict(zip(plan.keys, out.texts, strict=True))


def pick(keys: Sequence[SampleKey], scores: dict[SampleKey, tuple[float, float]], target: float) -> SampleKey:
    """argmax_i v_tᵀ r̂(x, y_i) (first one on ties, so the choice is deterministic)."""
    return max(keys, key=lambda key: (projected(scores[key], target), -keys.index(key)))


def score_samples(reward_model, objectives, prompts, samples: dict[SampleKey, str]) -> dict[SampleKey, tuple]:
    """(first, second) objective scores of every sample against its plain prompt (no instruction)."""
    keys = list(samples)
    scored = reward_model.score([prompts[key[1]] for key in keys], [samples[key] for key in keys])
    return {key: (scored[objectives[0]][i], scored[objectives[1]][i]) for i, key in enumerate(keys)}
