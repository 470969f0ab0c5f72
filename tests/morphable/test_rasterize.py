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


def _rows(height, width, spans):
    """A triangle map covering, in row i, the columns spans[i] = (first, last) (None: nothing)."""
    expected = np.full((height, width), -1)
    for i, span in enumerate(spans):
        if span is not None:
            expected[i, span[0] : span[1] + 1] = 0
    return expected


def test_a_triangle_in_general_position_covers_and_weighs_by_hand():
    # a = (5, 1), b = (1, 1), c = (1, 5): x ≥ 1, y ≥ 1, x + y ≤ 6; area (b−a)×(c−a) = (−4)(4) − 0 = −16
    pixels = np.array([[5.0, 1.0], [1.0, 1.0], [1.0, 5.0]])
    frags = rasterize(pixels, np.array([2.0, 4.0, 8.0]), np.array([[0, 1, 2]]), 7, 7)
    # row i (centre y = i + 0.5) holds the centres x = j + 0.5 in [1, 5.5 − i]
    np.testing.assert_array_equal(frags.triangle, _rows(7, 7, [None, (1, 4), (1, 3), (1, 2), (1, 1)]))
    # at (1.5, 1.5): x = 1 + 4 w_a and y = 1 + 4 w_c give w_a = w_c = 0.125, w_b = 0.75
    np.testing.assert_allclose(frags.barycentric[1, 1], [0.125, 0.75, 0.125], atol=1e-6)
    # depth 0.125·2 + 0.75·4 + 0.125·8 = 4.25
    assert frags.depth[1, 1] == np.float32(4.25)
    assert frags.barycentric.dtype == np.float32 and frags.depth.dtype == np.float32
    assert frags.triangle.dtype == np.int64


def test_a_triangle_smaller_than_a_pixel_draws_the_one_centre_it_holds_and_is_culled_when_turned():
    # area (0)(0) − (0.5)(0.5) = −0.25: front facing; it holds the centre (0.5, 0.5) only
    tiny = np.array([[0.4, 0.4], [0.4, 0.9], [0.9, 0.4]])
    frags = rasterize(tiny, np.ones(3), np.array([[0, 1, 2]]), 3, 3)
    np.testing.assert_array_equal(frags.triangle, _rows(3, 3, [(0, 0), None, None]))
    # at (0.5, 0.5): x = 0.4 + 0.5 w_c, y = 0.4 + 0.5 w_b -> w_b = w_c = 0.2, w_a = 0.6
    np.testing.assert_allclose(frags.barycentric[0, 0], [0.6, 0.2, 0.2], atol=1e-6)
    turned = np.array([[0, 2, 1]])  # area +0.25: a back face
    assert not rasterize(tiny, np.ones(3), turned, 3, 3).mask.any()
    assert rasterize(tiny, np.ones(3), turned, 3, 3, cull_back_faces=False).triangle[0, 0] == 0


def test_a_sliver_of_area_below_1e_12_is_dropped_even_when_it_faces_the_camera():
    e = 1e-13  # area (0.1)(0) − (2e)(0.2) = −4e-14: front facing, holds the centre (0.5, 0.5)
    sliver = np.array([[0.4, 0.5 - e], [0.5, 0.5 + e], [0.6, 0.5 - e]])
    assert not rasterize(sliver, np.ones(3), np.array([[0, 1, 2]]), 3, 3).mask.any()


def test_centres_on_an_edge_are_drawn_whichever_vertex_the_edge_is_opposite():
    """Cyclic orders of one triangle's vertices (the same winding) put its hypotenuse x + y = 4, which
    holds the centres (3.5, 0.5) … (0.5, 3.5), opposite a, then c, then b: each draws the same pixels."""
    pixels = np.array([[0.0, 0.0], [0.0, 4.0], [4.0, 0.0]])
    for order in ([0, 1, 2], [1, 2, 0], [2, 0, 1]):
        frags = rasterize(pixels, np.ones(3), np.array([order]), 5, 6)
        np.testing.assert_array_equal(frags.triangle, _coverage_by_hand(), err_msg=str(order))


def test_centres_on_the_low_sides_of_the_bounding_box_are_left_out_and_those_on_the_high_side_drawn():
    """Edges x = 0.5 and y = 0.5 run through pixel centres at the box's minimum: those pixels are not
    drawn (lo = floor(min − 0.5) + 1 = 1); the hypotenuse x + y = 5 holds (1, 3), (2, 2), (3, 1): drawn."""
    pixels = np.array([[0.5, 0.5], [0.5, 4.5], [4.5, 0.5]])
    frags = rasterize(pixels, np.ones(3), np.array([[0, 1, 2]]), 6, 6)
    np.testing.assert_array_equal(frags.triangle, _rows(6, 6, [None, (1, 3), (1, 2), (1, 1)]))


