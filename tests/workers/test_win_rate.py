"""E6 by hand (ties, τ, the length-controlled fit) and sampled generation on the tiny Llama."""

import math
from types import SimpleNamespace

import pytest
import torch

from workers.evaluators.win_rate import (
    length_controlled,
    logistic_fit,
    outcomes,
    win_rate_metrics,
    win_rate_pass,
)
from workers.generation import generate, sampling_config, trim_at_eos
from workers.modeling import apply_lora, load_base_model, load_tokenizer

LORA = SimpleNamespace(r=4, alpha=8.0, dropout=0.0, target_modules=["q_proj", "v_proj", "up_proj"])
PROMPTS = ["What is the capital of France?", "Give three tips for staying healthy.", "Name five animals."]


def test_outcomes_and_win_rate_by_hand():
    policy, base = [3.0, 1.0, 2.0, 2.0], [1.0, 3.0, 2.0, 2.05]
    # win, loss, exact tie (|0| ≤ 0), loss (2 < 2.05)
    assert outcomes(policy, base) == [1.0, 0.0, 0.5, 0.0]
    # τ = 0.1: the 0.05 gap becomes a tie too
    assert outcomes(policy, base, tau=0.1) == [1.0, 0.0, 0.5, 0.5]
    m = win_rate_metrics(policy, base, [10, 20, 30, 40], [20, 20, 20, 20], tau=0.1)
    assert m["win_rate"] == pytest.approx(2 / 4)  # (1 + 0 + ½ + ½) / 4
    assert (m["win_rate_wins"], m["win_rate_ties"], m["win_rate_losses"]) == (1.0, 2.0, 1.0)
    assert m["win_rate_no_ties"] == pytest.approx(1 / 2)  # 1 win / (1 win + 1 loss)
    assert m["mean_length_policy"] == 25.0 and m["mean_length_base"] == 20.0
    assert m["win_rate_ci_low"] <= m["win_rate"] <= m["win_rate_ci_high"]
    with pytest.raises(ValueError, match="τ must be >= 0"):
        outcomes(policy, base, tau=-1)
    with pytest.raises(ValueError, match="empty"):
        win_rate_metrics([], [], [], [])


def test_all_ties_give_one_half_and_no_decided_rate():
    m = win_rate_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [5, 6, 7], [5, 6, 7])
    assert m["win_rate"] == 0.5 and m["win_rate_ci_low"] == 0.5 and m["win_rate_ci_high"] == 0.5
    assert math.isnan(m["win_rate_no_ties"]) and math.isnan(m["win_rate_length_controlled"])


def test_logistic_fit_matches_the_exact_mle_on_grouped_data():
    # at x = 0 one win in two (logit 0), at x = 1 three in four (logit ln 3): a = 0, b = ln 3 exactly
    a, b = logistic_fit([0, 0, 1, 1, 1, 1], [1, 0, 1, 1, 1, 0], l2=0.0)
    assert a == pytest.approx(0.0, abs=1e-7) and b == pytest.approx(math.log(3), abs=1e-7)


def test_length_controlled_win_rate_removes_wins_explained_by_length():
    # Δ = 0: 1 win 1 loss; Δ = +10: 3 wins 1 loss; Δ = +20: 9 wins 1 loss. The empirical logits 0, ln 3,
    # 2 ln 3 lie on one line, so the fit is a = 0, b = ln 3 / 10 per token: at equal length a coin flip,
    # although the policy wins 13 of 16 because it writes longer answers.
    deltas = [0, 0] + [10] * 4 + [20] * 10
    wins = [1, 0] + [1, 1, 1, 0] + [1] * 9 + [0]
    m = win_rate_metrics([float(w) for w in wins], [0.5] * 16, [100 + d for d in deltas], [100] * 16)
    assert m["win_rate"] == pytest.approx(13 / 16)
    assert m["win_rate_length_controlled"] == pytest.approx(0.5, abs=0.002)  # only the tiny λ moves it
    assert m["win_rate_length_slope"] == pytest.approx(math.log(3) / 10, rel=0.01)


