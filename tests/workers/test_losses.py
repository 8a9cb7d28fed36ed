import math

import pytest
import torch

from workers.losses import dpo_loss


def _sig(x):
    return 1 / (1 + math.exp(-x))


# policy chosen/rejected, ref chosen/rejected → Δ = (−10 − −12) − (−15 − −14) = 2 − (−1) = 3
PC, PR, RC, RR = torch.tensor([-10.0]), torch.tensor([-15.0]), torch.tensor([-12.0]), torch.tensor([-14.0])


def test_sigmoid_matches_hand_computation():
    out = dpo_loss(PC, PR, RC, RR, beta=0.1, loss_type="sigmoid")
    assert out.losses.item() == pytest.approx(-math.log(_sig(0.3)), rel=1e-6)  # 0.554355...
    assert out.chosen_rewards.item() == pytest.approx(0.2)
    assert out.rejected_rewards.item() == pytest.approx(-0.1)


def test_sigmoid_label_smoothing_is_conservative_dpo():
    out = dpo_loss(PC, PR, RC, RR, beta=0.1, loss_type="sigmoid", label_smoothing=0.1)
    expected = -0.9 * math.log(_sig(0.3)) - 0.1 * math.log(_sig(-0.3))
    assert out.losses.item() == pytest.approx(expected, rel=1e-6)


def test_robust_is_unbiased_estimator():
    out = dpo_loss(PC, PR, RC, RR, beta=0.1, loss_type="robust", label_smoothing=0.1)
    expected = (-0.9 * math.log(_sig(0.3)) + 0.1 * math.log(_sig(-0.3))) / 0.8
    assert out.losses.item() == pytest.approx(expected, rel=1e-6)


def test_hinge():
    assert dpo_loss(PC, PR, RC, RR, beta=0.1, loss_type="hinge").losses.item() == pytest.approx(0.7)
    assert dpo_loss(PC, PR, RC, RR, beta=1.0, loss_type="hinge").losses.item() == 0.0


def test_ipo_uses_per_token_log_ratios():
    out = dpo_loss(
        PC,
        PR,
        RC,
        RR,
        beta=0.5,
        loss_type="ipo",
        chosen_lengths=torch.tensor([4.0]),
        rejected_lengths=torch.tensor([2.0]),
    )
    per_token = 2 / 4 - (-1) / 2  # 1.0
    assert out.losses.item() == pytest.approx((per_token - 1 / (2 * 0.5)) ** 2)  # 0.0
    out = dpo_loss(
        PC,
        PR,
        RC,
        RR,
        beta=0.1,
        loss_type="ipo",
        chosen_lengths=torch.tensor([4.0]),
        rejected_lengths=torch.tensor([2.0]),
    )
    assert out.losses.item() == pytest.approx((1.0 - 5.0) ** 2)


def test_zero_margin_gives_log_two_and_gradient_pushes_apart():
    policy_chosen = torch.tensor([-5.0], requires_grad=True)
    policy_rejected = torch.tensor([-5.0], requires_grad=True)
    out = dpo_loss(policy_chosen, policy_rejected, torch.tensor([-5.0]), torch.tensor([-5.0]), beta=0.1)
    assert out.losses.item() == pytest.approx(math.log(2))
    out.losses.sum().backward()
    assert policy_chosen.grad.item() == pytest.approx(-0.05)  # −β·σ(0)
    assert policy_rejected.grad.item() == pytest.approx(0.05)


def test_unknown_loss_type_names_the_choices():
    with pytest.raises(ValueError, match="sigmoid, ipo, hinge or robust"):
        dpo_loss(PC, PR, RC, RR, beta=0.1, loss_type="kto")


# --- §6.2 pair weighting, Flex-DPO, rationale terms (same PC/PR/RC/RR: r_w = 2, r_l = −1, Δ = 3) ---


def test_flex_dpo_uses_its_own_beta_for_the_rejected_side():
    from workers.losses import flex_dpo

    out = dpo_loss(PC, PR, RC, RR, beta=0.1, beta_rejected=0.05)
    expected = -math.log(_sig(0.1 * 2 - 0.05 * -1))  # z = 0.25
    assert out.losses.item() == pytest.approx(expected, rel=1e-6)
    assert flex_dpo(torch.tensor([2.0]), torch.tensor([-1.0]), 0.1, 0.05).item() == pytest.approx(expected)
    assert out.chosen_rewards.item() == pytest.approx(0.2)
    assert out.rejected_rewards.item() == pytest.approx(-0.05)  # implicit rewards use their own β


def test_flex_with_equal_betas_is_dpo():
    out = dpo_loss(PC, PR, RC, RR, beta=0.1, beta_rejected=0.1)
    assert out.losses.item() == pytest.approx(-math.log(_sig(0.3)), rel=1e-6)


