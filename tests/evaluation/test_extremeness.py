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
    np.testing.assert_allclose(
        table["mae_difference"], table["mae_model"] - table["mae_reference"], atol=1e-12
    )
