"""Similarity alignment from 68 landmarks: Umeyama's estimate, the five points, the aligned crop."""

import numpy as np
import pytest
from PIL import Image

from agelab.faces.alignment import (
    TEMPLATE_FIVE,
    align_face,
    alignment_matrix,
    five_points,
    similarity_transform,
)


def rotation(degrees: float) -> np.ndarray:
    t = np.deg2rad(degrees)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def test_a_known_similarity_is_recovered_exactly():
    source = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    target = 2.5 * source @ rotation(30).T + [4.0, -1.0]
    matrix = similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], 2.5 * rotation(30), atol=1e-12)
    np.testing.assert_allclose(matrix[:, 2], [4.0, -1.0], atol=1e-12)


def test_hand_computed_least_squares_fit_of_two_points():
    # (0,0)->(0,0), (2,0)->(0,4): the segment turns +90 degrees and doubles: s = 2, R = rot(90), t = 0
    matrix = similarity_transform(np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([[0.0, 0.0], [0.0, 4.0]]))
    np.testing.assert_allclose(matrix, [[0.0, -2.0, 0.0], [2.0, 0.0, 0.0]], atol=1e-12)
    # an inconsistent pair: the best scale is the mean stretch, the translation maps mean onto mean
    source = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    target = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, -1.0]]) + np.array([5.0, 7.0])
    matrix = similarity_transform(source, target)
    # Σ_xy = diag(4, 2)/4, σ²_x = 1: s = trace(D)/σ² = 1.5, R = I
    np.testing.assert_allclose(matrix, [[1.5, 0.0, 5.0], [0.0, 1.5, 7.0]], atol=1e-12)


def test_a_mirror_image_gives_a_rotation_not_a_reflection():
    source = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    mirrored = source * [-1.0, 1.0]
    matrix = similarity_transform(source, mirrored)
    linear = matrix[:, :2]
    assert np.linalg.det(linear) > 0  # Eq. 39's sign correction
    scale = np.sqrt(np.linalg.det(linear))
    np.testing.assert_allclose(linear @ linear.T, scale**2 * np.eye(2), atol=1e-12)  # no shear
    # the best rotation of this L-shape onto its mirror: residual below mapping it unchanged
    fitted = source @ linear.T + matrix[:, 2]
    assert ((fitted - mirrored) ** 2).sum() < ((source - mirrored) ** 2).sum()


def test_degenerate_or_mismatched_points_are_refused():
    with pytest.raises(ValueError, match="coincide"):
        similarity_transform(np.ones((3, 2)), np.zeros((3, 2)))
    for source, target in (((3, 2), (4, 2)), ((4, 3), (4, 3)), ((1, 2), (1, 2)), ((2,), (2,))):
        with pytest.raises(ValueError, match="one shape"):
            similarity_transform(np.arange(np.prod(source)).reshape(source), np.zeros(target))
    with pytest.raises(ValueError, match=r"\(68, 2\)"):
        five_points(np.zeros((48, 2)))


def face_landmarks() -> np.ndarray:
    """68 points whose five alignment points are the template's, in a 100-px frame, plus noise elsewhere."""
    rng = np.random.default_rng(0)
    points = rng.uniform(20, 80, size=(68, 2))
    template = TEMPLATE_FIVE * 100
    points[36:42] = template[0] + rng.normal(0, 1, (6, 2))
    points[36:42] += template[0] - points[36:42].mean(axis=0)  # eye centre exactly on the template
    points[42:48] = template[1] + rng.normal(0, 1, (6, 2))
    points[42:48] += template[1] - points[42:48].mean(axis=0)
    points[30], points[48], points[54] = template[2], template[3], template[4]
    return points


def test_five_points_are_the_eye_centres_nose_tip_and_mouth_corners():
    points = face_landmarks()
    np.testing.assert_allclose(five_points(points), TEMPLATE_FIVE * 100, atol=1e-9)
    # the template's eyes are level, mouth below the nose below the eyes, subject's right eye on the left
    t = TEMPLATE_FIVE
    assert t[0, 0] < t[2, 0] < t[1, 0] and t[0, 1] < t[2, 1] < t[3, 1]
    assert abs(t[0, 1] - t[1, 1]) < 0.01


