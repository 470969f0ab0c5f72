"""§4.2's augmentation geometry: boxes under scale, rotation and crop (hand-computed); pixels follow."""

import numpy as np
import pytest
import torch

from agelab.detection.augmentation import (
    NO_AUGMENTATION,
    Augmentation,
    affine_matrix,
    augment_geometry,
    jitter_colour,
    transform_boxes,
    warp_image,
)
from agelab.detection.tiling import FaceImage


def test_a_scale_of_two_about_a_centre_doubles_the_distances_from_it():
    matrix = affine_matrix(2.0, 0.0, (40.0, 30.0), (50.0, 50.0))
    # x: 2 (30 - 40) + 50 = 30, 2 (50 - 40) + 50 = 70; y: 2 (20 - 30) + 50 = 30, 2 (40 - 30) + 50 = 70
    boxes, keep = transform_boxes(np.array([[30.0, 20.0, 50.0, 40.0]]), matrix, 100)
    np.testing.assert_allclose(boxes, [[30, 30, 70, 70]])
    assert keep.tolist() == [True]


def test_a_quarter_turn_takes_the_left_edge_to_the_bottom():
    matrix = affine_matrix(1.0, 90.0, (50.0, 50.0), (50.0, 50.0))
    # (x, y) -> (y, 100 - x): x 10..30 -> y 70..90, y 20..60 -> x 20..60
    boxes, keep = transform_boxes(np.array([[10.0, 20.0, 30.0, 60.0]]), matrix, 100)
    np.testing.assert_allclose(boxes, [[20, 70, 60, 90]], atol=1e-9)
    assert keep.tolist() == [True]
    # 45 degrees: the bounding box of the turned square (side 20 about the centre) has side 20 sqrt(2)
    turned, _ = transform_boxes(
        np.array([[40.0, 40.0, 60.0, 60.0]]), affine_matrix(1.0, 45.0, (50, 50), (50, 50)), 100
    )
    half = 10 * np.sqrt(2)
    np.testing.assert_allclose(turned, [[50 - half, 50 - half, 50 + half, 50 + half]])


def test_a_crop_shifts_the_boxes_clips_them_and_drops_those_mostly_outside():
    matrix = affine_matrix(1.0, 0.0, (70.0, 50.0), (50.0, 50.0))  # the window moves 20 px right
    boxes = np.array(
        [
            [30, 10, 50, 30],  # inside: -> 10..30
            [5, 60, 15, 80],  # -> -15..-5: off the canvas
            [10, 40, 40, 60],  # -> -10..20: two thirds visible, clipped to 0..20
            [5, 70, 28, 90],  # -> -15..8: 8 of 23 px visible, dropped
        ],
        float,
    )
    moved, keep = transform_boxes(boxes, matrix, 100, min_visible=0.5)
    assert keep.tolist() == [True, False, True, False]
    np.testing.assert_allclose(moved[keep], [[10, 10, 30, 30], [0, 40, 20, 60]])


def test_pixels_move_with_the_boxes():
    image = np.zeros((100, 100, 3), np.uint8)
    image[20:40, 30:50] = 255  # the box (30, 20, 50, 40) in pixel-edge coordinates
    matrix = affine_matrix(1.5, 30.0, (45.0, 35.0), (50.0, 50.0))
    warped = warp_image(image, matrix, 100)
    (box,), keep = transform_boxes(np.array([[30.0, 20.0, 50.0, 40.0]]), matrix, 100)
    assert keep.tolist() == [True]
    ys, xs = np.nonzero(warped[..., 0] > 128)
    assert len(xs) == pytest.approx(1.5**2 * 400, rel=0.1)  # the square's area, scaled
    assert (xs + 0.5 >= box[0] - 1).all() and (xs + 0.5 <= box[2] + 1).all()
    assert (ys + 0.5 >= box[1] - 1).all() and (ys + 0.5 <= box[3] + 1).all()
    # the square's centre (40, 30) lands at 1.5 R(30°) (-5, -5) + (50, 50), and so does its centre of mass
    expected = matrix[:, :2] @ np.array([40.0, 30.0]) + matrix[:, 2]
    np.testing.assert_allclose([xs.mean() + 0.5, ys.mean() + 0.5], expected, atol=0.3)
    np.testing.assert_allclose([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], expected, atol=1e-9)


def test_random_geometry_keeps_every_bright_face_inside_its_box():
    rng = np.random.default_rng(0)
    augmentation = Augmentation(scale=(0.6, 1.4), shift=0.2, rotation=20.0, blur_probability=0.0)
    image = np.zeros((96, 96, 3), np.uint8)
    boxes = np.array([[10, 10, 30, 34], [50, 40, 80, 70], [20, 60, 40, 90]], float)
    for x0, y0, x1, y1 in boxes.astype(int):
        image[y0:y1, x0:x1] = 255
    dropped = 0
    for _ in range(30):
        face = FaceImage(image.copy(), boxes.copy(), np.array([20.0, 30.0, 40.0]), np.array([1, 0, 1]))
        out = augment_geometry(face, augmentation, rng)
        assert len(out.boxes) == len(out.ages) == len(out.genders)
        dropped += 3 - len(out.boxes)
        bright = out.image[..., 0] > 200
        inside = np.zeros_like(bright)
        for x0, y0, x1, y1 in out.boxes:
            inside[int(np.floor(y0)) : int(np.ceil(y1)), int(np.floor(x0)) : int(np.ceil(x1))] = True
            assert out.image[int((y0 + y1) / 2), int((x0 + x1) / 2), 0] > 200  # its centre is its face
        # bright pixels outside every kept box belong to faces that were dropped (mostly off the canvas)
        assert bright[~inside].sum() <= 0.5 * 30 * 30 * (3 - len(out.boxes)) + 2
    assert dropped > 0  # some crops did push faces out


def test_no_augmentation_is_the_identity_and_colour_jitter_keeps_what_it_should():
    face = FaceImage(
        np.arange(48, dtype=np.uint8).reshape(4, 4, 3),
        np.array([[0.0, 0, 2, 2]]),
        np.ones(1),
        np.ones(1, int),
    )
    out = augment_geometry(face, NO_AUGMENTATION, np.random.default_rng(0))
    assert np.array_equal(out.image, face.image) and np.array_equal(out.boxes, face.boxes)
    rng = np.random.default_rng(1)
    grey = torch.full((3, 8, 8), 0.5)
    saturation_only = Augmentation(brightness=0.0, contrast=0.0, saturation=0.4)
    torch.testing.assert_close(jitter_colour(grey, saturation_only, rng), grey)  # grey has no colour to scale
    colour = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.25
    contrast_only = Augmentation(brightness=0.0, contrast=0.4, saturation=0.0)
    weights = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
    jittered = jitter_colour(colour, contrast_only, rng)
    assert not torch.allclose(jittered, colour)
    torch.testing.assert_close((jittered * weights).sum(0).mean(), (colour * weights).sum(0).mean())
