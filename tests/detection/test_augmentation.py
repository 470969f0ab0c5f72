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


def _bright_square_scene(size: int = 64) -> FaceImage:
    image = np.zeros((size, size, 3), np.uint8)
    image[16:32, 24:44] = (250, 120, 30)
    return FaceImage(image, np.array([[24.0, 16.0, 44.0, 32.0]]), np.array([33.0]), np.array([1]))


def test_the_random_geometry_is_the_documented_draws_in_order():
    """Flip (p 0.5), then s ~ U(scale), θ ~ U(±rotation), c = size/2 + shift·size·U(−1, 1)², then blur."""
    augmentation = Augmentation(
        flip=True, scale=(0.8, 1.3), shift=0.15, rotation=12.0, blur_probability=0.0, min_box_size=2.0
    )
    for seed in range(6):
        face = _bright_square_scene()
        out = augment_geometry(face, augmentation, np.random.default_rng(seed))
        replica = np.random.default_rng(seed)
        boxes, image = face.boxes.copy(), face.image
        if replica.random() < 0.5:
            boxes[:, [0, 2]] = 64 - face.boxes[:, [2, 0]]
            image = image[:, ::-1].copy()
        scale = 0.8 + 0.5 * replica.random()  # numpy's uniform(a, b) = a + (b - a)·random()
        degrees = -12.0 + 24.0 * replica.random()
        centre = 32 + 0.15 * 64 * (-1 + 2 * replica.random(2))
        matrix = affine_matrix(scale, degrees, tuple(centre), (32.0, 32.0))
        expected_boxes, keep = transform_boxes(boxes, matrix, 64)
        np.testing.assert_allclose(out.boxes, expected_boxes[keep], atol=1e-9)
        np.testing.assert_array_equal(out.image, warp_image(image, matrix, 64))
        assert out.ages.tolist() == [33.0] * int(keep.sum())


def test_each_geometric_step_alone_moves_the_face():
    face = _bright_square_scene()
    # scale alone, rotation alone, shift alone: each must warp (none is skipped as "no change")
    for augmentation in (
        Augmentation(flip=False, scale=(1.5, 1.5), shift=0.0, rotation=0.0, blur_probability=0.0),
        Augmentation(flip=False, scale=(1.0, 1.0), shift=0.0, rotation=30.0, blur_probability=0.0),
        Augmentation(flip=False, scale=(1.0, 1.0), shift=0.3, rotation=0.0, blur_probability=0.0),
    ):
        out = augment_geometry(face, augmentation, np.random.default_rng(3))
        assert not np.array_equal(out.boxes, face.boxes), augmentation
        assert not np.array_equal(out.image, face.image), augmentation
    # a 1.5 zoom about the canvas centre (32, 32): x 24..44 -> 1.5 (x - 32) + 32 = 20..50, y 16..32 -> 8..32
    zoomed = augment_geometry(
        face,
        Augmentation(flip=False, scale=(1.5, 1.5), shift=0.0, rotation=0.0, blur_probability=0.0),
        np.random.default_rng(0),
    )
    np.testing.assert_allclose(zoomed.boxes, [[20, 8, 50, 32]])


def test_blur_with_probability_one_blurs_the_pixels_and_keeps_the_labels():
    from PIL import Image, ImageFilter

    face = _bright_square_scene()
    always = Augmentation(
        flip=False, scale=(1.0, 1.0), shift=0.0, rotation=0.0, blur_probability=1.0, blur_sigma=(1.0, 2.0)
    )
    out = augment_geometry(face, always, np.random.default_rng(5))
    replica = np.random.default_rng(5)
    replica.random(), replica.random(), replica.random(2), replica.random()  # scale, θ, centre, the blur coin
    sigma = 1.0 + replica.random()
    expected = np.array(Image.fromarray(face.image).filter(ImageFilter.GaussianBlur(sigma)))
    np.testing.assert_array_equal(out.image, expected)
    assert not np.array_equal(out.image, face.image)
    np.testing.assert_array_equal(out.boxes, face.boxes)
    np.testing.assert_array_equal(out.ages, face.ages)
    np.testing.assert_array_equal(out.genders, face.genders)


