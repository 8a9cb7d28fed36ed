"""Text features next to an embedding (workers/reward_models/text_features.py): values, shape, save/load."""

import math

import pytest
import torch

from workers.reward_models import MiniLMEncoder, MultiObjectiveRewardModel, WithTextFeatures, text_features
from workers.reward_models.text_features import FEATURE_SCALE


def test_features_match_a_hand_count():
    prompt = "Fact: the president of indonesia released pop albums.\nB: did you know that?"
    reply = "yeah , the president released three albums !"
    # words(reply) = yeah the president released three albums (6); content = president released three
    # albums (4); prompt content = fact president indonesia released pop albums b (7: stop words dropped,
    # the speaker label "B" kept)
    length, uptake, coverage, density = text_features(prompt, reply)
    assert length == pytest.approx(math.log1p(6) / 4)
    assert uptake == pytest.approx(3 / 4)  # president, released, albums come from the prompt
    assert coverage == pytest.approx(3 / 7)
    assert density == pytest.approx(4 / 6)


def test_an_empty_reply_gets_zero_features_not_a_division_error():
    assert text_features("anything", "") == [0.0, 0.0, 0.0, 0.0]


def test_with_text_features_appends_scaled_columns_and_is_rebuilt_on_load(tmp_path):
    encoder = WithTextFeatures(MiniLMEncoder(pool="response"))
    prompts, replies = ["Fact: cats purr.", "Fact: cats purr."], ["cats purr when happy", "ok"]
    rows = encoder.encode(prompts, replies)
    assert rows.shape == (2, 384 + 4)
    assert rows[1, 384:].tolist() == pytest.approx(
        [FEATURE_SCALE * v for v in text_features(prompts[1], replies[1])]
    )
    assert rows[0, 384:].tolist() == pytest.approx(
        [FEATURE_SCALE * v for v in text_features(prompts[0], replies[0])]
    )
    model = MultiObjectiveRewardModel.fit(rows, {"grounded": ([0, 1], [1.0, 0.0])}, encoder, levels=2)
    loaded = MultiObjectiveRewardModel.load(model.save(tmp_path / "rm"))
    assert (
        loaded.encoder.name
        == encoder.name
        == "minilm:sentence-transformers/all-MiniLM-L6-v2:response-pool+text-features-v1"
    )
    assert loaded.score(prompts, replies)["grounded"] == pytest.approx(
        model.score(prompts, replies)["grounded"]
    )
    # Heads fitted with the features never load onto the plain encoder's 384 columns by mistake.
    with pytest.raises(ValueError, match="text-features"):
        MultiObjectiveRewardModel.load(tmp_path / "rm", encoder=_Named("base:other"))


class _Named:
    def __init__(self, name):
        self.name = name

    def encode(self, prompts, responses):
        return torch.zeros(len(prompts), 4)
