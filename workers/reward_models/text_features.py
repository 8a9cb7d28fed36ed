"""Surface features of a reply next to a frozen embedding: the signals a few hundred ratings can learn.

Sentence embeddings rank one prompt's candidate replies poorly on criteria such as "uses the given
knowledge" or "engaging": mean pooling blurs how long a reply is and how much of the prompt it takes up.
On USR Topical-Chat (60 contexts, 5-fold by context, ridge heads), adding the four features below to
MiniLM raised the mean within-context Spearman with the human scores from 0.50 to 0.68 (engagingness)
and from 0.41 to 0.70 (groundedness); docs/methods/rps.md has the table.

Features of (prompt x, reply y), over lower-cased word tokens, "content" words being those not in a
short stop list:
- length: log(1 + |words(y)|) / 4
- uptake: |content(y) ∩ content(x)| / |content(y)|   (how much of the reply comes from the prompt)
- coverage: |content(y) ∩ content(x)| / |content(x)|  (how much of the prompt the reply uses)
- density: |content(y)| / |words(y)|                    (distinct content words per word: fillers and
  repetition lower it)
each times FEATURE_SCALE, so a ridge head built for unit-norm embedding rows (entries ~0.05) does not
shrink them to nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch

from workers.reward_models.encoders import Encoder

TEXT_FEATURES_SUFFIX = "+text-features-v1"
FEATURE_NAMES = ("length", "uptake", "coverage", "density")
FEATURE_SCALE = 3.0
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP_TEXT = (
    "a an and are as at be but did do for have he i in is it know no not of on or so she that the they "
    "this to was we what with yeah yes you"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())


def text_features(prompt: str, response: str) -> list[float]:
    """The four features above for one (prompt, reply), unscaled."""
    prompt_words = {w for w in WORD.findall(prompt.lower()) if w not in STOP_WORDS}
    words = WORD.findall(response.lower())
    content = {w for w in words if w not in STOP_WORDS}
    shared = len(content & prompt_words)
    return [
        math.log1p(len(words)) / 4,
        shared / max(len(content), 1),
        shared / max(len(prompt_words), 1),
        len(content) / max(len(words), 1),
    ]


class WithTextFeatures:
    """An encoder's rows with the scaled text features appended (d + 4 columns)."""

    def __init__(self, encoder: Encoder):
        self.encoder = encoder
        self.name = encoder.name + TEXT_FEATURES_SUFFIX

    def encode(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        embedded = self.encoder.encode(prompts, responses)
        rows = [text_features(p, r) for p, r in zip(prompts, responses, strict=True)]
        extra = torch.tensor(rows, dtype=torch.float32).reshape(len(rows), len(FEATURE_NAMES))
        return torch.cat([embedded.float(), FEATURE_SCALE * extra], dim=1)
