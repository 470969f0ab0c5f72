import numpy as np
import pytest
import torch

from agelab.detection.encoding import decode_boxes, draw_gaussian, encode_boxes, gaussian_radius


def _perfect_maps(targets, output_size):
    """Dense size/offset maps that hold each face's target at its centre cell, and a logit heatmap."""
    height, width = output_size
    size = torch.zeros(1, 2, height, width)
    offset = torch.zeros(1, 2, height, width)
    for k in np.nonzero(targets.mask)[0]:
        y, x = divmod(int(targets.index[k]), width)
        size[0, :, y, x] = torch.from_numpy(targets.size[k])
        offset[0, :, y, x] = torch.from_numpy(targets.offset[k])
    heat = torch.from_numpy(targets.heatmap).clamp(1e-6, 1 - 1e-6)[None]
    return torch.log(heat / (1 - heat)), size, offset


def test_encode_then_decode_gives_the_boxes_back():
    boxes = np.array([[10.3, 20.7, 60.1, 90.2], [120.0, 30.5, 150.25, 70.0], [200.2, 180.9, 240.0, 250.0]])
    targets = encode_boxes(boxes, (64, 64), max_objects=8)
    assert targets.mask.sum() == 3
    assert targets.heatmap.max() == 1.0 and (targets.heatmap == 1.0).sum() == 3
    heat, size, offset = _perfect_maps(targets, (64, 64))
    decoded, scores = decode_boxes(heat, size, offset, k=3)
    found = decoded[0][scores[0] > 0.99].numpy()
    order = np.argsort(found[:, 0])
    np.testing.assert_allclose(found[order], boxes, atol=1e-4)


def test_decoding_keeps_only_local_maxima_and_the_top_k():
    heat = torch.full((1, 1, 16, 16), -10.0)
    heat[0, 0, 4, 4] = 3.0
    heat[0, 0, 4, 5] = 2.0  # a neighbour of the peak: suppressed by the 3x3 max-pool
    heat[0, 0, 10, 12] = 1.0
    boxes, scores = decode_boxes(heat, torch.ones(1, 2, 16, 16), torch.zeros(1, 2, 16, 16), k=3)
    assert scores[0, 0] == pytest.approx(torch.sigmoid(torch.tensor(3.0)).item())
    assert scores[0, 1] == pytest.approx(torch.sigmoid(torch.tensor(1.0)).item())
    assert scores[0, 2] < 1e-3
    np.testing.assert_allclose(boxes[0, 0].numpy(), [4 * 3.5, 4 * 3.5, 4 * 4.5, 4 * 4.5])


def test_more_boxes_than_max_objects_is_an_error_not_background():
    boxes = np.array([[0, 0, 8, 8], [20, 20, 60, 60], [100, 100, 120, 140]], float)
    with pytest.raises(ValueError, match="3 boxes do not fit max_objects=2"):
        encode_boxes(boxes, (64, 64), max_objects=2)
    targets = encode_boxes(boxes, (64, 64), max_objects=3)
    assert targets.mask.sum() == 3 and (targets.heatmap == 1.0).sum() == 3
    # largest first: 10 x 10 cells, 5 x 10, 2 x 2
    np.testing.assert_allclose(targets.size[:, 0] * targets.size[:, 1], [100.0, 50.0, 4.0])


def test_gaussian_is_clipped_at_the_border_and_peaks_at_one():
    heatmap = np.zeros((10, 10), np.float32)
    draw_gaussian(heatmap, (0, 9), 3)
    assert heatmap[9, 0] == 1.0
    assert heatmap[9, 1] < 1.0 and heatmap[5, 5] == 0.0
    assert gaussian_radius(10, 10) > 0


