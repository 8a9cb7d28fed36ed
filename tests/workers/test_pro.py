"""PRO — Preference Orchestrator: normalization, targets, the adapter, pairs, saving, override, report."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import torch

from recipes.io import parse_recipe
from recipes.preference_data import PreferencePair, PreferenceRecord
from tests.workers.method_cases import CASES, tiny_recipe
from workers.errors import UserFacingError
from workers.losses import preference_adapter_kl
from workers.methods import pro as pro_runner
from workers.preference_adapter import (
    AdapterTraining,
    Normalizer,
    PreferenceAdapter,
    PreferenceMLP,
    ScoredRecord,
    adapter_targets,
    load_preference_adapter,
    scored_records,
    train_adapter,
    weighted_pairs,
)
from workers.pro_report import choice_table, pair_accuracy, shorten, weight_summary

UNIT = torch.tensor([[0.0, 1.0], [0.5, 1.0], [1.0, 1.0]])


def test_zscore_and_minmax_normalize_each_objective_over_the_responses():
    z = Normalizer.fit("zscore", UNIT)
    assert z.center == pytest.approx([0.5, 1.0]) and z.scale == pytest.approx([math.sqrt(1 / 6), 1.0])
    assert torch.allclose(z(UNIT)[:, 0], torch.tensor([-1.0, 0.0, 1.0]) * math.sqrt(1.5))
    assert torch.equal(z(UNIT)[:, 1], torch.zeros(3))  # a constant objective carries no signal: scale 1
    m = Normalizer.fit("minmax", UNIT)
    assert torch.allclose(m(UNIT)[:, 0], torch.tensor([0.0, 0.5, 1.0])) and torch.equal(
        m(UNIT)[:, 1], torch.zeros(3)
    )


def test_scores_ratings_and_the_preferred_response():
    scored_rec = PreferenceRecord(
        prompt="q", responses=["a", "b", "c"],
        objective_scores={"help": {0: 0.2, 1: 0.9, 2: 0.5}, "safe": {0: 1.0, 1: 0.6}},
    )  # fmt: skip
    [s] = scored_records([scored_rec], ["help", "safe"], levels=2)
    assert s.indices == [0, 1] and s.preferred == 1  # c has no safety score; b's mean 0.75 > a's 0.6
    rated = PreferenceRecord(
        prompt="q", responses=["a", "b"], ratings={"help": {0: 1, 1: 5}, "safe": {0: 3, 1: 2}}
    )
    [r] = scored_records([rated], ["help", "safe"], levels=5)
    assert torch.allclose(r.unit, torch.tensor([[0.0, 0.5], [1.0, 0.25]]))  # (s − 1)/(N − 1)
    assert scored_records([rated], ["help", "tone"], levels=5) == []


def test_targets_are_a_softmax_of_the_preferred_scores_and_tau_sharpens_them():
    preferred = torch.tensor([[1.0, 0.0, -1.0]])
    assert torch.allclose(adapter_targets(preferred, 1.0), torch.softmax(preferred, dim=-1))
    sharp, flat = adapter_targets(preferred, 0.25), adapter_targets(preferred, 4.0)
    assert sharp[0, 0] > adapter_targets(preferred, 1.0)[0, 0] > flat[0, 0] > 1 / 3


def test_adapter_kl_matches_torch_and_is_zero_at_the_target():
    target, logits = (
        torch.tensor([[0.7, 0.2, 0.1], [1.0, 0.0, 0.0]]),
        torch.tensor([[0.3, -1.0, 2.0], [1.0, 0.5, 0.0]]),
    )
    expected = torch.nn.functional.kl_div(logits.log_softmax(-1), target, reduction="none").sum(-1)
    assert torch.allclose(preference_adapter_kl(target, logits), expected, atol=1e-6)
    assert torch.allclose(preference_adapter_kl(target[:1], target[:1].log()), torch.zeros(1), atol=1e-6)


def _two_kinds_of_prompt(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings whose first coordinate says which objective the prompt's best response excels at."""
    g = torch.Generator().manual_seed(seed)
    kind = torch.arange(n) % 2
    embeddings = torch.randn(n, 8, generator=g) * 0.3
    embeddings[:, 0] = kind * 2.0 - 1.0
    preferred = torch.stack(
        [torch.tensor([2.0, 0.0, -1.0]) if k == 0 else torch.tensor([-1.0, 0.0, 2.0]) for k in kind]
    )
    return embeddings, adapter_targets(preferred, 1.0)


def test_adapter_learns_weights_that_depend_on_the_prompt():
    embeddings, targets = _two_kinds_of_prompt(40, seed=0)
    fit = train_adapter(embeddings, targets, AdapterTraining(hidden=32, epochs=60, learning_rate=1e-2))
    assert fit.epochs > 0 and fit.validation_prompts == 8
    unseen, unseen_targets = _two_kinds_of_prompt(20, seed=1)
    with torch.no_grad():
        weights = torch.softmax(fit.mlp(unseen), dim=-1)
    assert torch.equal(weights.argmax(dim=1), unseen_targets.argmax(dim=1))  # objective 0 or 2 by kind
    average = targets.mean(dim=0, keepdim=True).log().expand_as(unseen_targets)
    assert (
        preference_adapter_kl(unseen_targets, weights.log()).mean()
        < 0.2 * preference_adapter_kl(unseen_targets, average).mean()
    )