def test_margin_dpo_shifts_the_logit_by_scaled_strength():
    from workers.losses import PairSignal, dpo_margin

    signal = PairSignal("margin", strength=torch.tensor([0.5]), margin_scale=1.0)
    out = dpo_loss(PC, PR, RC, RR, beta=0.1, signal=signal)
    assert out.losses.item() == pytest.approx(-math.log(_sig(0.3 - 0.5)), rel=1e-6)  # 0.798139
    assert dpo_margin(torch.tensor([0.3]), torch.tensor([2.0]), 0.25).item() == pytest.approx(
        -math.log(_sig(-0.2)), rel=1e-6
    )
    assert dpo_margin(torch.tensor([0.3]), torch.tensor([2.0]), 0.0).item() == pytest.approx(
        -math.log(_sig(0.3)), rel=1e-6
    )


def test_strength_weighting_scales_by_m_over_dataset_mean():
    from workers.losses import PairSignal, dpo_strength_weighted

    signal = PairSignal("strength", strength=torch.tensor([2.0]), mean_strength=0.5)
    out = dpo_loss(PC, PR, RC, RR, beta=0.1, signal=signal)
    assert out.losses.item() == pytest.approx(4 * -math.log(_sig(0.3)), rel=1e-6)
    weighted = dpo_strength_weighted(torch.tensor([1.0, 3.0]), torch.tensor([0.5, 1.5]), 1.0)
    assert weighted.tolist() == pytest.approx([0.5, 4.5])


def test_strength_weighting_applies_to_any_loss_type():
    from workers.losses import PairSignal

    signal = PairSignal("strength", strength=torch.tensor([3.0]), mean_strength=1.5)
    out = dpo_loss(PC, PR, RC, RR, beta=0.1, loss_type="hinge", signal=signal)
    assert out.losses.item() == pytest.approx(2 * 0.7)


def test_soft_label_is_cdpo_with_the_pairs_own_p():
    from workers.losses import PairSignal

    signal = PairSignal("soft_label", soft_label=torch.tensor([2 / 3]))
    out = dpo_loss(PC, PR, RC, RR, beta=0.1, signal=signal)
    expected = -(2 / 3) * math.log(_sig(0.3)) - (1 / 3) * math.log(_sig(-0.3))
    assert out.losses.item() == pytest.approx(expected, rel=1e-6)
    hard = dpo_loss(PC, PR, RC, RR, beta=0.1, signal=PairSignal("soft_label", soft_label=torch.tensor([1.0])))
    assert hard.losses.item() == pytest.approx(-math.log(_sig(0.3)), rel=1e-6)


def test_soft_label_gradient_is_zero_where_sigma_of_logit_equals_p():
    from workers.losses import dpo_soft_label

    # dL/dz = σ(z) − p: the optimum is a finite margin (unlike hard DPO), and a tie p = 0.5 sits at z = 0.
    z = torch.tensor([0.3, 0.0, math.log(5.0)], requires_grad=True)
    p = torch.tensor([2 / 3, 0.5, 5 / 6])
    dpo_soft_label(z, p).sum().backward()
    assert z.grad.tolist() == pytest.approx([_sig(0.3) - 2 / 3, 0.0, 0.0], abs=1e-6)


def test_rationale_terms_linear_and_saturating():
    from workers.losses import rationale_nll_linear, rationale_saturating

    logps = torch.tensor([-20.0, 0.0])
    assert rationale_nll_linear(logps, 0.1).tolist() == pytest.approx([2.0, 0.0])
    # −log σ(γ·log π) = log(1 + e^(−γ·log π)): log(1 + e²) = 2.126928, log 2 at log π = 0
    assert rationale_saturating(logps, 0.1).tolist() == pytest.approx([math.log(1 + math.e**2), math.log(2)])


def test_defaults_of_the_new_arguments_are_bit_identical():
    from workers.losses import PairSignal

    pc, pr = torch.randn(8, generator=torch.Generator().manual_seed(0)) * 5 - 20, torch.randn(8) * 5 - 20
    rc, rr = pc + torch.randn(8), pr + torch.randn(8)
    lengths = torch.arange(1.0, 9.0)
    for loss_type, eps in (("sigmoid", 0.0), ("sigmoid", 0.1), ("robust", 0.1), ("hinge", 0.0), ("ipo", 0.0)):
        kwargs = dict(
            beta=0.1,
            loss_type=loss_type,
            label_smoothing=eps,
            chosen_lengths=lengths,
            rejected_lengths=lengths,
        )
        plain = dpo_loss(pc, pr, rc, rr, **kwargs).losses
        assert torch.equal(
            plain, dpo_loss(pc, pr, rc, rr, beta_rejected=None, signal=PairSignal(), **kwargs).losses
        )