def test_gaussian_radius_is_cornernets_third_case_by_hand():
    # h = w = 10, overlap 0.7: a = 2.8, b = −28, c = −30 → (−28 + √1120) / 2; the other two cases are larger
    assert gaussian_radius(10, 10) == pytest.approx((-28 + np.sqrt(1120)) / 2, rel=1e-12)
    # h = 5, w = 8: a = 2.8, b = −18.2, c = −12 → (−18.2 + √465.64) / 2 ≈ 1.69
    assert gaussian_radius(5, 8) == pytest.approx((-18.2 + np.sqrt(18.2**2 + 4 * 2.8 * 12)) / 2, rel=1e-12)
    # overlap 0.5: a = 2, b = −20, c = −50 → (−20 + √800) / 2
    assert gaussian_radius(10, 10, min_overlap=0.5) == pytest.approx((-20 + np.sqrt(800)) / 2, rel=1e-12)


def test_gaussian_of_radius_1_has_sigma_one_half():
    heatmap = np.zeros((5, 5), np.float32)
    draw_gaussian(heatmap, (2, 1), 1)  # centre x = 2, y = 1
    expected = np.zeros((5, 5), np.float32)
    expected[0:3, 1:4] = np.exp(-np.array([[2.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 2.0]]) / 0.5)
    np.testing.assert_allclose(heatmap, expected, rtol=1e-6)


def test_gaussian_keeps_the_larger_value_and_clips_at_every_border():
    heatmap = np.full((3, 3), 0.5, np.float32)
    draw_gaussian(heatmap, (0, 0), 1)
    e2, e4 = np.exp(-2.0), np.exp(-4.0)
    np.testing.assert_allclose(heatmap, [[1, 0.5, 0.5], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]], rtol=1e-6)
    heatmap = np.zeros((3, 3), np.float32)
    draw_gaussian(heatmap, (2, 2), 1)
    np.testing.assert_allclose(heatmap, [[0, 0, 0], [0, e4, e2], [0, e2, 1]], rtol=1e-6)
    heatmap = np.zeros((3, 4), np.float32)
    draw_gaussian(heatmap, (0, 2), 1)  # bottom-left corner of a 3 × 4 map
    np.testing.assert_allclose(heatmap, [[0, 0, 0, 0], [e2, e4, 0, 0], [1, e2, 0, 0]], rtol=1e-6)


def test_a_centre_outside_the_map_draws_nothing():
    for centre in [(3, 1), (1, 3), (-1, 1), (1, -1)]:
        heatmap = np.zeros((3, 3), np.float32)
        draw_gaussian(heatmap, centre, 1)
        assert not heatmap.any(), centre


def test_encode_one_box_by_hand():
    # pixels (9, 10, 41, 27) / 4 = cells (2.25, 2.5, 10.25, 6.75): w = 8, h = 4.25, centre (6.25, 4.625)
    targets = encode_boxes(np.array([[9.0, 10.0, 41.0, 27.0]]), (16, 16), max_objects=3)
    np.testing.assert_allclose(targets.size, [[8.0, 4.25], [0, 0], [0, 0]])
    np.testing.assert_allclose(targets.offset, [[0.25, 0.625], [0, 0], [0, 0]])
    np.testing.assert_array_equal(targets.index, [4 * 16 + 6, 0, 0])
    np.testing.assert_array_equal(targets.mask, [1, 0, 0])
    assert targets.heatmap.shape == (1, 16, 16) and targets.heatmap.dtype == np.float32
    # radius int(gaussian_radius(5, 8)) = 1: the peak and its 8 neighbours
    e2, e4 = np.exp(-2.0), np.exp(-4.0)
    peak = [[e4, e2, e4], [e2, 1, e2], [e4, e2, e4]]
    np.testing.assert_allclose(targets.heatmap[0, 3:6, 5:8], peak, rtol=1e-6)
    assert targets.heatmap.sum() == pytest.approx(1 + 4 * e2 + 4 * e4, rel=1e-6)
    # the stride is a parameter: the same cells from pixels at stride 2
    halved = encode_boxes(np.array([[4.5, 5.0, 20.5, 13.5]]), (16, 16), max_objects=3, stride=2)
    np.testing.assert_allclose(halved.size, targets.size)
    np.testing.assert_array_equal(halved.index, targets.index)


