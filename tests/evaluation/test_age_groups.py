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
