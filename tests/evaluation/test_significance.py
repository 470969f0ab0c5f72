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


def _nan_equal(result: dict, expected: dict) -> None:
    assert set(result) == set(expected)
    for key, value in expected.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(result[key]), key
        elif isinstance(value, float):
            assert result[key] == pytest.approx(value, rel=1e-9), key
        else:
            assert result[key] == value, key


def test_paired_comparison_in_full_by_hand():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    b = np.array([2.0, 2.0, 5.0, 4.0, 8.0, 10.0])
    d = b - a  # 1, 0, 2, 0, 3, 4: mean 5/3
    mean = d.mean()
    sd = math.sqrt(((d - mean) ** 2).sum() / 5)
    t = mean / (sd / math.sqrt(6))
    from scipy import stats

    shapiro = stats.shapiro(d).pvalue
    _nan_equal(
        compare_paired(a, b).to_dict(),
        {
            "test": "paired t",
            "statistic": t,
            "p_value": 2 * stats.t.sf(t, 5),
            "mean_difference": 10 / 6,
            "n_a": 6,
            "n_b": 6,
            "normality": "normal" if shapiro >= 0.05 else "rejected",
            "normality_p_a": shapiro,
            "normality_p_b": shapiro,
            "alternative_test": "Wilcoxon signed-rank",
            "alternative_p_value": stats.wilcoxon(d).pvalue,
        },
    )


def test_paired_comparison_drops_pairs_with_a_missing_error_and_takes_two_pairs():
    a = np.array([1.0, np.nan, 3.0, 5.0])
    b = np.array([2.0, 4.0, np.inf, 7.0])
    result = compare_paired(a, b)
    assert (result.n_a, result.n_b) == (2, 2)
    assert result.mean_difference == pytest.approx(1.5)
    assert result.normality == "untested" and math.isnan(result.normality_p_a)
    # differences 1 and 2: sd √0.5, t = 1.5 / (√0.5 / √2) = 3
    assert result.statistic == pytest.approx(3.0)
    with pytest.raises(ValueError, match="at least 2 paired"):
        compare_paired(np.array([1.0, np.nan]), np.array([2.0, 3.0]))


def test_paired_constant_differences_are_decided_without_a_test():
    worse = compare_paired(np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0, 5.0])).to_dict()
    _nan_equal(
        worse,
        {
            "test": "paired t",
            "statistic": math.inf,
            "p_value": 0.0,
            "mean_difference": 2.0,
            "n_a": 3,
            "n_b": 3,
            "normality": "untested",
            "normality_p_a": math.nan,
            "normality_p_b": math.nan,
            "alternative_test": "Wilcoxon signed-rank",
            "alternative_p_value": 0.0,
        },
    )
    better = compare_paired(np.array([3.0, 4.0, 5.0]), np.array([1.0, 2.0, 3.0]))
    assert better.statistic == -math.inf and better.p_value == 0.0
    same = compare_paired(np.array([3.0, 4.0]), np.array([3.0, 4.0]))
    assert (same.statistic, same.p_value, same.alternative_p_value) == (0.0, 1.0, 1.0)


def test_run_comparison_in_full_when_both_samples_look_normal():
    from scipy import stats

    a = np.array([5.0, 5.2, 5.1, 4.9, 5.05])
    b = np.array([4.6, 4.8, 4.75, 4.5, 4.7])
    welch = stats.ttest_ind(b, a, equal_var=False)
    _nan_equal(
        compare_runs(a, b).to_dict(),
        {
            "test": "Welch t",
            "statistic": float(welch.statistic),
            "p_value": float(welch.pvalue),
            "mean_difference": float(b.mean() - a.mean()),
            "n_a": 5,
            "n_b": 5,
            "normality": "normal",
            "normality_p_a": stats.shapiro(a).pvalue,
            "normality_p_b": stats.shapiro(b).pvalue,
            "alternative_test": "Mann-Whitney U",
            "alternative_p_value": stats.mannwhitneyu(b, a, alternative="two-sided").pvalue,
        },
    )


def test_run_comparison_in_full_when_normality_is_rejected():
    from scipy import stats

    a = np.array([5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 9.0])
    b = np.array([6.0, 6.1, 6.2, 6.3, 6.4, 6.5, 6.6, 6.7])
    result = compare_runs(a, b).to_dict()
    mann_whitney = stats.mannwhitneyu(b, a, alternative="two-sided")
    assert result["statistic"] == float(mann_whitney.statistic) == 56.0  # 8 × 7 fives beaten
    assert result["p_value"] == pytest.approx(mann_whitney.pvalue)
    assert result["alternative_p_value"] == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue)
    assert (result["n_a"], result["n_b"]) == (8, 8)
    assert result["mean_difference"] == pytest.approx(6.35 - 5.5)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_one_constant_sample_is_untested_but_still_compared():
    from scipy import stats

    a, b = np.array([5.0, 5.0, 5.0, 5.0]), np.array([5.5, 6.0, 6.2, 7.0])
    result = compare_runs(a, b)
    assert result.normality == "untested"  # b is tested, a (no spread) is not
    assert result.p_value == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue)
    assert 0 < result.p_value < 1
    identical = compare_runs(a, a.copy())
    assert identical.statistic == 0.0 and identical.p_value == 1.0


