import numpy as np

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
