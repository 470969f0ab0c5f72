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


def test_report_counts_faces_and_divides_by_the_baseline():
    from agelab.evaluation.metrics import mae_by, mean_absolute_error

    true, predicted = np.array([10, 20, 30, 40]), np.array([13, 20, 30, 40])  # integer arrays
    report = age_report(predicted, true, train_ages=np.array([20, 20, 30]))
    assert report["count"] == 4 and report["mae"] == 0.75
    assert report["median_baseline_mae"] == (10 + 0 + 10 + 20) / 4
    assert report["mae_vs_baseline"] == pytest.approx(0.75 / 10)
    assert mean_absolute_error([1], [2.5]) == 1.5 and cumulative_score([1], [2.5], 1.5) == 1.0
    by = mae_by(np.array([1.0, 5.0, 2.0]), np.array([0.0, 0.0, 0.0]), np.array(["b", "a", "b"]))
    assert list(by) == ["a", "b"] and by == {"a": {"mae": 5.0, "count": 1}, "b": {"mae": 1.5, "count": 2}}
    assert decade(np.array([9, 10, 99])).tolist() == ["00-09", "10-19", "90-99"]


def test_model_card_reports_cross_dataset_sets_and_interval_coverage():
    import pandas as pd

    from agelab.evaluation.model_card import model_card

    faces = pd.DataFrame({"age": [20.0, 30.0, 40.0], "split": ["train", "val", "test"], "dataset": "utkface"})
    base = {"mae": 5.0, "median_baseline_mae": 12.0, "cs_5": 0.6, "count": 1, "mae_by_decade": {}}
    report = {
        **base,
        "interval_coverage_50": 0.49,
        "interval_width_50": 7.0,
        "interval_coverage_80": 0.81,
        "interval_width_80": 15.5,
        "temperature": 1.25,
    }
    fgnet = {
        **base,
        "mae": 6.5,
        "count": 975,
        "mae_by_colour": {"colour": {"mae": 6.0, "count": 798}, "grayscale": {"mae": 8.75, "count": 177}},
        "interval_coverage_50": 0.4,
        "interval_width_50": 8.0,
        "interval_coverage_80": 0.7,
        "interval_width_80": 16.0,
    }
    card = model_card(
        name="m",
        faces=faces,
        report=report,
        history=[],
        training={},
        crop={"size": 128, "margin": 0.2, "aligned": True, "image_size": 112},
        device="cpu",
        stand_in_model=False,
        cross_reports={"fgnet": fgnet},
    )
    assert "| fgnet | 6.50 | 0.600 | 975 | 6.00 (798) | 8.75 (177) |" in card
    assert "T = 1.250" in card
    assert (
        "| test split | 49.0% | 7.0 | 81.0% | 15.5 |" in card
        and "| fgnet | 40.0% | 8.0 | 70.0% | 16.0 |" in card
    )
    assert "aligned by a similarity transform" in card
    # 70 % is 10 points under the nominal 80 %: named; the test split's 81 % is not
    assert "on fgnet (70.0% inside the 80 % interval) the intervals are too narrow" in card
    assert "the test split (" not in card
    borderline = {**fgnet, "interval_coverage_80": 0.76}  # 4 points short: within the tolerance
    card = model_card(
        name="m",
        faces=faces,
        report=report,
        history=[],
        training={},
        crop={"size": 128, "margin": 0.2, "image_size": 112},
        device="cpu",
        stand_in_model=False,
        cross_reports={"fgnet": borderline},
    )
    assert "too narrow" not in card
    plain = model_card(
        name="m",
        faces=faces,
        report=base,
        history=[],
        training={},
        crop={"size": 128, "margin": 0.2, "image_size": 112},
        device="cpu",
        stand_in_model=False,
    )
    assert (
        "never trained on" not in plain
        and "Age intervals" not in plain
        and "centred on the face box" in plain
    )
