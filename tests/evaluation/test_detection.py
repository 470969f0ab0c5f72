import numpy as np
import pytest

from agelab.evaluation.detection import ImageDetections, average_precision

TRUTH = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)


def test_perfect_detections_give_ap_one():
    result = average_precision([ImageDetections(TRUTH, np.array([0.9, 0.8]), TRUTH)])
    assert result["ap"] == pytest.approx(1.0) and result["recall"] == 1.0


def test_a_false_positive_above_a_true_one_halves_the_first_precision():
    boxes = np.array([[50, 50, 60, 60], [0, 0, 10, 10]], float)
    result = average_precision([ImageDetections(boxes, np.array([0.9, 0.8]), TRUTH)])
    # recall 0.5 is reached at precision 1/2; the second face is never found
    assert result["ap"] == pytest.approx(0.25)
    assert result["recall"] == pytest.approx(0.5)


def test_duplicates_count_once_and_low_iou_misses():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 26, 26]], float)
    result = average_precision([ImageDetections(boxes, np.array([0.9, 0.8, 0.7]), TRUTH)])
    assert result["recall"] == pytest.approx(0.5)  # IoU of the third with its face is 0.36 < 0.5
    assert result["ap"] == pytest.approx(0.5)


def test_no_faces_gives_nan():
    assert np.isnan(average_precision([ImageDetections(TRUTH, np.ones(2), np.zeros((0, 4)))])["ap"])
