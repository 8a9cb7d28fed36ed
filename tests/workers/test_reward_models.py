"""Reward heads and the pairwise judge by hand, save/load, the judge's disjoint split, and both encoders."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from recipes.preference_data import PreferencePair, PreferenceRecord
from workers.modeling import apply_lora, load_base_model, load_tokenizer
from workers.reward_models import (
    BaseModelEncoder,
    HeadConfig,
    MiniLMEncoder,
    MultiObjectiveRewardModel,
    PairwiseJudge,
    disjoint_judge_split,
    fit_from_records,
    fit_to_budget,
    mean_pool,
    newton_bradley_terry,
    rating_targets,
)
from workers.reward_models.multi_objective import ridge_head

PANDALM = Path(__file__).resolve().parents[3] / "shared" / "data" / "pandalm-testset" / "testset-v1.json"


class TableEncoder:
    """e(x, y) looked up from a dict keyed by the response text (the prompt is ignored)."""

    name = "table:test"

    def __init__(self, table: dict[str, list[float]]):
        self.table = table

    def encode(self, prompts, responses):
        return torch.tensor([self.table[r] for r in responses], dtype=torch.float32)


# --- pure parts by hand --------------------------------------------------------------------------


def test_mean_pool_ignores_padding_and_normalizes():
    hidden = torch.tensor([[[3.0, 0.0], [1.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    # mean of the two real tokens = (2, 2) → unit norm (1/√2, 1/√2); the padded (100, 100) is ignored
    assert mean_pool(hidden, mask)[0].tolist() == pytest.approx([1 / math.sqrt(2), 1 / math.sqrt(2)])


def test_fit_to_budget_keeps_the_response_head_and_the_prompt_tail():
    assert fit_to_budget([1, 2, 3], [4, 5], 10) == [1, 2, 3, 4, 5]  # fits: untouched
    # long response: the prompt keeps max(8 − 20, 8 // 4) = 2 tokens (its tail), the response the first 6
    assert fit_to_budget([1, 2, 3], list(range(10, 30)), 8) == [2, 3, 10, 11, 12, 13, 14, 15]
    # long prompt, short response: the response is whole, the prompt gets the remaining 6 (its tail)
    assert fit_to_budget(list(range(20)), [90, 91], 8) == [14, 15, 16, 17, 18, 19, 90, 91]


def test_ridge_head_by_hand():
    # x = 0, 1, 2; t = 0, 1, 2 → Sxx = 2, Sxt = 2; w = Sxt / (Sxx + nλ), b = t̄ − x̄·w
    x, t = torch.tensor([[0.0], [1.0], [2.0]]), torch.tensor([0.0, 1.0, 2.0])
    head = ridge_head(x, t, l2=0.0)
    assert head.weight.item() == pytest.approx(1.0) and head.bias.item() == pytest.approx(0.0, abs=1e-6)
    head = ridge_head(x, t, l2=1 / 3)  # w = 2 / (2 + 3·1/3) = 2/3, b = 1 − 2/3 = 1/3
    assert head.weight.item() == pytest.approx(2 / 3) and head.bias.item() == pytest.approx(1 / 3)


def _synthetic(n=200, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, generator=g) / 10
    return x, w, 0.3 + x @ w


def test_linear_heads_recover_a_known_linear_target():
    x, w, t = _synthetic()
    model = MultiObjectiveRewardModel.fit(
        x, {"a": (range(200), t.tolist()), "b": (range(100), (1 - t[:100]).tolist())},
        TableEncoder({}), levels=5, config=HeadConfig(l2=1e-9),
    )  # fmt: skip
    assert model.heads["a"].weight[0].tolist() == pytest.approx(w.tolist(), abs=1e-4)
    assert model.heads["a"].bias.item() == pytest.approx(0.3, abs=1e-4)
    assert model.heads["b"].weight[0].tolist() == pytest.approx((-w).tolist(), abs=1e-4)


def test_hidden_layer_heads_fit_the_target_and_are_deterministic():
    x, _, t = _synthetic()
    config = HeadConfig(hidden=16, steps=100, learning_rate=0.03, l2=0.0)
    first = MultiObjectiveRewardModel.fit(x, {"a": (range(200), t.tolist())}, TableEncoder({}), 5, config)
    again = MultiObjectiveRewardModel.fit(x, {"a": (range(200), t.tolist())}, TableEncoder({}), 5, config)
    predicted = torch.tensor(first.score_embeddings(x)["a"])
    assert torch.mean((predicted - t) ** 2).item() < 0.01 * t.var().item()  # explains > 99 % of the variance
    assert first.score_embeddings(x) == again.score_embeddings(x)


RECORDS = [
    PreferenceRecord(
        prompt="p1", responses=["good", "bad"], ratings={"helpful": {0: 5, 1: 1}, "short": {0: 2}}
    ),
    PreferenceRecord(prompt="p2", responses=["fine", "meh"], ratings={"helpful": {0: 4, 1: 2}}),
]
TABLE = {"good": [1.0, 0.0], "bad": [-1.0, 0.0], "fine": [0.5, 1.0], "meh": [-0.5, 1.0]}


def test_rating_targets_normalize_ratings_to_the_unit_interval():
    texts, targets = rating_targets(RECORDS, levels=5)
    assert texts == [("p1", "good"), ("p1", "bad"), ("p2", "fine"), ("p2", "meh")]
    # (s − 1) / (N − 1) with N = 5: 5 → 1, 1 → 0, 4 → 0.75, 2 → 0.25
    assert targets == {"helpful": ([0, 1, 2, 3], [1.0, 0.0, 0.75, 0.25]), "short": ([0], [0.25])}
    with pytest.raises(ValueError, match="outside 1..3"):
        rating_targets(RECORDS, levels=3)


def test_fit_from_records_scores_on_the_rating_scale_and_round_trips(tmp_path):
    t = [1.0, 0.0, 0.75, 0.25]
    # "short" has a single rated response: too few for a head, so fitting refuses
    with pytest.raises(ValueError, match="at least two"):
        fit_from_records(RECORDS, TableEncoder(TABLE), levels=5)
    records = [r.model_copy(update={"ratings": {"helpful": r.ratings["helpful"]}}) for r in RECORDS]
    model = fit_from_records(records, TableEncoder(TABLE), levels=5, config=HeadConfig(l2=0.0))
    # helpful is exactly 0.5 + 0.5·e₀ on these four rows, so least squares recovers it
    assert model.score(["p"] * 4, ["good", "bad", "fine", "meh"])["helpful"] == pytest.approx(t, abs=1e-5)
    model.save(tmp_path / "rm")
    meta = json.loads((tmp_path / "rm" / "multi_objective.json").read_text())
    assert meta["criteria"] == ["helpful"] and meta["levels"] == 5 and meta["encoder"] == "table:test"
    loaded = MultiObjectiveRewardModel.load(tmp_path / "rm", TableEncoder(TABLE))
    assert loaded.score(["p"] * 4, list(TABLE)) == model.score(["p"] * 4, list(TABLE))


def test_hidden_heads_round_trip_and_a_foreign_encoder_is_refused(tmp_path):
    x, _, t = _synthetic(n=40, d=4)
    config = HeadConfig(hidden=8, steps=20)
    model = MultiObjectiveRewardModel.fit(x, {"a.b": (range(40), t.tolist())}, TableEncoder({}), 7, config)
    loaded = MultiObjectiveRewardModel.load(model.save(tmp_path), TableEncoder({}))
    assert loaded.score_embeddings(x) == model.score_embeddings(x) and loaded.config == config
    other = SimpleNamespace(name="minilm:something-else", encode=None)
    with pytest.raises(ValueError, match="fitted on 'table:test'"):
        MultiObjectiveRewardModel.load(tmp_path, other)
    with pytest.raises(ValueError, match="pass that encoder"):
        MultiObjectiveRewardModel.load(tmp_path)


def test_bradley_terry_newton_by_hand():
    # d = 1, 1, 1, −1 with hard labels, λ = 0: the optimum has 3(1 − σ(w)) = 1 − σ(−w) → σ(w) = 3/4, w = ln 3
    w = newton_bradley_terry(torch.tensor([[1.0], [1.0], [1.0], [-1.0]]), torch.ones(4), l2=0.0)
    assert w.item() == pytest.approx(math.log(3), abs=1e-6)
    # one pair with soft label 0.75: σ(w) = 0.75 again
    w = newton_bradley_terry(torch.tensor([[1.0]]), torch.tensor([0.75]), l2=0.0)
    assert w.item() == pytest.approx(math.log(3), abs=1e-6)


def _toy_pairs(n, offset=0):
    """Chosen responses have a positive first feature, rejected ones a negative one; 2nd feature is noise."""
    table, pairs = {}, []
    g = torch.Generator().manual_seed(offset)
    for i in range(offset, offset + n):
        noise = torch.randn(2, generator=g).tolist()
        table[f"w{i}"], table[f"l{i}"] = [0.2 + abs(noise[0]), noise[1]], [-0.2 - abs(noise[1]), noise[0]]
        pairs.append(PreferencePair(prompt=f"q{i}", chosen=f"w{i}", rejected=f"l{i}"))
    return pairs, table


def test_pairwise_judge_learns_a_separable_toy_and_round_trips(tmp_path):
    train, table = _toy_pairs(30)
    test, test_table = _toy_pairs(20, offset=100)
    encoder = TableEncoder(table | test_table)
    tie = PreferencePair(prompt="t", chosen="w0", rejected="l0", is_tie=True, soft_label=0.5)
    judge = PairwiseJudge.fit([*train, tie], encoder)
    assert judge.train_pairs == 30  # the tie is not trained on
    assert judge.held_out_accuracy(test)["judge_accuracy"] == 1.0
    flipped = [p.model_copy(update={"chosen": p.rejected, "rejected": p.chosen}) for p in test]
    assert judge.held_out_accuracy(flipped)["judge_accuracy"] == 0.0
    loaded = PairwiseJudge.load(judge.save(tmp_path), encoder)
    assert loaded.score(["q"] * 4, ["w100", "l100", "w101", "l101"]) == judge.score(
        ["q"] * 4, ["w100", "l100", "w101", "l101"]
    )


def test_disjoint_judge_split_shares_no_text_with_the_rest_or_the_excluded_pairs():
    pairs = [PreferencePair(prompt=f"q{i % 7}", chosen=f"a{i}", rejected=f"b{i % 5}") for i in range(12)]
    pairs += [PreferencePair(prompt=f"solo{i}", chosen=f"c{i}", rejected=f"d{i}") for i in range(20)]
    exclude = [
        PreferencePair(prompt="solo3", chosen="x", rejected="y"),
        PreferencePair(prompt="z", chosen="c5", rejected="y"),
    ]
    judge, rest = disjoint_judge_split(pairs, 0.3, seed=1, exclude=exclude)
    assert sorted(judge + rest) == list(range(len(pairs))) and judge
    texts = lambda ps: {t for p in ps for t in (p.prompt, p.chosen, p.rejected)}  # noqa: E731
    judge_texts = texts(pairs[i] for i in judge)
    assert not judge_texts & texts(pairs[i] for i in rest)
    assert not judge_texts & texts(exclude)
    assert 20 not in judge and 23 not in judge and 25 not in judge  # solo3 / c5: tied to the excluded pairs
    assert disjoint_judge_split(pairs, 0.3, seed=1, exclude=exclude) == (judge, rest)


# --- encoders -------------------------------------------------------------------------------------


def _pandalm_texts():
    rows = json.loads(PANDALM.read_text())
    a, b = rows[0], rows[30]
    assert a["instruction"] != b["instruction"]
    return a, b


@pytest.mark.skipif(not PANDALM.is_file(), reason="needs ../shared/data")
def test_minilm_embeds_real_texts_as_unit_vectors_and_similar_texts_lie_closer():
    a, b = _pandalm_texts()
    prompt_a = a["instruction"] + "\n\n" + a["input"]
    prompt_b = b["instruction"] + "\n\n" + b["input"]
    e = MiniLMEncoder().encode(
        [prompt_a, prompt_a, prompt_b, prompt_b],
        [a["response1"], a["response2"], b["response1"], b["response2"]],
    )
    assert e.shape == (4, 384) and e.dtype == torch.float32
    assert e.norm(dim=1).tolist() == pytest.approx([1.0] * 4, abs=1e-5)
    cos = e @ e.T
    # two answers to one task are closer to each other than to either answer of another task
    assert cos[0, 1] > cos[0, 2] and cos[0, 1] > cos[0, 3] and cos[2, 3] > cos[1, 2]
    alone = MiniLMEncoder(batch_size=1).encode([prompt_a], [a["response1"]])[0]
    assert torch.allclose(alone, e[0], atol=1e-5)  # padding in a batch does not change a row


def test_base_model_encoder_disables_the_adapter(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    plain = BaseModelEncoder(load_base_model(tiny_model_dir), tokenizer).encode(
        ["Hi", "Name a fruit."], ["Hello.", "Apple"]
    )
    assert plain.shape == (2, 64) and plain.norm(dim=1).tolist() == pytest.approx([1.0, 1.0], abs=1e-5)
    lora = SimpleNamespace(r=4, alpha=8.0, dropout=0.0, target_modules=["q_proj", "v_proj", "up_proj"])
    policy = apply_lora(load_base_model(tiny_model_dir), lora)
    with torch.no_grad():
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.fill_(0.5)  # a trained-looking adapter: it must not leak into the features
    encoder = BaseModelEncoder(policy, tokenizer)
    assert torch.allclose(encoder.encode(["Hi", "Name a fruit."], ["Hello.", "Apple"]), plain, atol=1e-6)
    assert encoder.name.startswith("base:")


def test_response_pooling_averages_only_the_response_tokens_and_survives_save_load(tmp_path):
    import torch

    from workers.reward_models import MiniLMEncoder, MultiObjectiveRewardModel
    from workers.reward_models.encoders import pooling_mask

    mask = torch.ones(2, 6, dtype=torch.long)
    assert pooling_mask(mask, [2, 4], [5, 6]).tolist() == [[0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 1, 1]]
    encoder = MiniLMEncoder(pool="response")
    long_prompt = "Tell me about the history of the city and its bridges. " * 12
    a, b = encoder.encode([long_prompt] * 2, ["The bridge opened in 1883.", "I like turtles a lot."])
    a_all, b_all = MiniLMEncoder().encode(
        [long_prompt] * 2, ["The bridge opened in 1883.", "I like turtles a lot."]
    )
    # With a long prompt, all-token pooling makes two different replies look alike; response pooling does not.
    assert torch.dot(a, b) < torch.dot(a_all, b_all)
    model = MultiObjectiveRewardModel.fit(
        torch.stack([a, b]), {"help": ([0, 1], [1.0, 0.0])}, encoder, levels=2
    )
    loaded = MultiObjectiveRewardModel.load(model.save(tmp_path / "rm"))
    assert loaded.encoder.pool == "response"
    assert loaded.score(["q"], ["x"])["help"] == pytest.approx(model.score(["q"], ["x"])["help"])