def test_colour_jitter_is_torchvision_s_three_steps_with_hand_computed_factors():
    augmentation = Augmentation(brightness=0.4, contrast=0.3, saturation=0.2)
    image = torch.tensor([0.2, 0.5, 0.9]).view(3, 1, 1).expand(3, 2, 2).clone()
    image[:, 0, 0] = torch.tensor([0.8, 0.1, 0.3])
    out = jitter_colour(image, augmentation, np.random.default_rng(7))
    replica = np.random.default_rng(7)
    b, c, s = (1 + strength * (2 * replica.random() - 1) for strength in (0.4, 0.3, 0.2))
    weights = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
    expected = (image * b).clamp(0, 1)
    mean = (expected * weights).sum(0).mean()
    expected = ((expected - mean) * c + mean).clamp(0, 1)
    grey = (expected * weights).sum(0, keepdim=True)
    expected = ((expected - grey) * s + grey).clamp(0, 1)
    torch.testing.assert_close(out, expected)
    # one value by hand: brightness 2 on 0.8 clamps at 1 (the upper bound of an image in [0, 1])
    bright = jitter_colour(
        torch.full((3, 1, 1), 0.8), Augmentation(brightness=1.0, contrast=0.0, saturation=0.0), _Fixed(1.0)
    )
    torch.testing.assert_close(bright, torch.ones(3, 1, 1))
    # a zero strength draws nothing: saturation alone consumes exactly one draw
    rng = np.random.default_rng(11)
    jitter_colour(image, Augmentation(brightness=0.0, contrast=0.0, saturation=0.3), rng)
    after = np.random.default_rng(11)
    after.random()
    assert rng.random() == after.random()


class _Fixed:
    """A generator whose uniform(a, b) is always b (the largest factor 1 + strength)."""

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.fraction


def test_jitter_factors_below_and_above_one_darken_and_brighten():
    grey = torch.full((3, 1, 1), 0.5)
    darker = jitter_colour(grey, Augmentation(brightness=0.4, contrast=0.0, saturation=0.0), _Fixed(0.0))
    torch.testing.assert_close(darker, torch.full((3, 1, 1), 0.3))  # 0.5 · (1 − 0.4)
    contrast = jitter_colour(
        torch.tensor([0.2, 0.6, 1.0]).view(3, 1, 1).expand(3, 1, 2).clone() * torch.tensor([1.0, 0.5]),
        Augmentation(brightness=0.0, contrast=0.5, saturation=0.0),
        _Fixed(0.0),
    )
    # grey of the two pixels: 0.299·0.2 + 0.587·0.6 + 0.114·1.0 = 0.526 and half of it 0.263, mean 0.3945;
    # contrast 0.5: (v − 0.3945)·0.5 + 0.3945 → the first pixel's red 0.2 → 0.29725
    assert contrast[0, 0, 0].item() == pytest.approx((0.2 - 0.3945) * 0.5 + 0.3945)
    saturated = jitter_colour(
        torch.tensor([0.2, 0.6, 1.0]).view(3, 1, 1),
        Augmentation(brightness=0.0, contrast=0.0, saturation=0.5),
        _Fixed(1.0),
    )
    # saturation 1.5 about the grey 0.526: red (0.2 − 0.526)·1.5 + 0.526 = 0.037, green 0.637, blue 1.237 → 1
    torch.testing.assert_close(saturated.flatten(), torch.tensor([0.037, 0.637, 1.0]), atol=1e-4, rtol=0)


