import warnings

import numpy as np
import pytest

from agelab.evaluation.age_groups import (
    GROUP_LABELS,
    GroupPhotoFaces,
    age_group_index,
    group_photo_metrics,
    match_by_eyes,
)


def test_ages_fall_in_the_seven_iog_groups():
    ages = np.array([0, 2, 2.6, 7, 8, 12, 13, 19, 20, 36, 37, 65, 66, 90])
    expected = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    assert age_group_index(ages).tolist() == expected
    assert GROUP_LABELS == ("0-2", "3-7", "8-12", "13-19", "20-36", "37-65", "66+")


def test_eyes_match_the_nearest_containing_box_once():
    boxes = np.array([[0, 0, 20, 20], [5, 5, 25, 25], [100, 100, 120, 120]], float)
    eyes = np.array([[14, 14], [6, 6], [300, 300]], float)
    # face 0's nearest centre is box 1 (15, 15); face 1 then takes box 0; face 2 is in no box
    assert match_by_eyes(boxes, eyes).tolist() == [1, 0, -1]


def test_accuracy_one_off_gender_and_misses():
    photo = GroupPhotoFaces(
        boxes=np.array([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]], float),
        ages=np.array([30.0, 50.0, 5.0]),  # groups 4, 5, 1
        male_probability=np.array([0.9, 0.2, 0.7]),
        eye_midpoints=np.array([[5, 5], [25, 5], [45, 5], [200, 200]], float),
        true_groups=np.array([4, 4, 1, 3]),
        true_genders=np.array([1, 0, 0, 1]),
    )
    metrics, table = group_photo_metrics([photo])
    assert metrics["faces"] == 4 and metrics["matched_faces"] == 3
    assert metrics["age_group_accuracy"] == pytest.approx(2 / 4)
    assert metrics["one_off_accuracy"] == pytest.approx(3 / 4)  # the unmatched face counts as wrong
    assert metrics["gender_accuracy"] == pytest.approx(2 / 4)
    assert table.loc["age", "20-36"] == pytest.approx(50.0)
    assert table.loc["faces", "20-36"] == 2


def test_a_model_without_gender_has_no_gender_accuracy():
    photo = GroupPhotoFaces(
        np.array([[0, 0, 10, 10]], float),
        np.array([30.0]),
        np.array([np.nan]),
        np.array([[5, 5]], float),
        np.array([4]),
        np.array([1]),
    )
    metrics, _ = group_photo_metrics([photo])
    assert metrics["age_group_accuracy"] == 1.0 and np.isnan(metrics["gender_accuracy"])


def test_eyes_on_the_box_edge_are_inside_and_beside_it_outside():
    boxes = np.array([[10, 20, 30, 60]], float)
    edges = np.array([[10, 40], [30, 40], [20, 20], [20, 60]], float)
    for point in edges:
        assert match_by_eyes(boxes, point[None]).tolist() == [0], point
    for point in [[5, 40], [35, 40], [20, 15], [20, 65], [5, 15], [35, 65]]:
        assert match_by_eyes(boxes, np.array([point], float)).tolist() == [-1], point
    assert match_by_eyes(np.zeros((0, 4)), np.array([[1.0, 1.0]])).tolist() == [-1]
    assert match_by_eyes(boxes, np.zeros((0, 2))).tolist() == []


def test_the_nearest_box_centre_wins_and_each_box_serves_one_face():
    # two boxes hold the eyes; box 1's centre (30, 30) is nearer than the tall box 0's (20, 50)
    boxes = np.array([[0, 0, 40, 100], [20, 20, 40, 40]], float)
    assert match_by_eyes(boxes, np.array([[28.0, 33.0]])).tolist() == [1]
    assert match_by_eyes(boxes, np.array([[21.0, 45.0]])).tolist() == [0]
    # a face keeps its first (nearest) box; a second face in the same single box stays unmatched
    one = np.array([[0, 0, 10, 10]], float)
    assert match_by_eyes(one, np.array([[5.0, 5.0], [6.0, 6.0]])).tolist() == [0, -1]
    assert match_by_eyes(boxes[::-1], np.array([[28.0, 33.0]])).tolist() == [0]


def _table_row(table, row):
    return [table.loc[row, label] for label in GROUP_LABELS]


