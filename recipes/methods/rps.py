"""RPS: Robust Preference Selection (Mao et al., ICLR 2026; methods.md §4B), with DPA-style conditioning.

A user asks for a preference direction v over two objectives. RPS answers with one sample from each of
the k trusted grid directions nearest to v and keeps the one the reward model scores best along v; the
same-compute baseline draws k samples from v itself. The optional training stage teaches the adapter to
follow direction instructions inside a coverage range (DPA's conditioned fine-tuning, §4A).
"""

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from recipes._base import StrictModel


class RPSSpec(StrictModel):
    """RPS — robust preference selection at inference over a direction grid (Mao et al. 2026)."""

    DATA_SHAPE: ClassVar[str] = "rated_responses"  # several objective scores per response
    PAPER: ClassVar[str] = "https://arxiv.org/abs/2510.20498"

    method: Literal["rps"] = Field(description="Training method; 'rps' is Robust Preference Selection.")
    objectives: tuple[str, str] = Field(
        description="The two scored objectives the direction runs between: angle 0° is all the first "
        "(e.g. helpfulness), 90° all the second (e.g. verbosity); names from data.fields.scores."
    )
    grid_min_deg: float = Field(-40.0, ge=-90, le=90, description="Lowest trusted grid angle (paper: −40°).")
    grid_max_deg: float = Field(40.0, ge=-90, le=90, description="Highest trusted grid angle (paper: 40°).")
    grid_step_deg: float = Field(5.0, gt=0, le=45, description="Spacing of the trusted grid (paper: 5°).")
    k: int = Field(5, ge=1, le=32, description="Neighbour directions (one sample each) per answer; paper: 5.")
    max_angle_deg: float = Field(
        30.0, gt=0, le=90, description="θ_max: only grid directions this close to the target are used."
    )
    temperature: float = Field(0.7, gt=0, le=2, description="Sampling temperature of every candidate.")
    top_p: float = Field(0.9, gt=0, le=1, description="Nucleus sampling mass of every candidate.")
    repetition_penalty: float = Field(1.1, ge=1, le=2, description="Repetition penalty (paper: 1.1).")
    max_new_tokens: int = Field(48, ge=1, le=2048, description="Longest candidate answer, in tokens.")
    training: Literal["none", "conditioned_sft"] = Field(
        "conditioned_sft",
        description="none: select only; conditioned_sft: first fine-tune the adapter on direction-"
        "conditioned prompts with the best-scored response along each direction (DPA-style).",
    )
    coverage_min_deg: float = Field(
        -30.0, ge=-90, le=90, description="Training directions are drawn from this angle upwards."
    )
    coverage_max_deg: float = Field(
        30.0, ge=-90, le=90, description="…up to this angle: the coverage that RPS is robust beyond."
    )
    directions_per_prompt: int = Field(
        3, ge=1, le=16, description="Training directions drawn per prompt for conditioned_sft."
    )
    eval_directions_deg: list[float] = Field(
        default_factory=lambda: [10.0, 20.0, 40.0, 45.0],
        min_length=1,
        description="Target angles evaluated against the same-compute baseline; those outside the "
        "coverage are reported as under-represented.",
    )
    eval_prompts: int = Field(
        24, ge=1, le=10_000, description="Held-out prompts per evaluated direction (generation-bound)."
    )
    reward_text_features: bool = Field(
        True,
        description="Give the selection reward model and the judge the reply's length and word overlap "
        "with the prompt next to its embedding (on USR they rank one prompt's replies far better).",
    )
    judge_fraction: float = Field(
        0.3,
        gt=0,
        lt=0.9,
        description="Share of the training prompts set aside to fit the evaluation judge; the selection "
        "reward model never sees them.",
    )

    def grid(self) -> list[float]:
        count = int(round((self.grid_max_deg - self.grid_min_deg) / self.grid_step_deg)) + 1
        return [self.grid_min_deg + i * self.grid_step_deg for i in range(count)]

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> "RPSSpec":
        if self.grid_min_deg >= self.grid_max_deg:
            raise ValueError("grid_min_deg must be below grid_max_deg, e.g. −40 and 40")
        if self.coverage_min_deg > self.coverage_max_deg:
            raise ValueError("coverage_min_deg must not exceed coverage_max_deg, e.g. −30 and 30")
        if self.objectives[0] == self.objectives[1]:
            raise ValueError("objectives must name two different scored objectives")
        return self

    @model_validator(mode="after")
    def _k_fits_the_grid(self) -> "RPSSpec":
        size = len(self.grid())
        if self.k > size:
            raise ValueError(
                f"k = {self.k} is larger than the grid ({size} directions from {self.grid_min_deg}° to "
                f"{self.grid_max_deg}° every {self.grid_step_deg}°): lower k or widen the grid"
            )
        return self

    def check_recipe(self, recipe) -> list[str]:
        """The data must score both objectives per response."""
        mapping = recipe.data.mapping() if hasattr(recipe.data, "mapping") else None
        if mapping is None:
            return []  # e.g. an annotation dataset: checked when its records arrive
        scored = set(mapping.scores or {})
        missing = [name for name in self.objectives if name not in scored]
        if not missing:
            return []
        have = ", ".join(sorted(scored)) or "none"
        return [
            f"method.objectives: {missing} are not scored by the data (scored: {have}); RPS needs two "
            "objective scores per response: map them under data.fields.scores"
        ]
