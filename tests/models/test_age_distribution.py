"""Flip averaging, temperature scaling and age intervals, against hand-computed values."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from agelab.models.age_distribution import (
    INTERVAL_LEVELS,
    AgeEstimates,
    age_log_probs,
    central_interval,
    coverage,
    fit_temperature,
    negative_log_likelihood,
    softmax,
    true_class,
)


def test_central_interval_by_hand():
    probs = np.array([[0.125, 0.25, 0.25, 0.25, 0.125]])  # cdf 0.125 0.375 0.625 0.875 1
    low, high = central_interval(probs, 10, 0.5)  # the ages where the cdf reaches 0.25 and 0.75
    assert (low[0], high[0]) == (11, 13)
    low, high = central_interval(probs, 10, 0.8)  # reaches 0.1 at the first age, 0.9 only at the last
    assert (low[0], high[0]) == (10, 14)


def test_central_interval_of_a_point_mass_and_unnormalised_rows():
    probs = np.array([[0.0, 0.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    low, high = central_interval(probs, 0, 0.8)
    assert low.tolist() == [2, 0] and high.tolist() == [2, 3]
    for level in (0.0, 1.0):  # an empty interval and the whole range are not intervals
        with pytest.raises(ValueError, match="in \\(0, 1\\)"):
            central_interval(probs, 0, level)


def test_coverage_counts_rounded_ages_inside_inclusive_bounds():
    assert coverage(np.array([1, 5, 2]), np.array([3, 6, 2]), np.array([3.4, 7.0, 1.6])) == pytest.approx(
        2 / 3
    )


def test_true_class_rounds_and_clips_like_the_loss_target():
    assert true_class(np.array([-3.0, 0.4, 0.6, 27.5, 200.0]), 0, 117).tolist() == [0, 0, 1, 28, 116]
    assert true_class(np.array([12.0]), 10, 5).tolist() == [2]


def test_negative_log_likelihood_by_hand():
    logits = np.array([[0.0, math.log(3.0)]])  # softmax: 1/4, 3/4
    assert negative_log_likelihood(logits, np.array([1.0]), 0, 1.0) == pytest.approx(-math.log(0.75))
    assert negative_log_likelihood(logits, np.array([0.0]), 0, 1.0) == pytest.approx(-math.log(0.25))
    root = math.sqrt(3.0)  # T = 2: softmax of (0, ln 3 / 2) = 1/(1+√3), √3/(1+√3)
    assert negative_log_likelihood(logits, np.array([6.0]), 5, 2.0) == pytest.approx(
        -math.log(root / (1 + root))
    )


def test_fit_temperature_recovers_an_overconfident_scale():
    rng = np.random.default_rng(0)
    calibrated = rng.normal(0, 2.0, size=(20000, 6))
    probs = softmax(calibrated)
    ages = np.array([rng.choice(6, p=p) for p in probs]) + 3  # drawn from the calibrated distribution
    assert fit_temperature(calibrated * 2.5, ages, 3) == pytest.approx(2.5, rel=0.05)
    assert fit_temperature(calibrated * 0.5, ages, 3) == pytest.approx(0.5, rel=0.05)
    with pytest.raises(ValueError):
        fit_temperature(np.zeros((0, 6)), np.zeros(0), 0)


def test_softmax_temperature_spreads_without_moving_the_mode():
    logits = np.array([[1.0, 3.0, 2.0]])
    hot = softmax(logits, 4.0)
    assert hot.argmax() == softmax(logits).argmax() == 1
    assert hot.max() < softmax(logits).max()
    np.testing.assert_allclose(softmax(logits, 2.0), softmax(logits / 2.0))


class _LeftRight(nn.Module):
    """Logits (0, ln 3) when the left column is brighter than the right, else (ln 3, 0): not symmetric."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        left = images[..., 0].mean(dim=(1, 2)) > images[..., -1].mean(dim=(1, 2))
        a = torch.tensor([0.0, math.log(3.0)])
        return torch.where(left[:, None], a, a.flip(0))


def test_flip_averaging_is_the_mean_of_the_two_distributions():
    images = torch.zeros(1, 3, 4, 4)
    images[..., 0] = 1.0
    plain = age_log_probs(_LeftRight(), images).exp()
    torch.testing.assert_close(plain, torch.tensor([[0.25, 0.75]]))
    averaged = age_log_probs(_LeftRight(), images, flip=True).exp()
    torch.testing.assert_close(averaged, torch.tensor([[0.5, 0.5]]))  # (1/4 + 3/4) / 2 each


