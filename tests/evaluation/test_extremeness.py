import numpy as np
import pytest

from agelab.evaluation.extremeness import (
    equal_groups,
    expression_extremeness,
    group_differences,
    pose_extremeness,
)


@pytest.mark.parametrize("n, k", [(100, 5), (101, 5), (7, 7), (53, 4)])
def test_groups_have_equal_sizes_and_monotone_metric(n, k):
    metric = np.random.default_rng(n).normal(size=n)
    groups = equal_groups(metric, k)
    sizes = np.bincount(groups, minlength=k)
    assert sizes.max() - sizes.min() <= 1
    assert sizes.sum() == n
    for g in range(k - 1):
        assert metric[groups == g].max() <= metric[groups == g + 1].min()


def test_ties_are_split_to_keep_sizes_equal():
    groups = equal_groups(np.zeros(10), 5)
    assert np.bincount(groups).tolist() == [2, 2, 2, 2, 2]


def test_too_few_values_or_bad_metric_are_refused():
    with pytest.raises(ValueError, match="cannot cut"):
        equal_groups(np.arange(3.0), 5)
    with pytest.raises(ValueError, match="non-finite"):
        equal_groups(np.array([1.0, np.nan, 2.0]), 2)


def test_extremeness_metrics():
    omega = np.array([[0.0, 0.0, 0.0], [0.1, -0.7, 0.2], [0.0, 0.3, -0.4]])
    np.testing.assert_allclose(pose_extremeness(omega), [0.0, 0.7, 0.4])
    delta = np.zeros((2, 64))
    delta[1, :4] = [3.0, 4.0, 0.0, 0.0]
    np.testing.assert_allclose(expression_extremeness(delta), [0.0, 5.0])


def test_group_differences_recover_an_improvement_that_grows_with_extremeness():
    rng = np.random.default_rng(0)
    metric = rng.uniform(0, 1, 500)
    reference = 5 + 4 * metric + rng.normal(0, 0.5, 500)  # worse on extreme faces
    model = 5 + 1 * metric + rng.normal(0, 0.5, 500)
    table = group_differences(metric, reference, model, 5)
    assert table["images"].tolist() == [100] * 5
    assert np.all(np.diff(table["metric_mean"]) > 0)
    assert np.all(np.diff(table["mae_difference"]) < 0)  # the gain grows group by group
    assert table["p_value"].iloc[-1] < 1e-6
    assert table["p_vs_least"].iloc[-1] < 1e-6  # and the most extreme group's gain is larger than the least's
    np.testing.assert_allclose(
        table["mae_difference"], table["mae_model"] - table["mae_reference"], atol=1e-12
    )


def test_equal_groups_by_hand_with_ties_kept_in_position_order():
    metric = np.array([0.9, 0.1, 0.5, 0.1, 0.7, 0.3, 0.1])
    # ranks 6 0 4 1 5 3 2 -> (rank · 3) // 7
    assert equal_groups(metric, 3).tolist() == [2, 0, 1, 0, 2, 1, 0]
    assert equal_groups(metric, 1).tolist() == [0] * 7
    assert equal_groups(np.arange(4.0), 4).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="at least 1"):
        equal_groups(metric, 0)
    with pytest.raises(ValueError, match="non-finite"):
        equal_groups(np.array([1.0, np.inf]), 1)


def test_group_differences_table_by_hand():
    from agelab.evaluation.significance import compare_paired

    metric = [0.4, 0.1, 0.3, 0.2]  # groups: {0.1, 0.2} and {0.3, 0.4}
    reference = [8.0, 1.0, 6.0, 3.0]
    model = [4.0, 2.0, 5.0, 1.0]
    table = group_differences(metric, reference, model, 2)
    assert table["group"].tolist() == [1, 2]
    assert table["images"].tolist() == [2, 2]
    np.testing.assert_allclose(table["metric_min"], [0.1, 0.3])
    np.testing.assert_allclose(table["metric_max"], [0.2, 0.4])
    np.testing.assert_allclose(table["metric_mean"], [0.15, 0.35])
    np.testing.assert_allclose(table["mae_reference"], [2.0, 7.0])
    np.testing.assert_allclose(table["mae_model"], [1.5, 4.5])
    np.testing.assert_allclose(table["mae_difference"], [-0.5, -2.5])
    expected_p = compare_paired([1.0, 3.0], [2.0, 1.0]).p_value
    assert table["p_value"].iloc[0] == pytest.approx(expected_p)
    assert table["p_value"].iloc[1] == pytest.approx(compare_paired([6.0, 8.0], [5.0, 4.0]).p_value)
    assert table["p_value"].iloc[0] != pytest.approx(table["p_value"].iloc[1])
    # group 2's per-image differences (-4, -1) against group 1's (+1, -2): Welch t = -2 / √(4.5/2 + 4.5/2)
    # = -0.9428 on 2 degrees of freedom, two-sided p = 1 - |t| / √(t² + 2) = 0.4453
    assert np.isnan(table["p_vs_least"].iloc[0])
    assert table["p_vs_least"].iloc[1] == pytest.approx(0.4453, abs=1e-4)


def test_extremeness_of_integer_input_and_of_negative_angles():
    np.testing.assert_allclose(pose_extremeness(np.array([[0, -2, 1]])), [2.0])
    np.testing.assert_allclose(expression_extremeness(np.array([[3, 4]])), [5.0])
    np.testing.assert_allclose(pose_extremeness(np.array([[-0.5, 0.2, -0.1]])), [0.5])


def test_many_ties_are_ranked_by_position():
    # ten 1s at the even positions, ten 0s at the odd ones: stable ranks give the 0s ranks 0..9 and the 1s
    # 10..19 in position order; 4 groups → group = rank · 4 // 20 = rank // 5
    groups = equal_groups(np.array([1.0, 0.0] * 10), 4)
    assert groups.tolist() == [2, 0] * 5 + [3, 1] * 5


def test_extremeness_of_a_single_face_is_a_scalar():
    # one ω (3,) and one δ (64,): the last axis is the vector's, there is no row axis
    assert pose_extremeness(np.array([0.1, -0.7, 0.2])) == pytest.approx(0.7)
    delta = np.zeros(64)
    delta[:2] = [3.0, 4.0]
    assert expression_extremeness(delta) == pytest.approx(5.0)


def test_expression_extremeness_of_float32_coefficients_is_computed_in_float64():
    """The 3D subnet's δ is float32. For δ = (1, ε), ε = float32(1e-4) ≈ 9.99999975e-5, ‖δ‖ = √(1 + ε²)
    = 1 + ε²/2 ≈ 1 + 5.0e-9 in float64; in float32 1 + ε² rounds to 1 and the norm would be exactly 1."""
    delta = np.array([[1.0, 1e-4], [3.0, 4.0]], np.float32)
    extremeness = expression_extremeness(delta)
    assert extremeness[0] - 1 == pytest.approx(4.99999975e-9, rel=1e-6)
    assert extremeness[1] == 5.0


def test_a_gain_equal_in_every_group_is_not_different_from_the_least_extreme_groups():
    rng = np.random.default_rng(1)
    metric = rng.uniform(0, 1, 600)
    reference = 8 + rng.normal(0, 1.0, 600)
    model = reference - 0.5 + rng.normal(0, 1.0, 600)  # 0.5 better everywhere, whatever the pose
    table = group_differences(metric, reference, model, 3)
    assert (table["p_value"] < 1e-3).all()  # a gain in every group ...
    assert (table["p_vs_least"].iloc[1:] > 0.05).all()  # ... that does not grow