def test_without_prompt_signal_the_adapter_keeps_the_average_weights():
    embeddings = torch.randn(30, 8, generator=torch.Generator().manual_seed(0))
    targets = torch.tensor([0.5, 0.3, 0.2]).expand(30, -1)
    fit = train_adapter(embeddings, targets, AdapterTraining(hidden=16, epochs=5))
    with torch.no_grad():
        assert torch.allclose(torch.softmax(fit.mlp(embeddings), -1), targets, atol=1e-3)


def test_pairs_are_rederived_from_the_weighted_scores():
    record = PreferenceRecord(prompt="q", responses=["witty", "grounded", "poor"])
    scored = ScoredRecord(record, [0, 1, 2], torch.zeros(3, 2))
    normalized = torch.tensor([[1.0, -0.5], [-0.5, 1.0], [-1.0, -1.0]])
    fun = weighted_pairs(scored, normalized, torch.tensor([0.9, 0.1]), min_gap=0.1)
    facts = weighted_pairs(scored, normalized, torch.tensor([0.1, 0.9]), min_gap=0.1)
    assert ("witty", "grounded") in [(p.chosen, p.rejected) for p in fun]
    assert ("grounded", "witty") in [(p.chosen, p.rejected) for p in facts]
    assert all(p.strength >= 0.1 and p.prompt == "q" for p in fun + facts)
    assert weighted_pairs(scored, normalized, torch.tensor([0.5, 0.5]), min_gap=0.5) == [
        PreferencePair(prompt="q", chosen="witty", rejected="poor", strength=1.25),
        PreferencePair(prompt="q", chosen="grounded", rejected="poor", strength=1.25),
    ]


def _adapter(mlp=None, override=None, kind="minilm", name="minilm:sentence-transformers/all-MiniLM-L6-v2"):
    return PreferenceAdapter(
        ["help", "safe", "brief"], Normalizer("zscore", [0.5, 0.4, 0.3], [0.2, 0.1, 0.3]), 0.5,
        {"kind": kind, "name": name}, mlp=mlp, override=override, extra={"rating_levels": 2},
    )  # fmt: skip


def test_save_and_load_give_the_same_weights(tmp_path):
    torch.manual_seed(0)
    mlp = PreferenceMLP(8, 16, 3)
    torch.nn.init.normal_(mlp.net[-1].weight)  # zero at init: make the output depend on the prompt
    adapter = _adapter(mlp)
    folder = adapter.save(tmp_path / "pa")
    loaded = load_preference_adapter(folder)
    embeddings = torch.randn(5, 8)
    assert torch.allclose(
        loaded.weights_from_embeddings(embeddings), adapter.weights_from_embeddings(embeddings)
    )
    assert (loaded.objectives, loaded.normalizer, loaded.temperature) == (
        adapter.objectives,
        adapter.normalizer,
        0.5,
    )
    assert loaded.extra == {"rating_levels": 2} and loaded.encoder["kind"] == "minilm"
    meta = json.loads((folder / "preference_adapter.json").read_text())
    meta["schema_version"] = 99
    (folder / "preference_adapter.json").write_text(json.dumps(meta))
    with pytest.raises(UserFacingError, match="v99, not studio-preference-adapter v1"):
        load_preference_adapter(folder)


def test_override_gives_every_prompt_the_same_normalized_weights(tmp_path):
    adapter = _adapter(override={"help": 3.0, "safe": 1.0})
    assert torch.allclose(adapter.infer_weights(["a", "b"]), torch.tensor([[0.75, 0.25, 0.0]] * 2))
    run = tmp_path / "run"
    adapter.save(run / pro_runner.PREFERENCE_ADAPTER_DIR)
    assert pro_runner.weights_for_prompt(run, "x") == {"help": 0.75, "safe": 0.25, "brief": 0.0}
    assert pro_runner.weights_for_prompt(run, "x", override={"brief": 2}) == {
        "help": 0.0,
        "safe": 0.0,
        "brief": 1.0,
    }
    with pytest.raises(UserFacingError, match="names \\['tone'\\]"):
        pro_runner.weights_for_prompt(run, "x", override={"tone": 1.0})


def test_weights_for_prompt_encodes_with_minilm(tmp_path):
    from workers.preference_adapter import encode_prompts
    from workers.reward_models import MiniLMEncoder

    torch.manual_seed(0)
    mlp = PreferenceMLP(384, 16, 3)
    torch.nn.init.normal_(mlp.net[-1].weight)
    adapter = _adapter(mlp)
    adapter.save(tmp_path / pro_runner.PREFERENCE_ADAPTER_DIR)
    prompts = ["Tell me a joke about cats.", "Summarize the causes of the French revolution."]
    got = [pro_runner.weights_for_prompt(tmp_path, p) for p in prompts]
    expected = adapter.weights_from_embeddings(encode_prompts(MiniLMEncoder(), prompts))
    assert torch.allclose(torch.tensor([list(g.values()) for g in got]), expected, atol=1e-5)
    assert got[0] != got[1]
    with pytest.raises(UserFacingError, match="pass that encoder"):
        _adapter(mlp, kind="base_model", name="base:m").infer_weights(["x"])