def test_age_estimates_by_hand():
    from agelab.models.age_distribution import AgeEstimates

    log_probs = np.log(np.array([[0.25, 0.5, 0.25], [0.0625, 0.0625, 0.875]]))
    estimates = AgeEstimates.from_log_probs(log_probs, 10, 1.0)
    np.testing.assert_allclose(estimates.age, [11.0, 10 * 0.0625 + 11 * 0.0625 + 12 * 0.875])
    second = 12 * 0.875 + 11 * 0.0625 + 10 * 0.0625
    variance = 0.0625 * (10 - second) ** 2 + 0.0625 * (11 - second) ** 2 + 0.875 * (12 - second) ** 2
    np.testing.assert_allclose(estimates.std, [np.sqrt(0.5), np.sqrt(variance)])
    # (lows, highs): row one's cdf 0.25 0.75 1 reaches 0.25 at 10 and 0.75 at 11; row two's only at 12
    assert [v.tolist() for v in estimates.intervals[0.5]] == [[10, 12], [11, 12]]
    hot = AgeEstimates.from_log_probs(log_probs, 10, 1e6)  # near uniform: the 80 % interval spans all three
    np.testing.assert_allclose(hot.age, estimates.age)  # the temperature never moves the age
    assert [v.tolist() for v in hot.intervals[0.8]] == [[10, 10], [12, 12]]
    empty = AgeEstimates.empty()
    assert len(empty.age) == 0 and set(empty.intervals) == {0.5, 0.8}


def test_large_logits_stay_finite_and_each_face_is_normalised_on_its_own():
    """The max is subtracted before exp (1000-logit faces do not overflow), and each row's normaliser is its
    own: two faces' NLL is the mean of their single-face NLLs."""
    logits = np.array([[1000.0, 1000.0 + math.log(3.0)], [0.0, 5.0]])
    probs = softmax(logits)
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs[0], [0.25, 0.75])
    np.testing.assert_allclose(probs.sum(axis=1), [1.0, 1.0])
    ages = np.array([1.0, 0.0])
    both = negative_log_likelihood(logits, ages, 0, 1.0)
    one = [negative_log_likelihood(logits[i : i + 1], ages[i : i + 1], 0, 1.0) for i in range(2)]
    assert both == pytest.approx(np.mean(one)) and both == pytest.approx(
        (-math.log(0.75) + math.log1p(math.exp(5.0))) / 2
    )


def test_central_interval_cuts_the_tails_at_half_the_missing_mass():
    """At 50 %: the lower cut is where the cdf reaches 0.25 (not 1/6, not 0.5)."""
    probs = np.array([[0.2, 0.1, 0.4, 0.3]])  # cdf 0.2 0.3 0.7 1.0
    low, high = central_interval(probs, 0, 0.5)
    assert (low[0], high[0]) == (1, 3)  # 0.25 reached at age 1; 0.75 at age 3
    low, _ = central_interval(np.array([[0.18, 0.1, 0.42, 0.3]]), 0, 0.6)  # 0.2 reached at age 1, not 0
    assert low[0] == 1


def test_coverage_of_no_faces_is_undefined_not_zero():
    assert math.isnan(coverage(np.array([]), np.array([]), np.array([])))


def test_std_of_an_almost_one_hot_distribution_is_zero_not_nan():
    # all mass on age 89 but e^-36.5 on age 85: E[a²] − E[a]² rounds to −9e-13 in float64, which the clip
    # must turn into 0 before the square root (measured; without it the std is NaN)
    log_probs = np.full((1, 117), -1e4)
    log_probs[0, 89] = 0.0
    log_probs[0, 85] = -36.48688758794882
    estimates = AgeEstimates.from_log_probs(log_probs, 0, 1.0)
    assert estimates.std[0] == 0.0
    assert estimates.age[0] == pytest.approx(89.0)


def test_empty_estimates_have_no_faces_in_every_field():
    empty = AgeEstimates.empty()
    assert empty.age.shape == empty.std.shape == (0,)
    assert set(empty.intervals) == set(INTERVAL_LEVELS)
    assert all(low.shape == high.shape == (0,) for low, high in empty.intervals.values())


def test_temperature_fits_stop_at_the_search_bounds():
    # confidently wrong on every face: the NLL keeps falling as T grows, so the fit ends at the upper bound
    wrong = np.array([[30.0, 0.0, 0.0], [0.0, 30.0, 0.0]])
    assert fit_temperature(wrong, np.array([2, 2]), 0) == pytest.approx(20.0, rel=1e-3)
    # right on every face: the NLL keeps falling as T shrinks, so the fit ends at the lower bound
    right = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert fit_temperature(right, np.array([0, 1]), 0) == pytest.approx(0.05, rel=1e-3)