def test_box_rules_at_their_thresholds():
    identity = affine_matrix(1.0, 0.0, (50.0, 50.0), (50.0, 50.0))
    # the default smallest side is 2 px: a 2.5 px box is kept, a 1.5 px one dropped; exactly 2 px is kept
    _, keep = transform_boxes(
        np.array([[10, 10, 12.5, 20], [30, 30, 40, 31.5], [60, 60, 62, 62]], float), identity, 100
    )
    assert keep.tolist() == [True, False, True]
    # exactly half the area on the canvas is kept at min_visible 0.5 (the rule is "less than" drops)
    moved = affine_matrix(1.0, 0.0, (60.0, 50.0), (50.0, 50.0))  # the window moves 10 px right
    _, keep = transform_boxes(np.array([[0.0, 40.0, 20.0, 60.0]]), moved, 100, min_visible=0.5)
    assert keep.tolist() == [True]  # -10..10: 10 of 20 px visible
    # one flat box (4,) is accepted like (1, 4)
    clipped, keep = transform_boxes(np.array([10.0, 10.0, 20.0, 20.0]), identity, 100)
    assert clipped.shape == (1, 4) and keep.tolist() == [True]


def test_every_jitter_step_clamps_to_the_unit_range_before_the_next():
    # the largest factors (1 + strength): brightness 2, contrast 1.5, saturation 1.5, on two pixels
    image = torch.tensor([[0.8, 0.05], [0.3, 0.1], [0.2, 0.6]]).view(3, 1, 2)
    out = jitter_colour(image, Augmentation(brightness=1.0, contrast=0.5, saturation=0.5), _Fixed(1.0))
    # brightness 2: (1.6 → 1, 0.6, 0.4) and (0.1, 0.2, 1.2 → 1); greys 0.6968 and 0.2613, mean 0.47905
    # contrast 1.5: v' = 1.5 v − 0.5·0.47905:
    #   (1.2605 → 1, 0.6605, 0.3605) and (−0.0895 → 0, 0.0605, 1.2605 → 1)
    # greys 0.7278 and 0.1495; saturation 1.5: v'' = 1.5 v' − 0.5 g
    #   (1.136 → 1, 0.6268, 0.1768) and (−0.0748 → 0, 0.0160, 1.4252 → 1)
    expected = torch.tensor([[1.0, 0.0], [0.6268, 0.0160], [0.1768, 1.0]]).view(3, 1, 2)
    torch.testing.assert_close(out, expected, atol=2e-4, rtol=0)


def test_the_smallest_box_side_of_the_augmentation_is_the_one_applied():
    face = FaceImage(
        np.zeros((64, 64, 3), np.uint8), np.array([[10.0, 10.0, 13.0, 30.0]]), np.ones(1), np.ones(1)
    )
    shifted = dict(flip=False, scale=(1.0, 1.0), shift=0.0, rotation=1e-9, blur_probability=0.0)
    # a 3 px wide box is kept with min_box_size 2 and dropped with 4
    assert (
        len(augment_geometry(face, Augmentation(**shifted, min_box_size=2.0), np.random.default_rng(0)).boxes)
        == 1
    )
    assert (
        len(augment_geometry(face, Augmentation(**shifted, min_box_size=4.0), np.random.default_rng(0)).boxes)
        == 0
    )


def test_warping_interpolates_bilinearly_between_neighbouring_pixels():
    # columns 0, 80, 160, 240 moved half a pixel right: output pixel j's centre j + 0.5 comes from the input
    # point j, the edge between input pixels j − 1 and j, so bilinear gives their mean 80 j − 40 (pixel 0:
    # the black outside and a 0 pixel → 0); nearest-neighbour would copy a pixel (0, 80, 160, 240)
    image = np.zeros((4, 4, 3), np.uint8)
    image[:] = np.array([0, 80, 160, 240], np.uint8)[None, :, None]
    warped = warp_image(image, np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]), 4)
    expected = np.broadcast_to(np.array([0, 40, 120, 200])[None, :, None], (4, 4, 3))
    np.testing.assert_array_equal(warped, expected)
