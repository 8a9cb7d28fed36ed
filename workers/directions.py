"""Preference directions over two objectives (methods.md §4): angles, the trusted grid, neighbourhoods,
the DPA instruction text and projected rewards. Pure Python, shared by RPS training, serving and E9.

Angles are measured from the first objective's axis towards the second: v(θ) = (cos θ, sin θ).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def unit_vector(angle_deg: float) -> tuple[float, float]:
    radians = math.radians(angle_deg)
    return math.cos(radians), math.sin(radians)


def projected(scores: Sequence[float], angle_deg: float) -> float:
    """v(θ)ᵀ r̂: the reward along the direction, r̂ = (first objective, second objective)."""
    x, y = unit_vector(angle_deg)
    return x * scores[0] + y * scores[1]


def neighbours(target_deg: float, grid: Sequence[float], k: int, max_angle_deg: float) -> list[float]:
    """The ≤ k grid angles within max_angle_deg of the target, closest first (ties: the lower angle).

    Fewer than k come back when the grid has fewer trusted directions that close; callers fill the
    budget (methods.md §4B keeps the compute equal to the baseline's k samples).
    """
    close = [angle for angle in grid if abs(angle - target_deg) <= max_angle_deg + 1e-9]
    return sorted(close, key=lambda angle: (abs(angle - target_deg), angle))[:k]


def budgeted_neighbours(
    target_deg: float, grid: Sequence[float], k: int, max_angle_deg: float
) -> list[float]:
    """Exactly k candidate directions: the neighbours, cycled when fewer than k are trusted; the target
    itself when none is (then RPS degenerates to the baseline rather than failing)."""
    found = neighbours(target_deg, grid, k, max_angle_deg) or [target_deg]
    return [found[i % len(found)] for i in range(k)]


def instruction_weights(angle_deg: float) -> tuple[int, int]:
    """DPA's integer weights (round(100 cos θ), round(100 sin θ))."""
    x, y = unit_vector(angle_deg)
    return round(100 * x), round(100 * y)


def conditioned_prompt(prompt: str, angle_deg: float, objectives: Sequence[str]) -> str:
    """The prompt with DPA's weighted-rating instruction appended (the user turn, as RPS's code does)."""
    h, w = instruction_weights(angle_deg)
    return f"{prompt}\n\nMaximize weighted rating = {objectives[0]}*{h} + {objectives[1]}*{w}."


def in_coverage(angle_deg: float, low: float, high: float) -> bool:
    return low - 1e-9 <= angle_deg <= high + 1e-9
