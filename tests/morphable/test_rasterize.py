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


def _coverage_by_hand():
    """Pixel centres (j + 0.5, i + 0.5) with x + y ≤ 4: rows of 4, 3, 2 and 1 pixels."""
    expected = np.full((5, 6), -1)
    for i in range(4):
        expected[i, : 4 - i] = 0
    return expected


def test_coverage_barycentrics_and_depth_of_one_triangle_by_hand():
    pixels = np.array([[0.0, 0.0], [0.0, 4.0], [4.0, 0.0]])  # a, b = a + 4y, c = a + 4x: front facing
    frags = rasterize(pixels, np.array([1.0, 2.0, 3.0]), np.array([[0, 1, 2]]), 5, 6)
    np.testing.assert_array_equal(frags.triangle, _coverage_by_hand())
    # at (0.5, 0.5): w_b = y / 4, w_c = x / 4, w_a = the rest; depth 0.75·1 + 0.125·2 + 0.125·3
    np.testing.assert_allclose(frags.barycentric[0, 0], [0.75, 0.125, 0.125], atol=1e-6)
    np.testing.assert_allclose(frags.barycentric[2, 1], [0.0, 0.625, 0.375], atol=1e-6)
    assert frags.depth[0, 0] == np.float32(1.375)
    assert np.isinf(frags.depth[frags.triangle < 0]).all()
    assert (frags.barycentric[frags.triangle < 0] == 0).all()
    values = frags.interpolate(np.array([[10.0, 0.0], [20.0, 1.0], [30.0, 2.0]]), np.array([[0, 1, 2]]))
    np.testing.assert_allclose(values[0], [13.75, 0.375], atol=1e-5)  # pixel (0, 0) comes first
    assert values.shape == (10, 2)


def test_a_back_face_is_drawn_when_culling_is_off_and_the_windowed_path_matches_the_large_one():
    pixels = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])  # the same triangle wound the other way
    assert not rasterize(pixels, np.ones(3), np.array([[0, 1, 2]]), 5, 6).mask.any()
    both = rasterize(pixels, np.ones(3), np.array([[0, 1, 2]]), 5, 6, cull_back_faces=False)
    np.testing.assert_array_equal(both.triangle, _coverage_by_hand())
    np.testing.assert_allclose(both.barycentric[0, 0], [0.75, 0.125, 0.125], atol=1e-6)
    front = np.array([[0.0, 0.0], [0.0, 4.0], [4.0, 0.0]])
    small = rasterize(front, np.ones(3), np.array([[0, 1, 2]]), 5, 6, max_window=2)
    np.testing.assert_array_equal(small.triangle, _coverage_by_hand())


def test_triangles_partly_outside_are_clipped_and_wholly_outside_or_degenerate_ones_draw_nothing():
    shifted = np.array([[-2.0, -2.0], [-2.0, 6.0], [6.0, -2.0]])  # x + y ≤ 4 again, from outside
    frags = rasterize(shifted, np.ones(3), np.array([[0, 1, 2]]), 5, 6)
    np.testing.assert_array_equal(frags.triangle, _coverage_by_hand())
    outside = np.array([[10.0, 0.0], [10.0, 4.0], [14.0, 0.0]])
    assert not rasterize(outside, np.ones(3), np.array([[0, 1, 2]]), 5, 6).mask.any()
    below = np.array([[0.0, 9.0], [0.0, 13.0], [4.0, 9.0]])
    assert not rasterize(below, np.ones(3), np.array([[0, 1, 2]]), 5, 6).mask.any()
    line = np.array([[0.0, 0.0], [2.0, 2.0], [4.0, 4.0]])
    assert not rasterize(line, np.ones(3), np.array([[0, 1, 2]]), 5, 6, cull_back_faces=False).mask.any()
    between = np.array([[0.6, 0.6], [0.6, 0.9], [0.9, 0.6]])  # holds no pixel centre
    assert not rasterize(between, np.ones(3), np.array([[0, 1, 2]]), 5, 6).mask.any()
