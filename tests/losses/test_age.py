import math

import pytest
import torch

from agelab.losses.age import age_classes, age_distance_loss, age_moments, expected_age, label_distribution


def test_expectation_eq10():
    logits = torch.full((1, 81), -1e4)
    logits[0, 30] = logits[0, 40] = 0.0  # half the mass on 30, half on 40
    assert expected_age(logits, 0).item() == pytest.approx(35.0)
    assert expected_age(torch.zeros(1, 11), 10).item() == pytest.approx(15.0)  # uniform over 10..20


def test_loss_eq11_matches_hand_computation():
    logits = torch.tensor([[0.0, 1.0, 2.0]])
    ages = torch.tensor([21.4])
    probs = logits.softmax(-1)[0]
    ce = -math.log(probs[1].item())  # 21.4 rounds to class 21 = index 1 when m = 20
    distance = sum(probs[i].item() * abs(20 + i - 21.4) for i in range(3))
    expected = ce + 0.2 * distance
    assert abs(age_distance_loss(logits, ages, 20, 0.2).item() - expected) < 1e-6


def test_distance_term_pulls_mass_towards_the_true_age():
    logits = torch.zeros(1, 81, requires_grad=True)
    age_distance_loss(logits, torch.tensor([60.0]), 0, lambda_dist=1.0).backward()
    grad = logits.grad[0]
    # gradient descent raises the true class most and lowers classes the further they are from it
    assert grad[60] < 0 < grad[0]
    assert grad[60] < grad[70] < grad[80] < grad[30] < grad[0]


def test_out_of_range_labels_use_end_classes():
    logits = torch.zeros(2, 81)
    loss = age_distance_loss(logits, torch.tensor([95.0, -3.0]), 0)
    assert torch.isfinite(loss)


def test_out_of_range_labels_take_the_end_classes_exactly_and_lambda_defaults_to_0_2():
    # three classes 20, 21, 22; two faces in one batch, each its own softmax over the classes
    logits = torch.tensor([[0.0, 1.0, 2.0], [2.0, 0.0, -1.0]])
    ages = torch.tensor([95.0, -3.0])  # beyond the oldest class and below the youngest
    loss = age_distance_loss(logits, ages, 20)
    expected = 0.0
    for row, age, end in [(logits[0], 95.0, 2), (logits[1], -3.0, 0)]:
        probs = row.softmax(-1)
        distance = sum(probs[i].item() * abs(20 + i - age) for i in range(3))
        expected += (-math.log(probs[end].item()) + 0.2 * distance) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_expectation_is_per_face_over_the_class_axis():
    logits = torch.tensor([[0.0, 0.0, -1e4], [-1e4, 0.0, 0.0]])  # 10.5 and 11.5 over classes 10, 11, 12
    assert expected_age(logits, 10).tolist() == pytest.approx([10.5, 11.5])


def test_expectation_is_over_the_last_axis_for_one_face_and_for_a_grid_of_faces():
    single = torch.tensor([0.0, 0.0, -1e4])  # one face, no batch axis: 10.5 over classes 10, 11, 12
    assert expected_age(single, 10).item() == pytest.approx(10.5)
    grid = torch.full((2, 2, 3), -1e4)  # (images, faces, classes): one class each, 10, 11, 12 and 10/12
    grid[0, 0, 0] = grid[0, 1, 1] = grid[1, 0, 2] = 0.0
    grid[1, 1, 0] = grid[1, 1, 2] = 0.0
    assert expected_age(grid, 10).flatten().tolist() == pytest.approx([10.0, 11.0, 12.0, 11.0])


def test_age_classes_are_float_ages_on_the_device_of_the_reference_tensor():
    assert age_classes(3, 20, torch.zeros(1)).tolist() == [20.0, 21.0, 22.0]
    on_meta = age_classes(3, 20, torch.zeros(1, device="meta"))
    assert on_meta.device.type == "meta" and on_meta.dtype == torch.float32 and on_meta.shape == (3,)


def test_age_moments_spread_is_the_spread_of_the_softmax_distribution_over_the_ages():
    logits = torch.log(torch.tensor([[0.25, 0.5, 0.25], [1.0, 1e-12, 1e-12]]))
    # ages 10, 11, 12: variance 0.25·1 + 0.25·1 = 0.5; a one-hot distribution has no spread
    torch.testing.assert_close(age_moments(logits, 10)[1], torch.tensor([0.5**0.5, 0.0]), atol=1e-5, rtol=0)
    skewed = torch.log(torch.tensor([[0.5, 0.0, 0.5]]).clamp_min(1e-30))
    torch.testing.assert_close(age_moments(skewed, 3)[1], torch.tensor([1.0]))  # ages 3 and 5, mean 4