def test_a_centre_just_past_the_bounding_box_is_not_drawn_despite_the_barycentric_tolerance():
    """The right edge x = 1.5 − 1e-12 misses the centres (1.5, i + 0.5) by 1e-12, within the −1e-9
    tolerance of the barycentric test (w_a = −1e-12 / 1.3): the box's hi = floor(1.0 − 1e-12) = 0
    keeps column 1 out. The thin triangle holds (0.5, 0.5) only (its left edge is x = 0.2 + 1.3 y / 4)."""
    d = 1e-12
    pixels = np.array([[0.2, 0.0], [1.5 - d, 4.0], [1.5 - d, 0.0]])
    frags = rasterize(pixels, np.ones(3), np.array([[0, 1, 2]]), 5, 3)
    np.testing.assert_array_equal(frags.triangle, _rows(5, 3, [(0, 0)]))


def test_pixels_past_the_right_or_bottom_edge_are_clipped_and_do_not_wrap_into_the_next_row():
    # a = (0, 0), b = (0, 4), c = (4, 4): area 0·4 − 4·4 = −16; centres with x ≤ y ≤ 4: row i has j ≤ i
    pixels = np.array([[0.0, 0.0], [0.0, 4.0], [4.0, 4.0]])
    narrow = rasterize(pixels, np.ones(3), np.array([[0, 1, 2]]), 5, 2)  # columns 2, 3 of rows 2, 3 clipped
    np.testing.assert_array_equal(narrow.triangle, _rows(5, 2, [(0, 0), (0, 1), (0, 1), (0, 1), None]))
    short = rasterize(pixels, np.ones(3), np.array([[0, 1, 2]]), 3, 6)  # row 3 lies below the image
    np.testing.assert_array_equal(short.triangle, _rows(3, 6, [(0, 0), (0, 1), (0, 2)]))


def test_a_triangle_low_in_a_tall_image_is_drawn():
    # the staircase of (0, 0), (0, 4), (4, 0) moved down by 4 rows, in an image 8 high and 3 wide
    pixels = np.array([[0.0, 4.0], [0.0, 8.0], [4.0, 4.0]])
    frags = rasterize(pixels, np.ones(3), np.array([[0, 1, 2]]), 8, 3)
    np.testing.assert_array_equal(frags.triangle, _rows(8, 3, [None] * 4 + [(0, 2), (0, 2), (0, 1), (0, 0)]))


def test_a_large_triangle_partly_left_of_and_above_the_image_is_drawn_whole_by_its_own_window():
    # lo = (−2, −2), hi = (5, 5): an 8-pixel box, more than max_window = 2, drawn on its own
    shifted = np.array([[-2.0, -2.0], [-2.0, 6.0], [6.0, -2.0]])
    frags = rasterize(shifted, np.ones(3), np.array([[0, 1, 2]]), 5, 6, max_window=2)
    np.testing.assert_array_equal(frags.triangle, _coverage_by_hand())


def test_triangles_are_grouped_by_the_width_and_height_of_their_box():
    from agelab.morphable.rasterize import _box_groups

    ids = np.array([10, 11, 12, 13, 14, 15])
    box = np.array([[2, 3], [3, 2], [2, 3], [1, 1], [8, 1], [9, 2]])  # (width, height)
    groups = sorted((g.tolist(), w, h) for g, w, h in _box_groups(ids, box, 8))
    # same width and height together, 2 × 3 apart from 3 × 2; a side over max_window: drawn on its own
    assert groups == [([10, 12], 2, 3), ([11], 3, 2), ([13], 1, 1), ([14], 8, 1), ([15], 9, 2)]
    # 9 is within max_window 9: 8 × 1 and 9 × 2 are groups of one by their sizes, not as large boxes
    assert sorted(len(g) for g, _, _ in _box_groups(ids, box, 9)) == [1, 1, 1, 1, 2]
    assert _box_groups(ids[:0], box[:0], 8) == []


def test_of_two_surfaces_at_the_same_depth_the_lower_triangle_index_wins_whatever_the_box_sizes():
    # the staircase triangle (box 4 × 4) and a larger one (box 6 × 5) over it at the same depth
    small = [[0.0, 0.0], [0.0, 4.0], [4.0, 0.0]]
    large = [[0.0, 0.0], [0.0, 5.0], [6.0, 0.0]]
    for first, second in ((small, large), (large, small)):
        frags = rasterize(np.array(first + second), np.ones(6), np.array([[0, 1, 2], [3, 4, 5]]), 5, 6)
        assert frags.triangle[0, 0] == 0 and frags.triangle[1, 1] == 0  # both hold these: index 0 wins
