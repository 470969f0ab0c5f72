import math

import numpy as np
import pytest

from agelab.evaluation.significance import compare_paired, compare_runs, format_p_value, shapiro_wilk


def test_identical_run_samples_give_p_one():
    mae = np.array([5.86, 5.90, 5.82, 5.88, 5.84])
    result = compare_runs(mae, mae.copy())
    assert result.test == "Welch t"
    assert result.p_value == pytest.approx(1.0)
    assert result.mean_difference == 0.0


def test_shifted_run_samples_give_small_p_and_the_sign_of_the_shift():
    rng = np.random.default_rng(0)
    a = 5.86 + 0.04 * rng.standard_normal(5)
    b = a - 0.39 + 0.03 * rng.standard_normal(5)  # SPS vs appearance in Table 4
    result = compare_runs(a, b)
    assert result.normality == "normal"
    assert result.p_value < 1e-4
    assert result.mean_difference == pytest.approx(b.mean() - a.mean())
    assert result.mean_difference < 0


def test_welch_matches_the_textbook_formula():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 8.0, 10.0])
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (b.mean() - a.mean()) / math.sqrt(va + vb)
    assert compare_runs(a, b).statistic == pytest.approx(t)


def test_non_normal_runs_fall_back_to_mann_whitney():
    a = np.array([5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 9.0])  # one outlier: Shapiro–Wilk rejects
    b = np.array([6.0, 6.1, 6.2, 6.3, 6.4, 6.5, 6.6, 6.7])
    result = compare_runs(a, b)
    assert result.normality == "rejected"
    assert result.test == "Mann-Whitney U"
    assert result.alternative_test == "Welch t"


def test_two_runs_are_compared_without_a_normality_test():
    result = compare_runs(np.array([5.0, 5.2]), np.array([6.0, 6.3]))
    assert result.normality == "untested"
    assert math.isnan(result.normality_p_a)
    assert 0 < result.p_value < 1


def test_constant_samples_have_defined_p_values():
    assert compare_runs(np.array([5.0, 5.0]), np.array([5.0, 5.0])).p_value == 1.0
    assert compare_runs(np.array([5.0, 5.0]), np.array([6.0, 6.0])).p_value == 0.0


def test_one_run_is_refused():
    with pytest.raises(ValueError, match="at least 2 runs"):
        compare_runs(np.array([5.0]), np.array([6.0, 6.1]))


def test_paired_identical_errors_give_p_one():
    errors = np.random.default_rng(1).exponential(6.0, 300)
    result = compare_paired(errors, errors.copy())
    assert result.p_value == 1.0
    assert result.alternative_p_value == 1.0


def test_paired_shift_is_detected_even_when_unpaired_spread_hides_it():
    rng = np.random.default_rng(2)
    a = rng.exponential(8.0, 400)
    b = a - 0.3 + 0.2 * rng.standard_normal(400)  # a small, consistent improvement per image
    paired = compare_paired(a, b)
    assert paired.test == "paired t"
    assert paired.p_value < 1e-10
    assert paired.alternative_p_value < 1e-10
    assert compare_runs(a, b).p_value > 0.05  # unpaired, the per-image spread swamps it


def test_paired_needs_equal_lengths():
    with pytest.raises(ValueError, match="same length"):
        compare_paired(np.ones(3), np.ones(4))


def test_shapiro_wilk_accepts_normal_and_rejects_skewed_samples():
    rng = np.random.default_rng(3)
    assert shapiro_wilk(rng.standard_normal(200)).p_value > 0.01
    assert shapiro_wilk(rng.exponential(1.0, 200)).p_value < 1e-6
    assert math.isnan(shapiro_wilk(np.array([1.0, 2.0])).p_value)


def test_p_values_are_written_as_the_paper_writes_them():
    assert format_p_value(2.70e-5) == "2.70e-5"
    assert format_p_value(0.0312) == "0.031"
    assert format_p_value(float("nan")) == "n/a"
