import warnings

import numpy as np
import pytest

from agelab.evaluation.detection import (
    SIZE_BUCKETS,
    ImageDetections,
    average_precision,
    interpolated_average_precision,
    precision_recall,
    wider_face_evaluation,
)

TRUTH = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
T1, T2 = [0, 0, 40, 40], [100, 100, 140, 140]


def test_perfect_detections_give_ap_one():
    result = average_precision([ImageDetections(TRUTH, np.array([0.9, 0.8]), TRUTH)])
    assert result["ap"] == pytest.approx(1.0) and result["recall"] == 1.0


def test_tp_fp_tp_gives_hand_computed_precision_recall_and_all_point_ap():
    boxes = np.array([T1, [200, 200, 240, 240], T2], float)
    image = ImageDetections(boxes, np.array([0.9, 0.8, 0.7]), np.array([T1, T2], float))
    precision, recall, faces, ignored = precision_recall([image])
    # ranks: 0.9 TP (1/1, 1/2), 0.8 FP (1/2, 1/2), 0.7 TP (2/3, 2/2)
    np.testing.assert_allclose(precision, [1.0, 0.5, 2 / 3])
    np.testing.assert_allclose(recall, [0.5, 0.5, 1.0])
    assert (faces, ignored) == (2, 0)
    # envelope max_{r' ≥ r} p: 1 at r = 0.5, 2/3 at r = 1 → AP = 0.5·1 + 0.5·2/3 = 5/6
    # (VOC2007's 11-point rule would give (6·1 + 5·2/3) / 11 = 0.8485)
    result = average_precision([image])
    assert result["ap"] == pytest.approx(5 / 6)
    assert result["recall"] == 1.0 and result["detections"] == 3


def test_interpolation_lifts_precision_to_the_best_at_higher_recall():
    # FP, TP, TP over 2 faces: p = 0, 1/2, 2/3 at r = 0, 1/2, 1; the envelope is 2/3 everywhere, so
    # AP = 1/2·2/3 + 1/2·2/3 = 2/3 (the raw curve's area would be 1/2·1/2 + 1/2·2/3 = 7/12)
    assert interpolated_average_precision(np.array([0, 0.5, 2 / 3]), np.array([0, 0.5, 1])) == pytest.approx(
        2 / 3
    )
    boxes = np.array([[200, 200, 240, 240], T1, T2], float)
    image = ImageDetections(boxes, np.array([0.9, 0.8, 0.7]), np.array([T1, T2], float))
    assert average_precision([image])["ap"] == pytest.approx(2 / 3)


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


def test_a_duplicate_whose_best_truth_is_taken_is_false_positive_not_rematched():
    a, b = [0, 0, 10, 10], [5, 0, 15, 10]
    # the second detection overlaps a by 80/120 = 0.667 (its best) and b by 70/130 = 0.538 ≥ 0.5:
    # VOC assigns it to a, already matched → FP; re-matching it to b would give AP 1, recall 1
    boxes = np.array([a, [2, 0, 12, 10]], float)
    image = ImageDetections(boxes, np.array([0.9, 0.8]), np.array([a, b], float))
    precision, recall, _, _ = precision_recall([image])
    np.testing.assert_allclose(precision, [1.0, 0.5])
    np.testing.assert_allclose(recall, [0.5, 0.5])
    assert average_precision([image])["ap"] == pytest.approx(0.5)  # 0.5 · 1