def test_age_moments_spread_reduces_over_the_last_axis_of_any_stack():
    """One distribution (1-D) and a (2, 1, C) stack give the same spreads as the (B, C) rows."""
    single = torch.log(torch.tensor([0.25, 0.5, 0.25]))  # ages 10, 11, 12: variance 0.25 + 0.25 = 0.5
    torch.testing.assert_close(age_moments(single, 10)[1], torch.tensor(0.5**0.5))
    # ages 3, 4, 5 with p = (1/2, 0, 1/2): mean 4, variance 1; p = (0, 0, 1): no spread
    stack = torch.log(torch.tensor([[[0.5, 0.0, 0.5]], [[0.0, 0.0, 1.0]]]).clamp_min(1e-30))
    torch.testing.assert_close(age_moments(stack, 3)[1], torch.tensor([[1.0], [0.0]]), atol=1e-5, rtol=0)


def test_age_moments_spread_builds_its_ages_on_the_device_of_the_logits():
    """The meta device (shapes only) stands in for a GPU: ages left on the CPU could not meet the logits."""
    mean, spread = age_moments(torch.zeros(2, 81, device="meta"), 0)
    assert spread.device.type == mean.device.type == "meta" and spread.shape == mean.shape == (2,)


def test_age_moments_mean_is_eq10_and_the_spread_is_about_it():
    """The mean is Eq. 10 (the same number :func:`expected_age` gives) and the spread is taken about that
    mean, not about zero: ages 20, 21, 22 with p = (0.5, 0, 0.5) have mean 21 and variance 1."""
    logits = torch.log(torch.tensor([[0.5, 0.0, 0.5], [0.1, 0.6, 0.3]]).clamp_min(1e-30))
    mean, spread = age_moments(logits, 20)
    torch.testing.assert_close(mean, torch.tensor([21.0, 21.2]))
    torch.testing.assert_close(mean, expected_age(logits, 20))
    # second row: E[a] = 21.2, E[a²] = 0.1·400 + 0.6·441 + 0.3·484 = 449.8, variance 449.8 − 449.44 = 0.36
    torch.testing.assert_close(spread, torch.tensor([1.0, 0.6]))
    assert age_moments(logits)[0].tolist() == pytest.approx([1.0, 1.2])  # min_age defaults to 0 (FOSS)


def test_label_distribution_is_dldls_normalised_gaussian_over_the_classes():
    # ages 20..22 (m = 20), y = 21.0, sigma = 1: weights e^-0.5, 1, e^-0.5, normalised
    target = label_distribution(torch.tensor([21.0]), 3, 20, 1.0)[0]
    edge = math.exp(-0.5) / (1 + 2 * math.exp(-0.5))
    assert target.tolist() == pytest.approx([edge, 1 / (1 + 2 * math.exp(-0.5)), edge], abs=1e-7)
    # sigma 2 spreads wider: y = 20 gives 1, e^-1/8, e^-4/8 before normalising
    wide = label_distribution(torch.tensor([20.0]), 3, 20, 2.0)[0]
    raw = [1.0, math.exp(-1 / 8), math.exp(-0.5)]
    assert wide.tolist() == pytest.approx([w / sum(raw) for w in raw], abs=1e-7)
    # an age beyond M is centred on the end class, like the one-hot target: the same target as age M itself
    beyond, end = label_distribution(torch.tensor([95.0, 22.0]), 3, 20, 2.0)
    assert beyond.tolist() == pytest.approx(end.tolist(), abs=1e-7)
    # a small sigma is (nearly) one-hot, never 0/0: half-year ages split between the two nearest classes
    sharp = label_distribution(torch.tensor([20.5, 21.0]), 3, 20, 0.02)
    assert torch.isfinite(sharp).all()
    assert sharp[0].tolist() == pytest.approx([0.5, 0.5, 0.0], abs=1e-6)
    assert sharp[1].tolist() == pytest.approx([0.0, 1.0, 0.0], abs=1e-6)
    with pytest.raises(ValueError, match="label_sigma"):
        label_distribution(torch.tensor([21.0]), 3, 20, 0.0)


def test_loss_with_label_sigma_is_soft_cross_entropy_plus_the_distance_term():
    logits = torch.tensor([[0.0, 1.0, 2.0]])
    ages = torch.tensor([21.4])
    log_probs = logits.log_softmax(-1)[0]
    raw = [math.exp(-((20 + i - 21.4) ** 2) / (2 * 1.5**2)) for i in range(3)]
    target = [w / sum(raw) for w in raw]
    ce = -sum(t * log_probs[i].item() for i, t in enumerate(target))
    distance = sum(log_probs[i].exp().item() * abs(20 + i - 21.4) for i in range(3))
    loss = age_distance_loss(logits, ages, 20, 0.3, label_sigma=1.5)
    assert loss.item() == pytest.approx(ce + 0.3 * distance, abs=1e-6)
    # sigma 0 is the paper's one-hot loss
    assert age_distance_loss(logits, ages, 20, 0.3, label_sigma=0.0).item() == pytest.approx(
        -log_probs[1].item() + 0.3 * distance, abs=1e-6
    )
