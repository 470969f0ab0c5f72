import numpy as np

from agelab.morphable.rasterize import rasterize


def test_triangle_covers_its_area_and_interpolates():
    # clockwise in image coordinates = front facing
    pixels = np.array([[10.0, 10.0], [10.0, 50.0], [50.0, 10.0]])
    frags = rasterize(pixels, np.ones(3), np.array([[0, 1, 2]]), 64, 64)
    assert abs(frags.mask.sum() - 0.5 * 40 * 40) < 45
    values = frags.interpolate(np.array([[0.0], [0.0], [1.0]]), np.array([[0, 1, 2]]))
    assert values.min() >= -1e-6 and values.max() <= 1 + 1e-6
    np.testing.assert_allclose(frags.barycentric[frags.mask].sum(-1), 1, atol=1e-5)


def test_nearest_surface_wins_and_back_faces_are_culled():
    pixels = np.array([[0.0, 0.0], [0.0, 32.0], [32.0, 0.0]] * 2)
    depth = np.array([5.0, 5, 5, 2, 2, 2])
    triangles = np.array([[0, 1, 2], [3, 4, 5]])
    frags = rasterize(pixels, depth, triangles, 32, 32)
    assert set(np.unique(frags.triangle[frags.mask])) == {1}
    back = rasterize(pixels[:3], depth[:3], np.array([[0, 2, 1]]), 32, 32)
    assert not back.mask.any()


def test_large_triangles_are_not_truncated():
    pixels = np.array([[0.0, 0.0], [0.0, 200.0], [200.0, 0.0], [150, 150], [150, 160], [160, 150]])
    frags = rasterize(pixels, np.ones(6), np.array([[0, 1, 2], [3, 4, 5]]), 200, 200, max_window=8)
    assert frags.mask.sum() > 0.5 * 200 * 200 - 300