def test_a_rotated_scaled_shifted_face_aligns_back_to_the_same_crop():
    rng = np.random.default_rng(1)
    face = np.kron(rng.integers(0, 255, (25, 25, 3)), np.ones((4, 4, 1))).astype(
        np.uint8
    )  # 100 px, 4-px cells
    landmarks = face_landmarks()
    reference, matrix = align_face(face, landmarks, 64)
    np.testing.assert_allclose(matrix, [[0.64, 0, 0], [0, 0.64, 0]], atol=1e-9)  # template in 100 px -> 64 px

    # the same face turned 25 degrees, scaled 1.6 and moved, in a 240-px photo; its landmarks moved alike
    forward = np.hstack([1.6 * rotation(25), [[60.0], [30.0]]])
    inverse = np.linalg.inv(np.vstack([forward, [0, 0, 1]]))[:2]
    photo = np.asarray(
        Image.fromarray(face).transform(
            (240, 240), Image.Transform.AFFINE, inverse.ravel(), Image.Resampling.BILINEAR
        )
    )
    moved = landmarks @ forward[:, :2].T + forward[:, 2]
    aligned, matrix = align_face(photo, moved, 64)
    np.testing.assert_allclose(
        alignment_matrix(moved, 64) @ np.append(moved[30], 1), 0.64 * landmarks[30], atol=1e-9
    )
    inner = (slice(12, 52), slice(12, 52))  # away from the corners the 100-px face does not fill
    error = np.abs(aligned[inner].astype(float) - reference[inner]).mean()
    unaligned = np.asarray(Image.fromarray(photo).resize((64, 64)))
    assert error < 6 and error < 0.1 * np.abs(unaligned[inner].astype(float) - reference[inner]).mean()


def test_outside_the_photo_is_edge_replicated_not_black():
    face = np.full((40, 40, 3), 200, np.uint8)
    landmarks = face_landmarks() * 0.4 - 30  # the face mostly above and left of the photo
    crop, _ = align_face(face, landmarks, 32)
    assert crop.shape == (32, 32, 3) and (crop == 200).all()


def test_an_upright_face_at_crop_scale_is_cut_out_pixel_for_pixel():
    """Landmarks on the template at 64 px, moved by whole pixels: the crop is the image's slice."""
    photo = np.random.default_rng(2).integers(0, 255, (200, 300, 3)).astype(np.uint8)  # 300 wide, 200 high
    for dx, dy in ((50, 70), (230, 10), (5, 130)):
        landmarks = np.zeros((68, 2))
        landmarks[36:42], landmarks[42:48] = TEMPLATE_FIVE[0] * 64, TEMPLATE_FIVE[1] * 64
        landmarks[30], landmarks[48], landmarks[54] = TEMPLATE_FIVE[2:] * 64
        crop, matrix = align_face(photo, landmarks + np.array([dx, dy]), 64)
        np.testing.assert_allclose(matrix, [[1, 0, -dx], [0, 1, -dy]], atol=1e-9)
        # PIL's fixed-point bilinear weights round a pixel copy by up to 1 level; a 1-px shift is off by ~85
        np.testing.assert_allclose(crop.astype(int), photo[dy : dy + 64, dx : dx + 64], atol=1)


@pytest.mark.parametrize(("dx", "dy"), [(-40, 0), (40, 0), (0, -30), (0, 30), (45, 35)])
def test_a_face_over_any_edge_of_a_wide_photo_is_filled_from_that_edge(dx, dy):
    photo = np.full((40, 60, 3), 200, np.uint8)  # wider than high: width and height must not be mixed up
    landmarks = face_landmarks() * 0.4 + np.array([10 + dx, dy])  # 40 px, over an edge or corner
    crop, _ = align_face(photo, landmarks, 32)
    assert (crop == 200).all()


def test_the_template_shrinks_with_the_margin_like_a_box_crop():
    from agelab.faces.alignment import ARCFACE_FIVE, template_five

    np.testing.assert_allclose(template_five(0.0), ARCFACE_FIVE)
    np.testing.assert_allclose(template_five(0.2), TEMPLATE_FIVE)
    # margin 0.5: the face takes half the crop's side, so points sit at half their distance from the centre
    np.testing.assert_allclose(template_five(0.5) - 0.5, (ARCFACE_FIVE - 0.5) / 2)
