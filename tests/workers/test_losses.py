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
