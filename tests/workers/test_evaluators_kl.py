"""E7 KL estimates by hand, the sampling contract, and exact zeros for an adapter with B = 0."""

import math
from types import SimpleNamespace

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from workers.evaluators import kl
from workers.evaluators.kl import kl_estimates, kl_pass, sample_responses, trim_at_eos
from workers.modeling import apply_lora

LORA = SimpleNamespace(r=4, alpha=8.0, dropout=0.0, target_modules=["q_proj", "v_proj", "up_proj"])
PROMPTS = ["What is the capital of France?", "Give three tips for staying healthy.", "Name five animals."]


def test_kl_estimates_by_hand():
    m = kl_estimates([[0.5, -0.5], [1.0]])
    # k1: 0 and 1 → 0.5 per sequence, 1/3 per token
    assert m["kl_k1_sequence"] == pytest.approx(0.5) and m["kl_k1_token"] == pytest.approx(1 / 3)
    # k3: (e^-0.5 − 0.5) + (e^0.5 − 1.5) = 0.255252; e^-1 = 0.367879
    k3 = [math.exp(-0.5) - 0.5 + math.exp(0.5) - 1.5, math.exp(-1.0)]
    assert m["kl_k3_sequence"] == pytest.approx(sum(k3) / 2) and m["kl_k3_token"] == pytest.approx(
        sum(k3) / 3
    )
    assert m["kl_k3_sequence"] == pytest.approx(0.311565, abs=1e-6)
    assert m["kl_samples"] == 2 and m["kl_mean_tokens"] == 1.5
    assert m["kl_k1_sequence_ci_low"] <= m["kl_k1_sequence"] <= m["kl_k1_sequence_ci_high"]


def test_kl_estimates_refuse_empty_input_and_empty_sequences():
    with pytest.raises(ValueError, match="E7: no sampled sequences"):
        kl_estimates([])
    with pytest.raises(ValueError, match="sequence 1 has no generated tokens"):
        kl_estimates([[0.1], []])


def test_trim_at_eos_keeps_eos_and_drops_the_padding_after_it():
    assert trim_at_eos([5, 6, 2, 0, 0], eos_id=2) == [5, 6, 2]
    assert trim_at_eos([5, 6], eos_id=2) == [5, 6]  # hit max_new_tokens
    assert trim_at_eos([2, 2], eos_id=2) == [2]


class _FakeGenerator(torch.nn.Module):
    """Records generate()'s arguments and returns prompt + fixed continuations."""

    def __init__(self, continuations):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.continuations, self.calls = continuations, []

    def generate(self, input_ids, attention_mask, **kwargs):
        self.calls.append({"input_ids": input_ids, "attention_mask": attention_mask, **kwargs})
        return torch.cat([input_ids, torch.tensor(self.continuations)], dim=1)


def test_sampling_is_untempered_left_padded_and_counts_only_generated_tokens():
    fake = _FakeGenerator([[7, 2, 0, 0], [8, 9, 10, 11]])
    out = sample_responses(fake, [[4, 5, 6], [4]], eos_id=2, pad_id=0, max_new_tokens=4)
    assert out == [[7, 2], [8, 9, 10, 11]]  # prompt ids never counted, stop after EOS
    call = fake.calls[0]
    assert call["input_ids"].tolist() == [[4, 5, 6], [0, 0, 4]]
    assert call["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    config = call["generation_config"]
    knobs = ("do_sample", "temperature", "top_k", "top_p", "max_new_tokens")
    assert {k: getattr(config, k) for k in knobs} == {
        "do_sample": True, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "max_new_tokens": 4,
    }  # fmt: skip
    assert config.repetition_penalty == 1.0 and config.eos_token_id == 2 and config.min_p is None


def _policy(tiny_model_dir, b_std: float):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    peft = apply_lora(model, LORA)
    if b_std:
        torch.manual_seed(1)
        for name, param in peft.named_parameters():
            if "lora_B" in name:
                param.data.normal_(std=b_std)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompts = [
        list(
            tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True)[
                "input_ids"
            ]
        )
        for p in PROMPTS
    ]
    return peft.eval(), tokenizer, prompts


def test_adapter_with_zero_b_has_exactly_zero_kl(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(kl, "KL_BATCH", 2)  # two batches, one padded
    peft, tok, prompts = _policy(tiny_model_dir, b_std=0.0)
    result = kl_pass(
        peft, prompts, eos_id=tok.eos_token_id, pad_id=tok.pad_token_id, max_new_tokens=12, seed=3
    )
    assert result.metrics["kl_k1_sequence"] == 0.0 and result.metrics["kl_k3_sequence"] == 0.0
    assert result.metrics["kl_k1_token"] == 0.0 and result.metrics["kl_k3_token"] == 0.0
    assert len(result.responses) == 3
    for response in result.responses:
        assert 1 <= len(response) <= 12
        assert tok.eos_token_id not in response[:-1]  # nothing after an EOS is counted


def _slow_token_logps(model, prompt, response):
    logits = model(input_ids=torch.tensor([prompt + response])).logits[0].float().log_softmax(-1)
    return [float(logits[len(prompt) - 1 + j, t]) for j, t in enumerate(response)]


@torch.no_grad()
def test_per_token_d_matches_a_slow_forward_and_sampling_is_seeded(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(kl, "KL_BATCH", 2)
    peft, tok, prompts = _policy(tiny_model_dir, b_std=0.3)
    args = {"eos_id": tok.eos_token_id, "pad_id": tok.pad_token_id, "max_new_tokens": 10}
    result = kl_pass(peft, prompts, seed=5, **args)
    assert kl_pass(peft, prompts, seed=5, **args).responses == result.responses
    for prompt, response, d in zip(prompts, result.responses, result.per_token_d, strict=True):
        policy = _slow_token_logps(peft, prompt, response)
        with peft.disable_adapter():
            ref = _slow_token_logps(peft, prompt, response)
        assert d == pytest.approx([p - r for p, r in zip(policy, ref, strict=True)], abs=1e-4)
    assert result.metrics["kl_k3_sequence"] > 0  # the adapter moved the distribution
    assert any(abs(v) > 1e-3 for ds in result.per_token_d for v in ds)


def test_kl_pass_needs_an_adapter(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    with pytest.raises(ValueError, match="needs the policy as a PeftModel"):
        kl_pass(model, [[1, 2]], eos_id=2, pad_id=0)


def test_the_models_own_generation_config_cannot_truncate_sampling(tiny_model_dir):
    peft, tok, prompts = _policy(tiny_model_dir, b_std=0.0)
    config = peft.get_base_model().generation_config
    config.do_sample, config.top_k, config.min_p = True, 1, 0.9  # would make sampling greedy if it leaked
    args = {"eos_id": tok.eos_token_id, "pad_id": tok.pad_token_id, "max_new_tokens": 8}
    first = sample_responses(peft, prompts, seed=1, **args)
    second = sample_responses(peft, prompts, seed=2, **args)
    assert first != second  # a near-uniform tiny model: different seeds give different samples
    assert peft.get_base_model().generation_config.top_k == 1  # restored afterwards
