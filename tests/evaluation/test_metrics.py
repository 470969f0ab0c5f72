import numpy as np
import pytest

from agelab.evaluation.metrics import age_report, cumulative_score, decade, median_baseline_mae


def test_known_answers():
    true = np.array([10.0, 20.0, 30.0, 40.0])
    predicted = np.array([12.0, 20.0, 35.0, 30.0])
    report = age_report(
        predicted, true, train_ages=np.array([25.0, 25.0, 99.0]), age_groups=np.array([0, 0, 1, 1])
    )
    assert report["mae"] == pytest.approx((2 + 0 + 5 + 10) / 4)
    assert report["median_baseline_mae"] == pytest.approx((15 + 5 + 5 + 15) / 4)
    assert report["cs_3"] == 0.5 and report["cs_5"] == 0.75 and report["cs_10"] == 1.0
    assert report["mae_by_age_group"] == {"0": {"mae": 1.0, "count": 2}, "1": {"mae": 7.5, "count": 2}}
    assert report["mae_by_decade"]["30-39"] == {"mae": 5.0, "count": 1}


def test_helpers():
    assert cumulative_score(np.array([1.0]), np.array([1.0]), 0) == 1.0
    assert median_baseline_mae(np.array([1, 2, 3]), np.array([2, 2])) == 0.0
    assert decade(np.array([0, 9.9, 10, 85])).tolist() == ["00-09", "00-09", "10-19", "80-89"]