def test_boxes_are_clipped_to_the_map_and_empty_ones_skipped():
    # a 4 × 8 cell map (16 × 32 pixels); the largest box lies right of the map, so it is skipped after
    # clipping and the next box takes slot 0
    boxes = np.array([[40.0, 0.0, 120.0, 16.0], [-8.0, -8.0, 40.0, 8.0]])
    targets = encode_boxes(boxes, (4, 8), max_objects=2)
    np.testing.assert_array_equal(targets.mask, [1, 0])
    # clipped to x ∈ [0, 8 − 1e-3], y ∈ [0, 2]: w = 7.999, h = 2, centre (3.9995, 1)
    np.testing.assert_allclose(targets.size[0], [8 - 1e-3, 2.0], rtol=1e-6)
    np.testing.assert_allclose(targets.offset[0], [4 - 5e-4 - 3, 0.0], rtol=1e-5)
    assert targets.index[0] == 1 * 8 + 3
    tall = encode_boxes(np.array([[0.0, 8.0, 8.0, 40.0]]), (4, 8), max_objects=1)
    np.testing.assert_allclose(tall.size[0], [2.0, 2 - 1e-3], rtol=1e-6)  # y clipped at 4 − 1e-3
    none = encode_boxes(np.zeros((0, 4)), (4, 8), max_objects=2)
    assert not none.mask.any() and not none.heatmap.any()


def test_targets_as_tensors_share_the_arrays():
    targets = encode_boxes(np.array([[9.0, 10.0, 41.0, 27.0]]), (16, 16), max_objects=2)
    tensors = targets.as_tensors()
    assert set(tensors) == {"heatmap", "size", "offset", "index", "mask"}
    for name, tensor in tensors.items():
        np.testing.assert_array_equal(tensor.numpy(), getattr(targets, name))
    assert tensors["index"].dtype == torch.int64 and tensors["mask"].dtype == torch.float32


def test_gaussian_radius_is_always_the_third_case_in_closed_form():
    # r3 = (b3 + √(b3² − 4·a3·c3)) / 2 with a3 = 4o, b3 = −2o·s, c3 = (o − 1)·p (s = h + w, p = h·w)
    #    = −o·s + √(o²·s² + 4o(1 − o)·p).  As p ≤ s²/4, r3 ≤ s·(√o − o) ≤ s/4, while r1 ≥ s/2 and r2 ≥ s:
    # the minimum is r3 for every size and overlap, and the other two cases must still be computable
    # (real square roots) for thin, tiny and large boxes alike.
    for h in (0.1, 0.25, 1.0, 4.0, 21.0, 31.0):
        for w in (0.1, 0.25, 1.0, 4.0, 21.0, 31.0):
            for o in (0.1, 0.3, 0.7, 0.9):
                s, p = h + w, h * w
                r3 = -o * s + np.sqrt(o * o * s * s + 4 * o * (1 - o) * p)
                assert gaussian_radius(h, w, min_overlap=o) == pytest.approx(r3, rel=1e-9), (h, w, o)


def test_box_order_is_by_true_area_width_times_height():
    # cells (stride 4): P = (0, 4, 2, 8) is 2 × 4 = 8, Q = (4, 0, 10, 2) is 6 × 2 = 12 → Q first
    targets = encode_boxes(
        np.array([[0.0, 16.0, 8.0, 32.0], [16.0, 0.0, 40.0, 8.0]]), (16, 16), max_objects=2
    )
    np.testing.assert_allclose(targets.size, [[6.0, 2.0], [2.0, 4.0]])
    # R = (0, 8, 6, 10) is 6 × 2 = 12, S = (4, 0, 6, 4) is 2 × 4 = 8 → R first
    targets = encode_boxes(
        np.array([[16.0, 0.0, 24.0, 16.0], [0.0, 32.0, 24.0, 40.0]]), (16, 16), max_objects=2
    )
    np.testing.assert_allclose(targets.size, [[6.0, 2.0], [2.0, 4.0]])
    np.testing.assert_array_equal(targets.index, [9 * 16 + 3, 2 * 16 + 5])  # centres (3, 9) and (5, 2)