def test_length_controlled_stays_finite_when_wins_are_separable():
    m = length_controlled([1.0] * 5, [10, 12, 9, 11, 10], [10, 12, 9, 11, 10])  # all wins, equal lengths
    assert 0.999 < m["win_rate_length_controlled"] < 1.0
    # wins exactly where the policy is longer, symmetric lengths: the boundary sits at Δ = 0
    m = length_controlled([1.0, 1.0, 0.0, 0.0], [20, 30, 10, 0], [10, 10, 20, 20])
    assert m["win_rate_length_controlled"] == pytest.approx(0.5, abs=1e-9) and m["win_rate_length_slope"] > 0
    # ties are dropped: only the two decided prompts remain, one win at Δ = +10 and one loss at Δ = −10
    m = length_controlled([1.0, 0.5, 0.0], [20, 99, 0], [10, 0, 10])
    assert m["win_rate_length_controlled"] == pytest.approx(0.5, abs=1e-9)


def test_trim_and_sampling_config_leave_nothing_to_model_defaults():
    assert trim_at_eos([5, 6, 2, 0], eos_id=2) == [5, 6, 2] and trim_at_eos([5, 6], eos_id=2) == [5, 6]
    config = sampling_config(max_new_tokens=7, temperature=0.7, top_p=0.9, eos_id=2, pad_id=0)
    assert (config.do_sample, config.temperature, config.top_p, config.top_k) == (True, 0.7, 0.9, 0)
    assert config.repetition_penalty == 1.0 and config.max_new_tokens == 7
    assert sampling_config(max_new_tokens=7, temperature=0, top_p=0.9, eos_id=2, pad_id=0).do_sample is False


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    policy = apply_lora(load_base_model(tiny_model_dir), LORA)  # B = 0: the policy equals the base
    return policy, tokenizer


def test_generation_is_seeded_and_a_zero_adapter_samples_exactly_the_base(tiny):
    policy, tokenizer = tiny
    rng = torch.random.get_rng_state()
    config = policy.get_base_model().generation_config
    run = lambda **kw: generate(policy, tokenizer, PROMPTS, max_new_tokens=12, batch_size=2, **kw)  # noqa: E731
    base = run(seed=3, adapter_disabled=True)
    assert run(seed=3, adapter_disabled=True) == base
    assert run(seed=3, adapter_disabled=False) == base
    assert run(seed=4, adapter_disabled=True).ids != base.ids  # the seed matters: it really samples
    assert (
        torch.equal(torch.random.get_rng_state(), rng) and policy.get_base_model().generation_config is config
    )
    assert base.token_counts == [len(ids) for ids in base.ids] and max(base.token_counts) <= 12
    assert all(isinstance(text, str) for text in base.texts)


class LengthJudge:
    """Scores an answer by its character length (a stand-in for a held-out reward model)."""

    def score(self, prompts, responses):
        return [float(len(r)) for r in responses]


def test_win_rate_pass_with_a_zero_adapter_is_all_ties(tiny):
    policy, tokenizer = tiny
    result = win_rate_pass(policy, tokenizer, PROMPTS, LengthJudge(), max_new_tokens=8, seed=1, batch_size=3)
    assert result.policy_texts == result.base_texts and result.policy_scores == result.base_scores
    assert result.metrics["win_rate"] == 0.5 and result.metrics["win_rate_ties"] == 3.0
    assert result.metrics["mean_length_policy"] == result.metrics["mean_length_base"]


def test_win_rate_pass_sees_a_changed_adapter(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    policy = apply_lora(load_base_model(tiny_model_dir), LORA)
    with torch.no_grad():
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5, generator=torch.Generator().manual_seed(0))
    result = win_rate_pass(policy, tokenizer, PROMPTS, LengthJudge(), max_new_tokens=8, seed=1)
    assert result.policy_texts != result.base_texts
    with pytest.raises(ValueError, match="needs a PeftModel"):
        generate(
            load_base_model(tiny_model_dir), tokenizer, PROMPTS[:1], max_new_tokens=2, adapter_disabled=True
        )
