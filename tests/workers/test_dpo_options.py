"""DPO recipe options (methods.md §5, §6.2, §7 E4): rationale rows, dataset extras, the runner, real runs."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from recipes.io import parse_recipe
from recipes.methods.dpo import DPOSpec
from recipes.preference_data import PreferencePair
from workers.errors import UserFacingError
from workers.losses import dpo_hinge, dpo_ipo, dpo_robust, dpo_sigmoid
from workers.methods.dpo import DPORunner
from workers.pipelines.train import run_recipe
from workers.progress import ListProgress
from workers.rationale import (
    RATIONALE_QUESTION,
    build_example,
    chosen_slot,
    rationale_extras,
    rationale_inputs,
    require_rationales,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
PANDALM = SHARED / "pandalm-testset" / "testset-v1.json"
GPT_REASONS = SHARED / "pandalm-testset" / "gpt-3.5-turbo-testset-v1.json"
LLMBAR = SHARED / "llmbar" / "LLMBar_Natural.json"


def _pair(i: int, rationale: str | None = "It answers the question.") -> PreferencePair:
    return PreferencePair(
        prompt=f"Question {i}?", chosen=f"good {i}", rejected=f"bad {i}", rationale=rationale
    )


# --- rationale context and target (pure, on strings) ---------------------------------------------


def test_slot_is_a_seeded_coin_per_pair():
    pairs = [_pair(i) for i in range(200)]
    slots = [chosen_slot(p, seed=0) for p in pairs]
    assert slots == [chosen_slot(p, seed=0) for p in pairs]  # reruns agree
    assert 70 < slots.count("A") < 130  # both slots are used, about equally
    assert slots != [chosen_slot(p, seed=1) for p in pairs]


@pytest.mark.parametrize("slot", ["A", "B"])
def test_randomized_example_puts_chosen_in_its_slot_and_names_it(slot):
    pair = next(p for p in (_pair(i) for i in range(50)) if chosen_slot(p, 0) == slot)
    example = build_example(pair, seed=0, randomize_slot=True)
    other = "B" if slot == "A" else "A"
    assert f"Response {slot}:\n{pair.chosen}" in example.context
    assert f"Response {other}:\n{pair.rejected}" in example.context
    assert example.context.startswith(pair.prompt) and example.context.endswith(RATIONALE_QUESTION)
    assert example.target == f"Response {slot} is better. It answers the question."


def test_fixed_slot_is_the_papers_layout():
    example = build_example(_pair(3, " Shorter. "), seed=0, randomize_slot=False)
    assert "Response A:\ngood 3\n\nResponse B:\nbad 3" in example.context
    assert example.target == "Shorter."


def test_no_or_blank_rationale_gives_no_example():
    assert build_example(_pair(1, None), 0, True) is None
    assert build_example(_pair(1, "   "), 0, True) is None


def test_data_without_any_rationale_is_a_one_line_user_error():
    with pytest.raises(UserFacingError) as info:
        require_rationales([_pair(1, None), _pair(2, " ")])
    assert "fields.rationale" in str(info.value) and "\n" not in str(info.value)
    require_rationales([_pair(1, None), _pair(2)])  # one is enough


# --- rationale rows on the tiny model ------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from workers.modeling import load_base_model, load_tokenizer

    torch.manual_seed(0)
    return load_tokenizer(tiny_model_dir), load_base_model(tiny_model_dir, "float32").eval()


def _extras(tokenizer, pairs, max_length=96):
    return rationale_extras(
        pairs, tokenizer, max_length=max_length, use_chat_template=True, seed=0, randomize_slot=True
    )


def test_rationale_rows_hold_the_chat_context_then_the_target(tiny):
    tokenizer, _ = tiny
    pairs = [_pair(1), _pair(2, None), _pair(3, "The cat is sleeping.")]
    extras = _extras(tokenizer, pairs)
    assert extras["rationale_lengths"][1] == 0 and extras["rationale_context_lengths"][1] == 0
    context_len, length = int(extras["rationale_context_lengths"][2]), int(extras["rationale_lengths"][2])
    text = tokenizer.decode(extras["rationale_ids"][2, : context_len + length])
    example = build_example(pairs[2], 0, True)
    assert text.startswith("<|im_start|>user\n") and "<|im_start|>assistant\n" in text
    assert tokenizer.decode(extras["rationale_ids"][2, context_len : context_len + length]).startswith(
        example.target[:10]
    )


def test_rationale_logps_match_a_direct_forward(tiny):
    from workers.logprobs import response_logps

    tokenizer, model = tiny
    extras = _extras(tokenizer, [_pair(1), _pair(2, None), _pair(3, "The capital of France is Paris.")])
    rows, ids, attention, response = rationale_inputs(extras)
    assert rows.tolist() == [0, 2]
    with torch.no_grad():
        sums, counts = response_logps(model, ids, attention, response)
        for k, row in enumerate(rows.tolist()):
            start = int(extras["rationale_context_lengths"][row])
            end = start + int(extras["rationale_lengths"][row])
            logits = model(input_ids=extras["rationale_ids"][row : row + 1, :end]).logits[0].log_softmax(-1)
            targets = extras["rationale_ids"][row, start:end]
            direct = logits[start - 1 : end - 1].gather(-1, targets[:, None]).sum()
            assert sums[k].item() == pytest.approx(direct.item(), abs=1e-4)
            assert counts[k] == end - start


# --- dataset extras and the runner on a fixed batch ----------------------------------------------


def test_strength_extras_fall_back_to_one_and_fix_the_dataset_mean():
    runner = DPORunner(DPOSpec(method="dpo", pair_weighting="strength"))
    pairs = [
        _pair(1).model_copy(update={"strength": 0.5}),
        _pair(2),
        _pair(3).model_copy(update={"strength": 2.5}),
    ]
    extras = runner.dataset_extras(pairs, tokenizer=None, recipe=None)
    assert extras["strength"].tolist() == [0.5, 1.0, 2.5] and runner.mean_strength == pytest.approx(4 / 3)
    soft = DPORunner(DPOSpec(method="dpo", pair_weighting="soft_label"))
    labels = soft.dataset_extras([_pair(1).model_copy(update={"soft_label": 2 / 3}), _pair(2)], None, None)
    assert labels["soft_label"].tolist() == pytest.approx([2 / 3, 1.0])
    assert DPORunner(DPOSpec(method="dpo")).dataset_extras(pairs, None, None) == {}


def _batch(tiny, pairs):
    from workers.packing import pack_pairs
    from workers.tokenization import PairTokenizer

    tokenizer, _ = tiny
    tokenized = [PairTokenizer(tokenizer, max_length=64, max_prompt_length=32)(p) for p in pairs]
    batch = pack_pairs(tokenized, tokenizer.pad_token_id)
    batch["ref_logps"] = torch.tensor([[-30.0, -28.0], [-25.0, -31.0], [-40.0, -39.5]])[: len(pairs)]
    return batch


@pytest.mark.parametrize(
    ("options", "old_loss"),
    [
        ({}, lambda d, c, r: dpo_sigmoid(d, 0.1)),
        ({"label_smoothing": 0.1}, lambda d, c, r: dpo_sigmoid(d, 0.1, 0.1)),
        ({"loss": "robust", "label_smoothing": 0.2}, lambda d, c, r: dpo_robust(d, 0.1, 0.2)),
        ({"loss": "hinge"}, lambda d, c, r: dpo_hinge(d, 0.1)),
        ({"loss": "ipo"}, lambda d, c, r: dpo_ipo(c - r, 0.1)),
    ],
)
def test_defaults_give_bit_identical_losses_on_a_fixed_batch(tiny, options, old_loss):
    from workers.logprobs import packed_logps

    _, model = tiny
    batch = _batch(tiny, [_pair(1), _pair(2), _pair(3)])
    with torch.no_grad():
        loss, _ = DPORunner(DPOSpec(method="dpo", **options)).loss(model, batch)
        logps, counts = packed_logps(model, batch)  # the runner's code before the options, inline
    c_ratio, r_ratio = logps[:3] - batch["ref_logps"][:, 0], logps[3:] - batch["ref_logps"][:, 1]
    per_token = (c_ratio / counts[:3].clamp(min=1), r_ratio / counts[3:].clamp(min=1))
    old = old_loss(c_ratio - r_ratio, *per_token).mean()
    assert torch.equal(loss, old)


def test_pairs_without_a_rationale_add_no_rationale_term(tiny):
    tokenizer, model = tiny
    pairs = [_pair(1, None), _pair(2, None)]
    batch = _batch(tiny, pairs) | _extras(tokenizer, [*pairs, _pair(3)])  # row 3 only makes the extras valid
    batch = {k: (v[:2] if k.startswith("rationale") else v) for k, v in batch.items()}
    with torch.no_grad():
        plain, _ = DPORunner(DPOSpec(method="dpo")).loss(model, batch)
        masked, metrics = DPORunner(DPOSpec(method="dpo", rationale={})).loss(model, batch)
    assert torch.equal(plain, masked) and "rationale/loss" not in metrics


def test_rationale_term_is_added_per_pair_and_averaged_over_the_batch(tiny):
    tokenizer, model = tiny
    pairs = [_pair(1), _pair(2, None)]
    batch = _batch(tiny, pairs) | _extras(tokenizer, pairs)
    with torch.no_grad():
        plain, _ = DPORunner(DPOSpec(method="dpo")).loss(model, batch)
        linear, metrics = DPORunner(DPOSpec(method="dpo", rationale={"weight": 0.5})).loss(model, batch)
        saturating, _ = DPORunner(DPOSpec(method="dpo", rationale={"form": "saturating"})).loss(model, batch)
    logp = metrics["rationale/logps"]  # one pair has a rationale, the other contributes 0
    assert logp < 0 and linear.item() == pytest.approx(plain.item() - 0.5 * logp / 2, rel=1e-5)
    expected = plain.item() + torch.nn.functional.softplus(torch.tensor(-0.1 * logp)).item() / 2
    assert saturating.item() == pytest.approx(expected, rel=1e-5)


# --- real runs on the tiny model -----------------------------------------------------------------


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _pandalm_rows(n: int) -> list[dict]:
    """PandaLM rows with a majority that is not a tie, half of them split votes (p = 2/3 or 5/6), plus
    GPT-3.5's reason as `rationale`."""
    reasons = {row["idx"]: row["gpt_reason"] for row in json.loads(GPT_REASONS.read_text())}
    unanimous, split = [], []
    for row in json.loads(PANDALM.read_text()):
        votes = [row[f"annotator{k}"] for k in (1, 2, 3)]
        texts = (row["response1"], row["response2"])
        if votes.count(1) != votes.count(2) and all(isinstance(t, str) and t.strip() for t in texts):
            (unanimous if len(set(votes)) == 1 else split).append(
                row | {"rationale": reasons[row["idx"]] or None}
            )
    assert len(unanimous) >= n // 2 and len(split) >= n // 2
    return [row for pair in zip(unanimous[: n // 2], split[: n // 2], strict=True) for row in pair]


def _ratings_rows(n: int) -> list[dict]:
    """LLMBar pairs with a 1..5 quality rating per response: the winner 5, the loser 1..4 (gaps vary)."""
    rows = json.loads(LLMBAR.read_text())[:n]
    out = []
    for i, row in enumerate(rows):
        loser = 1 + i % 4
        q = (5, loser) if row["label"] == 1 else (loser, 5)
        out.append({"prompt": row["input"], "output_1": row["output_1"], "output_2": row["output_2"],
                    "q1": q[0], "q2": q[1]})  # fmt: skip
    return out


_RATINGS_FIELDS = {
    "prompt": "prompt",
    "responses": ["output_1", "output_2"],
    "ratings": {"quality": ["q1", "q2"]},
}


def _recipe(model_dir: Path, data: dict, method: dict):
    text = json.dumps(
        {
            "name": "tiny-options",
            "model": {"name_or_path": str(model_dir), "lora": {"r": 4, "alpha": 8}},
            "data": {"kind": "file", **data},
            "method": {"method": "dpo", "beta": 0.1, **method},
            "training": {
                "max_steps": 2,
                "batch_size": 4,
                "max_length": 96,
                "max_prompt_length": 48,
                "logging_steps": 1,
                "learning_rate": 0.01,
                "heldout_fraction": 0.25,
                "precision": "fp32",
            },  # fmt: skip
            "evaluation": {"bootstrap_samples": 100, "metrics": ["ranking_accuracy", "reward_accuracy"]},
        }
    )
    return parse_recipe(text)


def _train(model_dir, tmp_path, name, data, method) -> tuple[dict[str, torch.Tensor], ListProgress]:
    progress = ListProgress()
    result = run_recipe(_recipe(model_dir, data, method), tmp_path / name, progress)
    weights = load_file(result.artifacts["adapter"] / "adapter_model.safetensors")
    return {k: v for k, v in weights.items() if "lora_B" in k}, progress


@pytest.fixture(scope="module")
def data_files(tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("options-data")
    votes = _write_jsonl(folder / "pandalm.jsonl", _pandalm_rows(16))
    ratings = _write_jsonl(folder / "ratings.jsonl", _ratings_rows(16))
    return {
        "votes": {"path": str(votes), "preset": "pandalm", "fields": {"rationale": "rationale"}},
        "ratings": {"path": str(ratings), "fields": _RATINGS_FIELDS},
    }


@pytest.fixture(scope="module")
def plain_adapters(tiny_model_dir, tmp_path_factory, data_files) -> dict[str, dict[str, torch.Tensor]]:
    """Plain DPO on each file, trained once: the baseline every option must move away from."""
    folder = tmp_path_factory.mktemp("plain-runs")
    return {name: _train(tiny_model_dir, folder, name, data, {})[0] for name, data in data_files.items()}


@pytest.mark.parametrize(
    ("data", "method"),
    [
        ("votes", {"pair_weighting": "soft_label"}),
        ("votes", {"beta_rejected": 0.03}),
        ("votes", {"rationale": {"weight": 0.1}}),
        ("votes", {"rationale": {"weight": 0.1, "form": "saturating", "randomize_slot": False}}),
        ("ratings", {"pair_weighting": "margin", "margin_scale": 4.0}),
        ("ratings", {"pair_weighting": "strength"}),
    ],
)
def test_each_option_trains_and_moves_the_adapter_away_from_plain_dpo(
    tiny_model_dir, tmp_path, data_files, plain_adapters, data, method
):
    plain = plain_adapters[data]
    changed, progress = _train(tiny_model_dir, tmp_path, "option", data_files[data], method)
    assert plain.keys() == changed.keys() and all(v.abs().sum() > 0 for v in changed.values())
    assert any(not torch.allclose(plain[k], changed[k]) for k in plain)  # the option reached the loss
    if "rationale" in method:
        assert "rationale/logps" in progress.logs[0][3]


def test_plain_dpo_is_reproducible_so_the_comparison_above_means_something(
    tiny_model_dir, tmp_path, data_files, plain_adapters
):
    again, _ = _train(tiny_model_dir, tmp_path, "plain-again", data_files["votes"], {})
    assert all(torch.equal(again[k], plain_adapters["votes"][k]) for k in again)


def test_rationale_option_without_rationales_in_the_data_fails_with_one_line(
    tiny_model_dir, tmp_path, data_files
):
    data = {k: v for k, v in data_files["votes"].items() if k != "fields"}  # the column is not mapped
    with pytest.raises(UserFacingError) as info:
        _train(tiny_model_dir, tmp_path, "no-rationale", data, {"rationale": {}})
    assert "data.fields.rationale" in str(info.value) and "\n" not in str(info.value)