def _inputs(pairs, ref, kept):
    tokenizer = SimpleNamespace(pad_token_id=0)
    return SimpleNamespace(
        sources=pairs, ref_logps=ref, train=SimpleNamespace(kept=kept), model=None, tokenizer=tokenizer,
        precision="fp32", kept_sources=lambda: [pairs[i] for i in kept],
    )  # fmt: skip


def test_reference_logps_are_reused_per_response_and_only_new_ones_scored(monkeypatch):
    sources = [
        PreferencePair(prompt="q", chosen="a", rejected="b"),
        PreferencePair(prompt="q", chosen="c", rejected="d"),
    ]
    inputs = _inputs(sources, torch.tensor([[-1.0, -2.0], [-3.0, -4.0]]), kept=[0, 1])
    calls = []

    def fake_score(model, pairs, **kwargs):
        calls.append((len(pairs), kwargs["adapter_disabled"]))
        return torch.full((len(pairs), 2), -9.0), None

    monkeypatch.setattr(pro_runner, "score_pairs", fake_score)
    new = [
        PreferencePair(prompt="q", chosen="d", rejected="a"),
        PreferencePair(prompt="q", chosen="a", rejected="e"),
    ]
    ref = pro_runner._reference_logps(inputs, new, ["tok-da", "tok-ae"])
    assert torch.equal(ref, torch.tensor([[-4.0, -1.0], [-9.0, -9.0]])) and calls == [(1, True)]


def test_pairs_the_pipeline_filtered_stay_out():
    sources = [
        PreferencePair(prompt="q", chosen="a", rejected="b"),
        PreferencePair(prompt="q", chosen="c", rejected="d"),
    ]
    inputs = _inputs(sources, torch.zeros(1, 2), kept=[0])
    new = [
        PreferencePair(prompt="q", chosen="d", rejected="c"),
        PreferencePair(prompt="q", chosen="b", rejected="a"),
    ]
    assert pro_runner._without_filtered(new, inputs) == new[1:]


def test_report_helpers():
    weights = torch.tensor([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [1 / 3, 1 / 3, 1 / 3]])
    summary = weight_summary(weights, ["a", "b", "c"])
    assert summary["entropy_max"] == pytest.approx(math.log(3)) and summary[
        "entropy_uniform"
    ] == pytest.approx(math.log(3))
    assert (
        summary["top_objective_counts"] == {"a": 2, "b": 0, "c": 1}
        and summary["top_objectives_distinct"] == 2
    )
    assert summary["top_differs_from_most_common"] == pytest.approx(1 / 3)
    assert shorten(["Same instruction. Fact: cats", "Same instruction. Fact: dogs bark"], 6) == [
        "…cats",
        "…dogs b",
    ]
    assert pair_accuracy([torch.tensor([1.0, 0.5, 0.0])], [torch.tensor([0.0, 1.0, -1.0])], 0.4) == (2 / 3, 3)
    units = [torch.tensor([[1.0, 0.0], [0.5, 0.5]])]
    table = choice_table(units, {"first": [0], "second": [1]}, ["x", "y"])
    assert table["rows"][0] == ["first", 1.0, 0.0, 0.5, 0.0] and table["rows"][1] == [
        "second",
        0.5,
        0.5,
        0.5,
        0.5,
    ]
    assert table["rows"][2] == ["average response", 0.75, 0.25, 0.5, 0.25]


def test_a_run_saves_the_adapter_logs_weights_and_reports_them(tmp_path, tiny_model_dir):
    from workers.pipelines.train import run_recipe
    from workers.progress import ListProgress

    recipe = parse_recipe(json.dumps(tiny_recipe(CASES["pro"], tiny_model_dir, tmp_path)))
    result = run_recipe(recipe, tmp_path / "run", ListProgress())
    report = json.loads(result.artifacts["report_json"].read_text())["method_report"]
    assert report["weights_source"] == "preference adapter" and report["training_pairs"] > 0
    assert {row["pick"] for row in report["e9_objective_scores_of_the_picked_response"]} >= {
        "adapter (top implicit reward)"
    }
    assert 0 <= result.metrics["pro_weight_entropy_mean"] <= math.log(2) + 1e-6
    logged = [json.loads(line) for line in result.artifacts["pro_weights"].read_text().splitlines()]
    assert {row["split"] for row in logged} == {"train", "heldout"}
    again = pro_runner.weights_for_prompt(tmp_path / "run", logged[0]["prompt"])
    assert again == pytest.approx(logged[0]["weights"], abs=1e-5)
    assert (tmp_path / "run" / "adapter" / "preference_adapter" / "preference_adapter.safetensors").is_file()
