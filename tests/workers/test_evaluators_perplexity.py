"""E8 perplexity by hand, on a uniform-logit toy, against a slow forward, and the corpus file itself."""

import importlib.util
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from transformers import AutoModelForCausalLM

from workers.evaluators import perplexity as ppl_module
from workers.evaluators.perplexity import (
    CORPUS_PATH,
    corpus_logps,
    in_domain_perplexity,
    load_corpus,
    perplexity,
    perplexity_metrics,
    token_windows,
)
from workers.modeling import apply_lora

ROOT = Path(__file__).resolve().parents[2]
OASST = ROOT.parent / "shared" / "data" / "oasst-en100-trees"


def test_perplexity_by_hand():
    assert perplexity(-3 * math.log(5), 3) == pytest.approx(5.0)
    assert in_domain_perplexity([-2.0, -4.0], [1, 2]) == pytest.approx(math.exp(2.0))  # exp(6 / 3)
    m = perplexity_metrics((-4 * math.log(2), 4), (-4 * math.log(3), 4), ([-2.0], [2]), ([-4.0], [2]))
    assert m["ppl_base"] == pytest.approx(2.0) and m["ppl_policy"] == pytest.approx(3.0)
    assert m["ppl_delta"] == pytest.approx(1.0) and m["ppl_tokens"] == 4
    assert m["ppl_in_domain_base"] == pytest.approx(math.e) and m["ppl_in_domain_delta"] == pytest.approx(
        math.exp(2.0) - math.e
    )


def test_empty_and_zero_length_inputs_are_refused():
    with pytest.raises(ValueError, match="zero tokens"):
        perplexity(0.0, 0)
    with pytest.raises(ValueError, match="held-out pair 1 has a zero-length chosen response"):
        in_domain_perplexity([-1.0, 0.0], [3, 0])
    with pytest.raises(ValueError, match="no held-out chosen responses"):
        in_domain_perplexity([], [])
    with pytest.raises(ValueError, match="no corpus windows"):
        corpus_logps(torch.nn.Linear(1, 1), [], pad_id=0)


def test_token_windows_cut_texts_and_drop_one_token_tails():
    tokenizer = lambda text, add_special_tokens: {"input_ids": [ord(ch) for ch in text]}  # noqa: E731
    assert token_windows(tokenizer, ["abcde", "xy", "z"], window=2) == [[97, 98], [99, 100], [120, 121]]
    assert token_windows(tokenizer, ["abcde"], window=3) == [[97, 98, 99], [100, 101]]


@torch.no_grad()
def test_uniform_logits_give_perplexity_equal_to_the_vocabulary_size(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model.get_output_embeddings().weight.zero_()  # every logit 0 → p = 1 / V for every token
    windows = [[5, 6, 7, 8], [9, 10], [11, 12, 13]]
    total, count = corpus_logps(model, windows, pad_id=0)
    assert count == 3 + 1 + 2  # the first token of a window is context only
    assert perplexity(total, count) == pytest.approx(model.config.vocab_size, rel=1e-5)


@torch.no_grad()
def test_corpus_logps_match_a_slow_forward_with_the_adapter_on_and_off(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(ppl_module, "PPL_BATCH", 2)  # padded batches
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    windows = [[5, 60, 7, 80, 9], [10, 11], [120, 13, 140], [15, 16, 170, 18]]

    def slow(m):
        total = 0.0
        for w in windows:
            logps = m(input_ids=torch.tensor([w])).logits[0, :-1].log_softmax(-1)
            total += float(logps.gather(-1, torch.tensor(w[1:])[:, None]).sum())
        return total

    base = slow(model)
    peft = apply_lora(
        model, SimpleNamespace(r=4, alpha=8.0, dropout=0.0, target_modules=["q_proj", "v_proj"])
    )
    for name, param in peft.named_parameters():
        if "lora_B" in name:
            param.normal_(std=0.5)
    peft.eval()
    policy = slow(peft)
    assert abs(policy - base) > 1e-3  # the adapter matters, so the two checks below are distinct
    assert corpus_logps(peft, windows, pad_id=0, adapter_disabled=True) == (pytest.approx(base, abs=1e-3), 10)
    assert corpus_logps(peft, windows, pad_id=0) == (pytest.approx(policy, abs=1e-3), 10)


def test_general_corpus_file():
    texts = load_corpus(CORPUS_PATH)
    assert len(texts) == 150 and len(set(texts)) == 150
    assert all(200 <= len(t) <= 1500 and t == t.strip() for t in texts)


@pytest.mark.skipif(not OASST.exists(), reason="needs ../shared/data/oasst-en100-trees")
def test_corpus_file_is_what_the_script_selects():
    spec = importlib.util.spec_from_file_location(
        "make_general_text", ROOT / "scripts" / "make_general_text.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    rows = [
        json.loads(line) for line in (OASST / "en_100_tree.jsonl").read_text().splitlines() if line.strip()
    ]
    assert [m["text"] for m in script.select(rows)] == load_corpus(CORPUS_PATH)
