import numpy as np
import pytest

from agelab.faces.crops import CropSpec, crop_face, crop_window, to_crop_coordinates


def test_crop_window_is_square_with_margin_around_box_centre():
    x0, y0, x1, y1 = crop_window((10, 20, 50, 100), margin=0.25)
    assert (x1 - x0) == (y1 - y0) == 80 * 1.5
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == (30, 60)


def test_crop_content_and_edge_replication():
    image = np.zeros((100, 100, 3), np.uint8)
    image[40:60, 40:60] = 255
    crop, _window = crop_face(image, (40, 40, 60, 60), CropSpec(size=40, margin=0.0))
    assert crop.shape == (40, 40, 3) and crop[5:35, 5:35].min() == 255
    image[:, :] = 128
    corner, _ = crop_face(image, (-10, -10, 20, 20), CropSpec(size=32, margin=0.5))
    assert corner.min() == 128  # outside the image: replicated edge, not black


def test_points_map_into_crop_frame():
    window = crop_window((40, 40, 60, 60), margin=0.5)
    mapped = to_crop_coordinates(np.array([[40.0, 40.0], [60.0, 60.0]]), window, 60)
    np.testing.assert_allclose(mapped, [[15, 15], [45, 45]])


def test_window_matrix_maps_points_as_to_crop_coordinates():
    from agelab.faces.crops import apply_affine, window_matrix

    window = crop_window((40, 40, 60, 60), margin=0.5)
    points = np.array([[40.0, 40.0], [60.0, 60.0], [33.0, 71.5]])
    np.testing.assert_allclose(
        apply_affine(points, window_matrix(window, 60)), to_crop_coordinates(points, window, 60)
    )
    np.testing.assert_allclose(window_matrix((10, 20, 30, 40), 40), [[2, 0, -20], [0, 2, -40]])


def test_face_crop_is_the_box_crop_or_the_aligned_crop_as_the_spec_says():
    from agelab.faces.alignment import align_face
    from agelab.faces.crops import face_crop, window_matrix

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (120, 100, 3), dtype=np.uint8)
    box = (30.0, 35.0, 70.0, 80.0)
    boxed, matrix = face_crop(image, box, None, CropSpec(64, 0.2))
    np.testing.assert_array_equal(boxed, crop_face(image, box, CropSpec(64, 0.2))[0])
    np.testing.assert_allclose(matrix, window_matrix(crop_window(box, 0.2), 64))
    landmarks = rng.uniform(35, 75, (68, 2))
    aligned, matrix = face_crop(image, box, landmarks, CropSpec(64, 0.2, align=True))
    expected, expected_matrix = align_face(image, landmarks, 64, 0.2)
    np.testing.assert_array_equal(aligned, expected)
    np.testing.assert_allclose(matrix, expected_matrix)
    with pytest.raises(ValueError, match="68 landmarks"):
        face_crop(image, box, None, CropSpec(64, 0.2, align=True))