def test_ignore_boxes_affect_nothing():
    invalid, unfound = [300, 300, 340, 340], [400, 400, 440, 440]
    truth = np.array([T1, invalid, unfound], float)
    # 0.95 and 0.85 sit on the invalid box (a duplicate there is ignored too), 0.9 finds T1
    boxes = np.array([invalid, T1, [301, 300, 341, 340]], float)
    scores = np.array([0.95, 0.9, 0.85])
    image = ImageDetections(boxes, scores, truth, np.array([False, True, True]))
    result = wider_face_evaluation([image])
    # only 0.9 is scored: p = 1 at r = 1/1 → AP 1, recall 1 (were the two invalid boxes faces: recall 2/3;
    # were they dropped, 0.95 and 0.85 would be FPs ranked around the TP: AP 1/2)
    assert result["ap"] == pytest.approx(1.0) and result["recall"] == 1.0
    assert (result["faces"], result["detections"]) == (1, 1)
    assert (result["ignored_faces"], result["ignored_detections"]) == (2, 2)
    alone = average_precision([ImageDetections(boxes[1:2], scores[1:2], truth[:1])])
    assert {k: alone[k] for k in ("ap", "recall", "faces")} == {
        k: result[k] for k in ("ap", "recall", "faces")
    }


def test_size_buckets_by_height_ignore_the_other_sizes():
    large, medium, small = [0, 0, 40, 40], [100, 100, 120, 120], [200, 200, 210, 210]  # h = 40, 20, 10
    small_fp, large_fp = [300, 300, 310, 310], [400, 0, 450, 50]  # h = 10, 50; no truth near them
    boxes = np.array([small_fp, large, medium, small, large_fp], float)
    scores = np.array([0.95, 0.9, 0.8, 0.7, 0.6])
    result = wider_face_evaluation([ImageDetections(boxes, scores, np.array([large, medium, small], float))])
    # overall: FP TP TP TP FP; p = 0, 1/2, 2/3, 3/4, 3/5 at r = 0, 1/3, 2/3, 1, 1 → AP = 3/4
    assert result["ap"] == pytest.approx(0.75) and result["faces"] == 3
    by_size = result["by_size"]
    assert set(by_size) == set(SIZE_BUCKETS) == {"large", "medium", "small"}
    # small: the 10 px truth only; the 10 px FP counts, the 50 px FP and detections on other faces do not:
    # FP TP → p = 0, 1/2 at r = 0, 1 → AP 1/2
    assert by_size["small"]["faces"] == 1 and by_size["small"]["ap"] == pytest.approx(0.5)
    assert (by_size["small"]["detections"], by_size["small"]["ignored_detections"]) == (2, 3)
    # medium: the 20 px face found with nothing else in range → AP 1
    assert by_size["medium"]["faces"] == 1 and by_size["medium"]["ap"] == pytest.approx(1.0)
    assert by_size["medium"]["detections"] == 1
    # large: TP then the 50 px FP → p = 1, 1/2 at r = 1, 1 → AP 1
    assert by_size["large"]["faces"] == 1 and by_size["large"]["ap"] == pytest.approx(1.0)
    assert by_size["large"]["detections"] == 2


def test_a_face_smaller_than_16_px_is_only_in_the_small_bucket_and_16_is_medium():
    tiny, sixteen = [0, 0, 15, 15], [100, 100, 116, 116]
    image = ImageDetections(np.array([tiny], float), np.array([0.9]), np.array([tiny, sixteen], float))
    by_size = wider_face_evaluation([image])["by_size"]
    assert by_size["small"]["faces"] == 1 and by_size["small"]["recall"] == 1.0
    assert by_size["medium"]["faces"] == 1 and by_size["medium"]["recall"] == 0.0  # the 16 px box
    assert by_size["medium"]["detections"] == 0  # the 15 px detection is on a face outside the bucket
    assert by_size["large"]["faces"] == 0 and np.isnan(by_size["large"]["ap"])


def test_more_than_twenty_detections_per_image_are_all_scored():
    truth = np.array([[40 * i, 0, 40 * i + 30, 30] for i in range(30)], float)
    scores = np.linspace(0.99, 0.5, 30)
    result = average_precision([ImageDetections(truth, scores, truth)])
    assert result["detections"] == 30 and result["recall"] == 1.0 and result["ap"] == pytest.approx(1.0)


