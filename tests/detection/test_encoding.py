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