def test_group_metrics_and_the_per_group_table_by_hand():
    photo = GroupPhotoFaces(
        boxes=np.array([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10]], float),
        ages=np.array([30.0, 50.0, 5.0, 70.0]),  # groups 4, 5, 1, 6
        male_probability=np.array([0.5, 0.2, 0.7, 0.4]),  # 0.5 counts as male
        eye_midpoints=np.array([[5, 5], [25, 5], [45, 5], [65, 5], [200, 200]], float),
        true_groups=np.array([4, 3, 2, 6, 4]),  # exact, two off, one off, exact, unmatched
        true_genders=np.array([1, 0, 0, -1, 1]),  # the fourth face's gender is unknown
    )
    metrics, table = group_photo_metrics([photo])
    assert metrics == pytest.approx(
        {
            "faces": 5,
            "matched_faces": 4,
            "age_group_accuracy": 2 / 5,
            "one_off_accuracy": 3 / 5,
            "gender_accuracy": 2 / 4,  # right on faces 0 and 1, wrong on 2 and on the unmatched one
        }
    )
    nan = float("nan")
    assert list(table.index) == ["faces", "age", "1-off", "gender"]
    assert _table_row(table, "faces") == [0, 0, 1, 1, 2, 0, 1]
    np.testing.assert_array_equal(_table_row(table, "age"), [nan, nan, 0, 0, 50, nan, 100])
    np.testing.assert_array_equal(_table_row(table, "1-off"), [nan, nan, 100, 0, 50, nan, 100])
    np.testing.assert_array_equal(_table_row(table, "gender"), [nan, nan, 0, 100, 50, nan, nan])


def test_a_model_that_calls_everyone_female_still_has_a_gender_accuracy():
    photo = GroupPhotoFaces(
        np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float),
        np.array([30.0, 31.0]),
        np.array([0.1, 0.2]),
        np.array([[5, 5], [25, 5]], float),
        np.array([4, 4]),
        np.array([0, 1]),
    )
    metrics, table = group_photo_metrics([photo])
    assert metrics["gender_accuracy"] == 0.5 and table.loc["gender", "20-36"] == 50.0


def test_no_photos_give_no_faces_and_undefined_accuracies():
    metrics, table = group_photo_metrics([])
    assert metrics["faces"] == 0 and metrics["matched_faces"] == 0
    for key in ("age_group_accuracy", "one_off_accuracy", "gender_accuracy"):
        assert np.isnan(metrics[key]), key
    assert (table.loc["faces"] == 0).all() and table.drop("faces").isna().all().all()


def test_nearest_centre_uses_the_box_midpoint():
    # eyes at (49, 49) lie in A = (0, 0, 100, 100), centre (50, 50), distance √2, and in B = (40, 40, 50, 50),
    # centre (45, 45), distance √32: A wins
    square = np.array([[0, 0, 100, 100], [40, 40, 50, 50]], float)
    assert match_by_eyes(square, np.array([[49.0, 49.0]])).tolist() == [0]
    # eyes at (62, 100) lie in C = (0, 50, 100, 150), centre (50, 100), distance 12, and in
    # D = (60, 90, 80, 110), centre (70, 100), distance 8: D wins
    offset = np.array([[0, 50, 100, 150], [60, 90, 80, 110]], float)
    assert match_by_eyes(offset, np.array([[62.0, 100.0]])).tolist() == [1]


def test_gender_accuracy_counts_agreements_not_disagreements():
    # three matched faces: male probabilities 0.9, 0.8, 0.1 → male, male, female; truth male, male, male
    photo = GroupPhotoFaces(
        np.array([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]], float),
        np.array([30.0, 30.0, 30.0]),
        np.array([0.9, 0.8, 0.1]),
        np.array([[5, 5], [25, 5], [45, 5]], float),
        np.array([4, 4, 4]),
        np.array([1, 1, 1]),
    )
    metrics, table = group_photo_metrics([photo])
    assert metrics["gender_accuracy"] == pytest.approx(2 / 3)
    assert table.loc["gender", "20-36"] == pytest.approx(200 / 3)


def test_empty_groups_and_no_photos_are_nan_without_a_runtime_warning():
    photo = GroupPhotoFaces(
        np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float),
        np.array([30.0, 50.0]),
        np.array([0.9, np.nan]),  # the second face's detection has no gender
        np.array([[5, 5], [25, 5]], float),
        np.array([4, 5]),
        np.array([1, -1]),  # and its true gender is unknown: group 37-65 has no gender to score
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a mean over no faces would warn "Mean of empty slice"
        metrics, table = group_photo_metrics([photo])
        empty, empty_table = group_photo_metrics([])
    assert metrics["age_group_accuracy"] == 1.0 and metrics["gender_accuracy"] == 1.0
    nan = float("nan")
    np.testing.assert_array_equal(_table_row(table, "age"), [nan, nan, nan, nan, 100, 100, nan])
    np.testing.assert_array_equal(_table_row(table, "gender"), [nan, nan, nan, nan, 100, nan, nan])
    assert all(np.isnan(empty[key]) for key in ("age_group_accuracy", "one_off_accuracy", "gender_accuracy"))
    assert empty_table.drop("faces").isna().all().all()
