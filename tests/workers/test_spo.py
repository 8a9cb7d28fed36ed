"""SPO (methods.md §2): sentence units, degraded variants, packing, the head saved apart, the report,
and validation messages. The shared contract (two steps, cancel, hand loss) is in test_method_contract."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from recipes.errors import RecipeError
from recipes.io import parse_recipe
from tests.workers.method_cases import CASES, llmbar_pairs
from tests.workers.test_method_contract import _recipe
from workers.errors import UserFacingError
from workers.logprobs import packed_logps
from workers.methods.spo import HEAD_DIR, load_head
from workers.modeling import load_tokenizer
from workers.packing import pack_pairs
from workers.pipelines.train import run_recipe
from workers.progress import ListProgress
from workers.spo_data import SPOExample, last_hidden, mean_pooled, pack_with_variants
from workers.spo_report import LengthBaseline, degree_report
from workers.spo_units import (
    degraded_texts,
    deletion_order,
    effective_units,
    random_importance,
    sentence_units,
    unit_token_spans,
)
from workers.spo_variants import VariantBuilder, VariantStats
from workers.tokenization import PairTokenizer, TokenizedPair

# --- sentence units (pure text) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("Hello world. How are you? Fine!", ["Hello world.", "How are you?", "Fine!"]),
        ("e.g. this is fine. Next one.", ["e.g. this is fine.", "Next one."]),
        ("Price is 3.5 dollars. Ok then.", ["Price is 3.5 dollars.", "Ok then."]),
        ('He said "hi." Then he left.', ['He said "hi."', "Then he left."]),
        (
            "1. Eat well.\n2. Sleep. Drink water.\n\n3. Walk",
            ["1. Eat well.", "2. Sleep.", "Drink water.", "3. Walk"],
        ),
        ("In the year 2020. Then more.", ["In the year 2020.", "Then more."]),
        ("Dr. Smith came.\n-\nOk, bye.", ["Dr. Smith came.", "-\nOk, bye."]),  # a bare marker joins the next
        ("That is all. :)", ["That is all. :)"]),  # ... or, at the very end, the one before
        ("  one sentence without an end  ", ["one sentence without an end"]),
        ("", []),
    ],
)
def test_sentence_units(text, units):
    assert [text[u.start : u.end] for u in sentence_units(text)] == units


@pytest.mark.parametrize(
    ("max_units", "n_units", "deletable", "k_eff"),
    [(3, 1, 1, 0), (3, 2, 2, 1), (3, 3, 3, 2), (3, 4, 4, 3), (3, 9, 9, 3), (3, 9, 2, 2), (1, 5, 5, 1)],
)
def test_effective_units_never_delete_everything(max_units, n_units, deletable, k_eff):
    assert effective_units(max_units, n_units, deletable) == k_eff


def test_variants_delete_the_most_important_units_first_and_nest():
    text = "Alpha one. Beta two is long. Gamma three.\nDelta four."
    units = sentence_units(text)
    order = deletion_order([1.0, 5.0, 3.0, 5.0])  # a fixed fake importance; ties keep text order
    assert order == [1, 3, 2, 0]
    assert degraded_texts(text, units, order, effective_units(3, len(units), len(units))) == [
        "Alpha one. Gamma three.\nDelta four.",
        "Alpha one. Gamma three.",
        "Alpha one.",
    ]


def test_random_selector_is_seeded_per_run_and_text():
    units = sentence_units("A b c. D e f. G h i. J k l.")
    first = random_importance(0)("A b c. D e f. G h i. J k l.", units)
    assert first == random_importance(0)("A b c. D e f. G h i. J k l.", units)
    assert first != random_importance(1)("A b c. D e f. G h i. J k l.", units)


# --- variants as tokens, on the tiny tokenizer ----------------------------------------------------

TEXT = "The sea is dark. The moon draws a silver road across the water. It is late."


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return load_tokenizer(tiny_model_dir)


def _builder(tokenizer, selector: str, max_length: int = 200, units: int = 3) -> VariantBuilder:
    pairs = PairTokenizer(tokenizer, max_length=max_length, max_prompt_length=8, use_chat_template=False)
    return VariantBuilder(tokenizer, pairs, units=units, selector=selector, seed=0)


def test_unit_token_spans_tile_the_response(tokenizer):
    ids = tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    spans = unit_token_spans(lambda s: tokenizer(s, add_special_tokens=False)["input_ids"], TEXT,
                             sentence_units(TEXT))  # fmt: skip
    assert spans[0][0] == 0 and spans[-1][1] == len(ids)
    assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))


def test_base_contribution_deletes_the_most_surprising_sentence_first(tokenizer):
    builder = _builder(tokenizer, "base_contribution")
    kept = builder.pair_tokenizer.response_ids(TEXT)
    spans = unit_token_spans(builder._tokenize, TEXT, sentence_units(TEXT))
    logps = [-1.0] * len(kept)
    for t in range(*spans[2]):  # the short last sentence is made the most surprising
        logps[t] = -50.0
    variants = builder.variants(TEXT, kept, room=200, token_logps=logps, stats=VariantStats())
    response = builder.pair_tokenizer.response_ids
    assert variants == [
        (response("The sea is dark. The moon draws a silver road across the water."), 1),
        (response("The sea is dark."), 2),  # then the long middle one: more tokens, more surprisal
    ]


def test_longest_selector_and_truncation_limit_what_can_be_deleted(tokenizer):
    builder = _builder(tokenizer, "longest")
    response = builder.pair_tokenizer.response_ids
    stats = VariantStats()
    full = builder.variants(TEXT, response(TEXT), room=200, token_logps=None, stats=stats)
    assert [k for _, k in full] == [1, 2] and full[0][0] == response("The sea is dark. It is late.")
    # Only the first sentence survives truncation to 3 tokens: it is the only unit that may go.
    cut = builder.variants(TEXT, response(TEXT)[:3], room=3, token_logps=None, stats=stats)
    assert [k for _, k in cut] == [1] and cut[0][0] == response(
        "The moon draws a silver road across the water."
    )[:3]
    one = builder.variants("Just one sentence here.", response("Just one sentence here."), 200, None, stats)
    assert one == []
    assert (stats.responses, stats.with_variants, stats.variants) == (3, 2, 3)


# --- packing: the pair part is unchanged, each variant is seen as if alone -------------------------


def test_packed_variants_keep_dpo_logps_and_pool_each_response_alone(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    pair = TokenizedPair([1, 5, 6, 7], [9, 10, 11, 12], [13, 14])
    example = SPOExample(pair, (([20, 21, 22], 1), ([23], 2)))
    batch = pack_with_variants([example, SPOExample(TokenizedPair([1, 4], [30], [31, 32]))], pad_id=0)
    with torch.no_grad():
        packed, _ = packed_logps(model, batch)
        plain, _ = packed_logps(model, pack_pairs([pair, TokenizedPair([1, 4], [30], [31, 32])], pad_id=0))
        pooled = mean_pooled(last_hidden(model, batch), batch)
        alone = model.get_decoder()(input_ids=torch.tensor([[1, 5, 6, 7, 20, 21, 22]])).last_hidden_state
    assert torch.allclose(packed, plain, atol=1e-5)
    assert batch["degrees"].tolist() == [0, 1, 2, 0]  # chosen, two variants; the second pair: chosen only
    assert torch.allclose(pooled[1], alone[0, 4:].mean(dim=0), atol=1e-5)


# --- the length baseline and the report ------------------------------------------------------------


def test_length_baseline_separates_lengths_and_report_counts_hits():
    baseline = LengthBaseline.fit([100, 110, 60, 66, 30, 33], [0, 0, 1, 1, 2, 2])
    assert [baseline.predict(n) for n in (105, 63, 31)] == [0, 1, 2]
    metrics, rows = degree_report([0, 1, 2, 2], [0, 1, 1, 2], [105, 100, 31, 100], baseline, 3, 0.95)
    assert metrics["spo_head_accuracy"] == 0.75 and metrics["spo_length_baseline_accuracy"] == 0.5
    assert metrics["spo_chance_accuracy"] == pytest.approx(1 / 3)
    assert metrics["spo_head_accuracy_ci_low"] < 0.75 < metrics["spo_head_accuracy_ci_high"]
    assert rows[2] == {"degree": 2, "responses": 2, "head_recall": 0.5, "length_baseline_recall": 0.5,
                       "mean_tokens": 65.5}  # fmt: skip


# --- a real run on the tiny model: head saved apart, report keys ---------------------------------


@pytest.fixture(scope="module")
def spo_run(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("spo-run")
    result = run_recipe(_recipe(CASES["spo"], tiny_model_dir, folder), folder / "run", ListProgress())
    return result, folder / "run"


def test_head_is_saved_apart_and_never_in_the_adapter(spo_run):
    result, run_dir = spo_run
    assert result.artifacts["spo_head"] == run_dir / HEAD_DIR
    head, config = load_head(run_dir / HEAD_DIR)
    assert (config["schema_version"], config["units"], config["classes"]) == (1, 2, 3)
    assert head.linear.weight.shape == (3, config["hidden_size"])
    adapter = result.artifacts["adapter"]
    assert not any("spo" in p.name or "head" in p.name for p in adapter.rglob("*"))
    assert all("lora_" in key for key in load_file(adapter / "adapter_model.safetensors"))


def test_report_puts_the_head_next_to_the_length_baseline(spo_run):
    result, run_dir = spo_run
    m = result.metrics
    for key in ("spo_head_accuracy", "spo_length_baseline_accuracy", "spo_majority_accuracy"):
        assert 0.0 <= m[key] <= 1.0
    assert m["spo_chance_accuracy"] == pytest.approx(1 / 3)
    assert m["spo_train_responses_with_variants"] > 0 and m["spo_heldout_classified"] > 0
    section = json.loads((run_dir / "report.json").read_text())["method_report"]
    assert section["per_degree"][0]["degree"] == 0
    assert "length-only baseline" in (run_dir / "report.md").read_text()


def test_data_without_multi_sentence_responses_is_a_user_error(tmp_path, tiny_model_dir):
    path = tmp_path / "short.jsonl"
    rows = [{"prompt": f"Question {i}?", "chosen": f"Yes, {i}", "rejected": f"No, {i}"} for i in range(8)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = {"kind": "file", "path": str(path), "preset": "prompt_chosen_rejected"}
    recipe = _recipe(replace(CASES["spo"], write_data=lambda _: data), tiny_model_dir, tmp_path)
    with pytest.raises(UserFacingError, match="no response with two or more sentences"):
        run_recipe(recipe, tmp_path / "run", ListProgress())


# --- validation: each bad value names its field and the fix ---------------------------------------

RECIPE = "name: x\ndata: {kind: hub, dataset: d, preset: pandalm}\nmethod: {method: spo, %s}\n"


@pytest.mark.parametrize(
    ("options", "path", "message"),
    [
        ("ssl_weight: 0", "method.ssl_weight", "must be greater than 0.0 (got 0) — λ, the weight"),
        ("ssl_weight: 20", "method.ssl_weight", "must be at most 10.0 (got 20) — λ"),
        ("units: 0", "method.units", "must be at least 1 (got 0) — the number K of key sentences"),
        ("units: 9", "method.units", "must be at most 8 (got 9) — the number K"),
        ("beta: -0.1", "method.beta", "must be greater than 0.0 (got -0.1) — β is the KL strength"),
        ("head_learning_rate: 0", "method.head_learning_rate", "try 1e-4"),
        ("selector: best", "method.selector", "choose one of: base_contribution, longest, random"),
        ("loss: hinge, label_smoothing: 0.1", "method", "set label_smoothing to 0 or change the loss"),
        ("unitz: 3", "method.unitz", "did you mean 'units'?"),
    ],
)
def test_bad_hyperparameters_name_the_field_and_the_fix(options, path, message):
    with pytest.raises(RecipeError) as info:
        parse_recipe(RECIPE % options)
    assert any(p.path == path and message in p.message for p in info.value.problems), info.value.problems


def test_responses_cut_too_short_are_refused_with_the_fix():
    text = RECIPE % "units: 3" + "training: {max_length: 64, max_prompt_length: 48}\n"
    with pytest.raises(RecipeError, match="raise max_length or lower max_prompt_length"):
        parse_recipe(text)
    assert parse_recipe(RECIPE % "units: 3").method.selector == "base_contribution"


def test_spo_case_uses_real_multi_sentence_pairs(tmp_path):
    lines = Path(llmbar_pairs(tmp_path)["path"]).read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert sum(len(sentence_units(r["chosen"])) > 1 for r in rows) >= len(rows) // 2