def test_boxes_under_one_cell_are_targets_and_zero_height_ones_are_not():
    # 2 × 2 pixels = 0.5 × 0.5 cells at (1, 1)-(1.5, 1.5): a real face, only the zero-height box is skipped
    targets = encode_boxes(np.array([[4.0, 4.0, 6.0, 6.0], [20.0, 8.0, 40.0, 8.0]]), (8, 8), max_objects=2)
    np.testing.assert_array_equal(targets.mask, [1, 0])
    np.testing.assert_allclose(targets.size[0], [0.5, 0.5])
    np.testing.assert_allclose(targets.offset[0], [0.25, 0.25])  # centre (1.25, 1.25) in cell (1, 1)
    assert targets.index[0] == 1 * 8 + 1
    # 0.5 × 4 cells: thinner than a cell in width, then in height
    wide = encode_boxes(np.array([[0.0, 0.0, 16.0, 2.0]]), (8, 8), max_objects=1)
    np.testing.assert_allclose(wide.size[0], [4.0, 0.5])
    tall = encode_boxes(np.array([[0.0, 0.0, 2.0, 16.0]]), (8, 8), max_objects=1)
    np.testing.assert_allclose(tall.size[0], [0.5, 4.0])


def test_a_small_face_is_a_single_hot_cell():
    # 2 × 2 cells (s = 4, p = 4, o = 0.7): r3 = −2.8 + √(0.49·16 + 4·0.7·0.3·4)
    #   = −2.8 + √11.2 ≈ 0.547 → radius 0,
    # so the face is its centre cell (3, 3) alone
    assert gaussian_radius(2, 2) == pytest.approx(-0.7 * 4 + np.sqrt(0.49 * 16 + 4 * 0.7 * 0.3 * 4))
    assert int(gaussian_radius(2, 2)) == 0
    targets = encode_boxes(np.array([[8.0, 8.0, 16.0, 16.0]]), (8, 8), max_objects=1)
    assert targets.heatmap.sum() == 1.0 and targets.heatmap[0, 3, 3] == 1.0


def test_size_and_offset_targets_are_float32():
    targets = encode_boxes(np.array([[9.0, 10.0, 41.0, 27.0]]), (16, 16), max_objects=2)
    assert targets.size.dtype == np.float32 and targets.offset.dtype == np.float32
    tensors = targets.as_tensors()
    assert tensors["size"].dtype == torch.float32 and tensors["offset"].dtype == torch.float32


def test_boxes_of_equal_area_keep_their_input_order():
    # 20 squares side by side, box i at x = 3i cells: sides 3 (i = 2, 8), 1 (i = 5), 2 (all others).
    # Largest first, ties in input order: 2, 8, then 0, 1, 3, 4, 6, 7, 9, ..., 19, then 5. A side-3 or
    # side-2 square's centre (3i + 1.5 or 3i + 1, 1.5 or 1) is in cell (3i + 1, 1), the side-1's in (3i, 0)
    sides = [2] * 20
    sides[2] = sides[8] = 3
    sides[5] = 1
    boxes = np.array([[4.0 * 3 * i, 0.0, 4.0 * (3 * i + s), 4.0 * s] for i, s in enumerate(sides)])
    targets = encode_boxes(boxes, (64, 64), max_objects=20)
    order = [2, 8, 0, 1, 3, 4, 6, 7, *range(9, 20), 5]
    expected = [1 * 64 + 3 * i + 1 for i in order[:-1]] + [0 * 64 + 3 * 5]
    np.testing.assert_array_equal(targets.index, expected)
    np.testing.assert_allclose(targets.size[:, 0], [3, 3] + [2] * 17 + [1])