def test_matches_are_per_image_and_ranked_over_the_set():
    # image 1: 0.9 TP; image 2: 0.8 FP (nothing there), 0.7 TP → same curve as the one-image TP FP TP case
    first = ImageDetections(np.array([T1], float), np.array([0.9]), np.array([T1], float))
    second = ImageDetections(np.array([T1, T2], float), np.array([0.8, 0.7]), np.array([T2], float))
    assert average_precision([first, second])["ap"] == pytest.approx(5 / 6)


def test_no_faces_gives_nan_and_no_detections_gives_zero():
    assert np.isnan(average_precision([ImageDetections(TRUTH, np.ones(2), np.zeros((0, 4)))])["ap"])
    empty = average_precision([ImageDetections(np.zeros((0, 4)), np.zeros(0), TRUTH)])
    assert empty["ap"] == 0.0 and empty["recall"] == 0.0 and empty["faces"] == 2


def test_detections_are_ranked_by_score_over_images_and_ignored_ones_are_summed():
    inv1, inv2, far = [300, 300, 340, 340], [500, 500, 540, 540], [200, 200, 240, 240]
    # image 1: 0.7 finds T1, 0.6 sits on an ignored box; image 2: 0.9 finds T2, 0.8 finds nothing, 0.95 sits
    # on an ignored box. Given order TP(0.7), TP(0.9), FP(0.8); ranked 0.9 TP, 0.8 FP, 0.7 TP
    first = ImageDetections(
        np.array([T1, inv1], float),
        np.array([0.7, 0.6]),
        np.array([T1, inv1], float),
        np.array([False, True]),
    )
    second = ImageDetections(
        np.array([T2, far, inv2], float),
        np.array([0.9, 0.8, 0.95]),
        np.array([T2, inv2], float),
        np.array([False, True]),
    )
    precision, recall, faces, ignored = precision_recall([first, second])
    np.testing.assert_allclose(precision, [1.0, 0.5, 2 / 3])
    np.testing.assert_allclose(recall, [0.5, 0.5, 1.0])
    assert (faces, ignored) == (2, 2)  # one ignored detection in each image


def test_precision_recall_and_average_precision_take_the_size_range():
    large, medium, small = [0, 0, 40, 40], [100, 100, 120, 120], [200, 200, 210, 210]
    small_fp, large_fp = [300, 300, 310, 310], [400, 0, 450, 50]
    boxes = np.array([small_fp, large, medium, small, large_fp], float)
    image = ImageDetections(
        boxes, np.array([0.95, 0.9, 0.8, 0.7, 0.6]), np.array([large, medium, small], float)
    )
    # small faces (h < 16): the 10 px FP (0.95) then the 10 px face (0.7): p = 0, 1/2 at r = 0, 1 → AP 1/2
    precision, recall, faces, ignored = precision_recall([image], size_range=SIZE_BUCKETS["small"])
    np.testing.assert_allclose(precision, [0.0, 0.5])
    np.testing.assert_allclose(recall, [0.0, 1.0])
    assert (faces, ignored) == (1, 3)
    result = average_precision([image], size_range=(0.0, 16.0))
    assert result["ap"] == pytest.approx(0.5) and result["faces"] == 1 and result["detections"] == 2


def test_size_buckets_are_half_open_and_keep_the_ignore_flags():
    face, flagged = [100, 100, 120, 120], [200, 200, 220, 220]  # both 20 px high: medium
    fp16, fp32 = [300, 300, 316, 316], [400, 400, 432, 432]  # unmatched, exactly 16 and 32 px high
    boxes = np.array([face, fp16, fp32, flagged], float)
    image = ImageDetections(
        boxes, np.array([0.9, 0.8, 0.7, 0.6]), np.array([face, flagged], float), np.array([False, True])
    )
    medium = wider_face_evaluation([image])["by_size"]["medium"]
    # medium = [16, 32): the flagged face stays ignored (1 face), the 16 px FP counts, the 32 px one and the
    # detection on the flagged face are ignored → TP, FP: p = 1, 1/2 at r = 1, 1 → AP 1
    assert medium["faces"] == 1 and medium["recall"] == 1.0 and medium["ap"] == pytest.approx(1.0)
    assert (medium["detections"], medium["ignored_detections"]) == (2, 2)
    large = wider_face_evaluation([image])["by_size"]["large"]
    assert (large["faces"], large["detections"]) == (0, 1)  # the 32 px FP belongs to [32, ∞)