def test_shapiro_wilk_is_defined_from_three_values_with_any_spread():
    from scipy import stats

    three = shapiro_wilk(np.array([0.0, 0.5, 1.0, np.nan]))
    assert three.n == 3 and three.tested
    assert (three.statistic, three.p_value) == pytest.approx(tuple(stats.shapiro([0.0, 0.5, 1.0])))
    constant = shapiro_wilk(np.ones(4))
    assert constant.n == 4 and not constant.tested and math.isnan(constant.statistic)
    assert not shapiro_wilk(np.array([1.0, 2.0])).tested


def test_shapiro_wilk_subsamples_large_samples_deterministically():
    from scipy import stats

    x = np.random.default_rng(5).standard_normal(5001) ** 3
    result = shapiro_wilk(x)
    subsample = np.random.default_rng(0).choice(x, 5000, replace=False)
    assert result.n == 5000
    assert result.p_value == pytest.approx(stats.shapiro(subsample).pvalue, rel=1e-9)


def test_normality_is_rejected_strictly_below_alpha():
    from agelab.evaluation.significance import Normality

    assert not Normality(10, 0.9, 0.05).rejected(0.05)
    assert Normality(10, 0.9, 0.0499).rejected(0.05)
    assert not Normality(2, math.nan, math.nan).rejected(0.05)


def test_p_values_at_the_format_boundaries():
    assert format_p_value(1e-3) == "0.001"
    assert format_p_value(0.0) == "0"
    assert format_p_value(math.nan) == "n/a"


def test_constant_run_samples_give_defined_p_values_for_both_tests():
    # no spread in either sample: equal → p = 1, different → p = 0, for Welch and Mann–Whitney alike
    different = compare_runs(np.array([5.0, 5.0]), np.array([6.0, 6.0]))
    assert (different.p_value, different.alternative_p_value) == (0.0, 0.0)
    equal = compare_runs(np.array([5.0, 5.0, 5.0]), np.array([5.0, 5.0, 5.0]))
    assert (equal.p_value, equal.alternative_p_value) == (1.0, 1.0)


def test_paired_differences_far_from_normal_are_reported_as_rejected():
    rng = np.random.default_rng(4)
    a = rng.exponential(5.0, 200)
    b = a + rng.exponential(1.0, 200) ** 3  # skewed, heavy-tailed differences
    result = compare_paired(a, b)
    assert result.normality_p_a < 1e-6 and result.normality == "rejected"


def test_shapiro_wilk_subsample_is_seed_0_without_replacement():
    from scipy import stats

    # a normal sample: its W and p depend on exactly which 5000 of the 5001 values are kept
    x = np.random.default_rng(5).standard_normal(5001)
    expected = stats.shapiro(np.random.default_rng(0).choice(x, 5000, replace=False))
    result = shapiro_wilk(x)
    assert 0.05 < result.p_value < 0.95
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_paired_errors_given_as_lists_with_none_drop_the_missing_pairs():
    # None is a missing error like NaN: pairs 2 and 3 go, differences 1 and 2 remain → t = 3 (as above)
    result = compare_paired([1.0, None, 3.0, 5.0], [2.0, 4.0, None, 7.0])
    assert (result.n_a, result.n_b) == (2, 2)
    assert result.mean_difference == pytest.approx(1.5)
    assert result.statistic == pytest.approx(3.0)


def test_paired_nearly_constant_differences_keep_scipy_precision_warnings_quiet():
    import warnings

    # differences 1 or 1 + 2⁻⁵²: scipy's moments warn of catastrophic cancellation (a RuntimeWarning)
    b = np.array([1.0, 1.0 + 2**-52, 1.0, 1.0, 1.0 + 2**-52])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = compare_paired(np.zeros(5), b)
    assert result.test == "paired t" and result.mean_difference == pytest.approx(1.0)
    assert result.p_value < 1e-10
    # Wilcoxon, exact: all 5 differences positive, two-sided p = 2 / 2⁵
    assert result.alternative_p_value == pytest.approx(0.0625)


def test_shapiro_wilk_tests_a_sample_of_exactly_the_maximum_size_as_it_is():
    from scipy import stats

    x = np.random.default_rng(5).standard_normal(5000)
    expected = stats.shapiro(x)  # no subsample at n = SHAPIRO_MAX_N: the very same numbers
    result = shapiro_wilk(x)
    assert result.n == 5000
    assert (result.statistic, result.p_value) == (expected.statistic, expected.pvalue)
