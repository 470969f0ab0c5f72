import numpy as np
import torch

from agelab.detection.boxes import (
    box_areas,
    crop_regions,
    largest_box_index,
    match_to_truth,
    suppress_duplicates,
)


def test_crop_regions_add_20_percent_above_and_10_percent_elsewhere():
    regions = crop_regions(torch.tensor([[100.0, 200.0, 200.0, 400.0]]))
    torch.testing.assert_close(regions, torch.tensor([[90.0, 160.0, 210.0, 420.0]]))


def test_duplicates_of_one_face_are_suppressed_and_separate_faces_kept():
    boxes = torch.tensor([[0, 0, 100, 100], [5, 5, 100, 100], [200, 0, 260, 60]], dtype=torch.float32)
    scores = torch.tensor([0.6, 0.9, 0.5])
    assert suppress_duplicates(boxes, scores, 0.5).tolist() == [1, 2]
    assert suppress_duplicates(boxes, scores, None).tolist() == [1, 0, 2]
    assert suppress_duplicates(boxes[:0], scores[:0], 0.5).tolist() == []


def test_largest_box():
    assert largest_box_index(np.array([[0, 0, 10, 10], [0, 0, 30, 5], [0, 0, 11, 10]])) == 1
    assert largest_box_index(np.zeros((0, 4))) == -1


def test_box_areas_by_hand_and_inverted_boxes_have_none():
    areas = box_areas(np.array([[1, 2, 4, 7], [5, 5, 2, 9], [0, 3, 2, 1], [0.5, 0, 1.0, 0.25]]))
    np.testing.assert_allclose(areas, [15.0, 0.0, 0.0, 0.125])
    assert box_areas([1, 1, 3, 4]).tolist() == [6.0]  # one box as a flat list
    # an inverted box (x1 < x0) must not outrank a real one through a negative × negative product
    assert largest_box_index(np.array([[0, 0, 2, 2], [10, 10, 0, 0]])) == 0


def test_match_to_truth_skips_padding_rows_and_images_without_faces():
    predicted = torch.tensor([[[0.0, 0.0, 10.0, 10.0]], [[0.0, 0.0, 10.0, 10.0]]])
    # image 0 has no real face (its only row is padding); image 1's padding row (row 0) overlaps the
    # prediction perfectly but must lose to the real face in row 1: IoU(0 0 10 10, 0 0 10 8) = 80/100
    truth = torch.tensor(
        [[[0.0, 0.0, 10.0, 10.0], [50.0, 50.0, 60.0, 60.0]], [[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 8.0]]]
    )
    mask = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    index, keep = match_to_truth(predicted, truth, mask, 0.5)
    assert index.tolist() == [[0], [1]] and keep.tolist() == [[False], [True]]
    # the threshold is strict: IoU exactly 0.5 (50 / 100 with 0 0 10 5) is not a match, 0.8 is
    index, keep = match_to_truth(
        predicted[1:], torch.tensor([[[0.0, 0.0, 10.0, 5.0]]]), torch.ones(1, 1), 0.5
    )
    assert index.tolist() == [[0]] and keep.tolist() == [[False]]
    _, keep = match_to_truth(predicted[1:], truth[1:], mask[1:], 0.8 - 1e-6)
    assert keep.tolist() == [[True]]


def test_box_areas_of_float32_boxes_are_exact_float64():
    # 4097 × 4099 = 16 793 603 is odd and above 2^24, so float32 (spacing 2 there) cannot hold it and
    # would round it to 16 793 604; a detector's float32 boxes are measured in float64
    areas = box_areas(np.array([[0, 0, 4097, 4099], [1, 1, 2, 2]], np.float32))
    assert areas.dtype == np.float64 and areas.tolist() == [16793603.0, 1.0]
    assert box_areas(np.array([[0, 0, 3, 2]])).dtype == np.float64  # integer boxes too: area 6.0


def test_match_to_truth_returns_its_results_on_the_predicted_boxes_device():
    # the meta device stands in for a GPU (it carries shapes and devices, no values): the index and flag
    # tensors are created where the boxes live, for an image without faces as for one with a face
    predicted = torch.zeros(2, 3, 4, device="meta")
    truth = torch.zeros(2, 1, 4, device="meta")
    index, keep = match_to_truth(predicted, truth, torch.tensor([[0.0], [1.0]]), 0.5)
    assert index.device.type == "meta" and keep.device.type == "meta"
    assert index.shape == (2, 3) and index.dtype == torch.long and keep.dtype == torch.bool