def test_an_iou_of_exactly_the_threshold_is_a_match():
    # (0, 0, 10, 5) against (0, 0, 10, 10): intersection 50, union 100 → IoU 0.5
    image = ImageDetections(
        np.array([[0, 0, 10, 5]], float), np.array([0.9]), np.array([[0, 0, 10, 10]], float)
    )
    assert average_precision([image])["recall"] == 1.0


def test_scores_and_ignore_flags_of_any_shape_and_integer_flags_are_accepted():
    invalid, unfound = [300, 300, 340, 340], [400, 400, 440, 440]
    truth = np.array([T1, invalid, unfound], float)
    boxes = np.array([invalid, T1, [301, 300, 341, 340]], float)
    expected = {"ap": 1.0, "recall": 1.0, "faces": 1, "detections": 1, "ignored_detections": 2}  # as above
    column = ImageDetections(
        boxes, np.array([[0.95], [0.9], [0.85]]), truth, np.array([[False], [True], [True]])
    )
    assert average_precision([column]) == pytest.approx(expected)
    flags = ImageDetections(boxes, np.array([0.95, 0.9, 0.85]), truth, np.array([0, 1, 1]))
    assert average_precision([flags]) == pytest.approx(expected)


def test_no_face_to_find_gives_a_nan_recall_curve_without_a_warning():
    image = ImageDetections(np.array([T1, T2], float), np.array([0.9, 0.8]), np.zeros((0, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        precision, recall, faces, _ = precision_recall([image])
    assert faces == 0 and recall.dtype == np.float64 and np.isnan(recall).all()
    np.testing.assert_allclose(precision, [0.0, 0.0])


def test_equal_scores_are_ranked_in_input_order():
    # 8 faces, each detected twice by the same box; face i's pair scores 0.9 (even i) or 0.8 (odd i).
    # Within a pair the first detection is the TP and the second a duplicate FP, and equal scores keep
    # their order: TP, FP, TP, FP, ... → after k detections p = ⌈k/2⌉ / k and r = ⌈k/2⌉ / 8
    truth = np.array([[20 * i, 0, 20 * i + 10, 10] for i in range(8)], float)
    boxes = np.repeat(truth, 2, axis=0)
    scores = np.repeat([0.9, 0.8] * 4, 2)
    precision, recall, faces, _ = precision_recall([ImageDetections(boxes, scores, truth)])
    found = np.ceil(np.arange(1, 17) / 2)
    np.testing.assert_allclose(precision, found / np.arange(1, 17))
    np.testing.assert_allclose(recall, found / 8)
    assert faces == 8


def test_float32_boxes_are_matched_in_float64():
    # the detector's float32 boxes: (0, 0, 4097, 4099) in (0, 0, 8194, 4099) has IoU exactly 1/2
    # (4097·4099 / 8194·4099), a match. float32 would round the odd areas 16 793 603 and 33 587 206 (above
    # 2^24, spacing 2 and 4) up to 16 793 604 and 33 587 208 and put the IoU just below 0.5
    image = ImageDetections(
        np.array([[0, 0, 4097, 4099]], np.float32),
        np.array([0.9], np.float32),
        np.array([[0, 0, 8194, 4099]], np.float32),
    )
    assert average_precision([image]) == pytest.approx(
        {"ap": 1.0, "recall": 1.0, "faces": 1, "detections": 1, "ignored_detections": 0}
    )
