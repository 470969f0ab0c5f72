import numpy as np
import pytest

from agelab.detection.tiling import (
    FaceImage,
    centred_on_canvas,
    grid_for_scale,
    images_in_grid,
    letterbox_into,
    tile_images,
)


def _face_image(value: int, width: int = 100, height: int = 100) -> FaceImage:
    image = np.full((height, width, 3), value, np.uint8)
    return FaceImage(image, np.array([[20.0, 10.0, 80.0, 90.0]]), np.array([float(value)]), np.array([1]))


@pytest.mark.parametrize("tiles", [1, 4, 9])
def test_every_tile_carries_its_face_box_to_the_right_place(tiles):
    images = {i: _face_image(10 * (i + 1)) for i in range(6)}
    rng = np.random.default_rng(0)
    result = tile_images(images.__getitem__, list(images), 300, tiles, rng, max_distinct=4)
    assert result.image.shape == (300, 300, 3)
    assert len(result.boxes) == tiles
    grid = int(np.sqrt(tiles))
    cell = 300 // grid
    scale = cell / 100
    for k, (box, age) in enumerate(zip(result.boxes, result.ages, strict=True)):
        row, column = divmod(k, grid)
        expected = np.array([20, 10, 80, 90]) * scale + np.array([column, row, column, row]) * cell
        np.testing.assert_allclose(box, expected, atol=1e-6)
        # the pixels inside the box are the tile's own image (its fill value is its age)
        x0, y0, x1, y1 = np.round(box).astype(int)
        assert (result.image[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1] == age).all()
    assert len(set(result.ages.tolist())) <= 4  # at most four distinct images are loaded


def test_letterbox_keeps_the_aspect_and_centres():
    canvas = np.zeros((200, 200, 3), np.uint8)
    placed = letterbox_into(canvas, _face_image(50, width=100, height=50), 0, 0, 200, 200)
    # 100x50 -> 200x100, centred vertically: rows 50..150
    assert (canvas[50:150] == 50).all() and (canvas[:50] == 0).all() and (canvas[150:] == 0).all()
    np.testing.assert_allclose(placed.boxes[0], [40, 50 + 20, 160, 50 + 180])


def test_tiles_must_be_a_square_number():
    with pytest.raises(ValueError, match="square"):
        tile_images(lambda i: _face_image(1), [0], 100, 3, np.random.default_rng(0))


def test_an_image_without_labels_has_no_faces_of_any_kind():
    image = np.zeros((4, 6, 3), np.uint8)
    empty = FaceImage.empty_labels(image)
    assert empty.image is image
    assert empty.boxes.shape == (0, 4) and empty.ages.shape == (0,) and empty.genders.shape == (0,)
    assert empty.genders.dtype == np.int64


def test_letterbox_of_a_wide_image_by_hand():
    # 100 × 50 into a 40 × 40 cell at (10, 20): scale 0.4 → 40 × 20, centred 10 rows down
    source = _face_image(200, width=100, height=50)
    target = np.zeros((80, 80, 3), np.uint8)
    placed = letterbox_into(target, source, 10, 20, 40, 40)
    np.testing.assert_allclose(placed.boxes, [[10 + 8, 30 + 4, 10 + 32, 30 + 36]])
    assert (target[30:50, 10:50] == 200).all() and target[20:30].sum() == 0 and target[50:].sum() == 0
    # a 1-pixel-high sliver still occupies one row
    thin = FaceImage(np.full((1, 100, 3), 9, np.uint8), np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
    canvas = np.zeros((10, 10, 3), np.uint8)
    letterbox_into(canvas, thin, 0, 0, 10, 10)
    assert (canvas[:, :, 0] == 9).sum() == 10


def test_tiles_load_at_most_four_distinct_images_and_keep_every_label():
    loads = []

    def load(i: int) -> FaceImage:
        loads.append(i)
        return _face_image(10 + i)

    tiled = tile_images(load, list(range(9)), 90, 9, np.random.default_rng(0), fill=7)
    assert len(loads) == 4 and len(set(loads)) == 4  # §3.3: at most four images loaded
    assert tiled.boxes.shape == (9, 4) and tiled.genders.tolist() == [1] * 9
    assert set(tiled.ages.tolist()) <= {10.0 + i for i in loads} and tiled.image.dtype == np.uint8
    one, loads[:] = tile_images(load, [3, 5], 60, 1, np.random.default_rng(1)), []
    assert one.boxes.shape == (1, 4)
    small = tile_images(load, [3, 5], 60, 4, np.random.default_rng(1), fill=7)
    assert len(loads) == 2  # only two candidates: two distinct images, the other tiles repeat them
    assert small.boxes.shape == (4, 4)
    wide = tile_images(lambda i: _face_image(50, width=100, height=50), [0], 40, 1, np.random.default_rng(0))
    assert wide.image[:10].max() == 0 and (wide.image[10:30] == 50).all()  # fill defaults to black


def test_letterbox_of_a_tall_image_by_hand():
    # 50 × 100 (w × h) into a 40 × 40 cell at (10, 20): scale min(40/50, 40/100) = 0.4 → 20 × 40, centred
    # (40 − 20) // 2 = 10 columns right: columns 20..40, rows 20..60
    source = _face_image(200, width=50, height=100)
    target = np.zeros((80, 80, 3), np.uint8)
    placed = letterbox_into(target, source, 10, 20, 40, 40)
    assert placed.image is target
    # box (20, 10, 80, 90) · 0.4 + (20, 20) = (28, 24, 52, 56)
    np.testing.assert_allclose(placed.boxes, [[28.0, 24.0, 52.0, 56.0]])
    assert (target[20:60, 20:40] == 200).all() and target[:, :20].sum() == 0 and target[:, 40:].sum() == 0
    assert target[:20].sum() == 0 and target[60:].sum() == 0
    # a 1-pixel-wide sliver still occupies one column
    thin = FaceImage(np.full((100, 1, 3), 9, np.uint8), np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
    canvas = np.zeros((10, 10, 3), np.uint8)
    letterbox_into(canvas, thin, 0, 0, 10, 10)
    assert (canvas[:, :, 0] == 9).sum() == 10 and (canvas[:, 4, 0] == 9).all()  # column (10 − 1) // 2 = 4


def test_letterbox_resizes_bilinearly():
    # a 2 × 1 image (0, 200) doubled to 4 × 2: bilinear sample centres (i + 0.5) / 2 − 0.5 = −0.25, 0.25,
    # 0.75, 1.25 → 0 (edge), 0.25·200 = 50, 0.75·200 = 150, 200 (edge), on both rows
    source = FaceImage(np.array([[[0] * 3, [200] * 3]], np.uint8), np.zeros((0, 4)), np.zeros(0), np.zeros(0))
    target = np.zeros((2, 4, 3), np.uint8)
    letterbox_into(target, source, 0, 0, 4, 2)
    np.testing.assert_array_equal(target[:, :, 0], [[0, 50, 150, 200], [0, 50, 150, 200]])


def test_each_of_the_first_tiles_shows_its_own_loaded_image_and_loads_are_distinct():
    loads = []

    def load(i: int) -> FaceImage:
        loads.append(i)
        return _face_image(10 + i)

    tiled = tile_images(load, list(range(6)), 80, 4, np.random.default_rng(0))
    # four tiles, four distinct images loaded: tile k shows the k-th loaded image
    assert len(loads) == 4 and tiled.ages.tolist() == [10.0 + i for i in loads]
    for seed in range(20):  # two candidates for four tiles: both are loaded, never one twice
        loads[:] = []
        tile_images(load, [3, 5], 40, 4, np.random.default_rng(seed))
        assert sorted(loads) == [3, 5], seed
    loads[:] = []
    tile_images(load, list(range(9)), 40, 1, np.random.default_rng(0))
    assert len(loads) == 1  # one tile loads one image, not max_distinct


def test_an_image_centred_on_a_canvas_twice_its_size_by_hand():
    image = np.arange(2 * 4 * 3, dtype=np.uint8).reshape(2, 4, 3) + 1
    canvas, corner = centred_on_canvas(image, 0.5, fill=7)
    assert canvas.shape == (4, 8, 3) and corner == (2, 1)
    assert (canvas[1:3, 2:6] == image).all()
    outside = np.ones((4, 8), bool)
    outside[1:3, 2:6] = False
    assert (canvas[outside] == 7).all()


def test_an_image_at_scale_one_is_its_own_canvas():
    image = np.full((5, 3, 3), 200, np.uint8)
    canvas, corner = centred_on_canvas(image, 1.0)
    assert corner == (0, 0) and (canvas == image).all()


def test_images_in_a_grid_by_hand():
    """Three images in a 2 x 2 grid: cells 4 px (the largest side), row by row, each image centred in its
    cell, the fourth cell left black."""
    a = np.full((4, 4, 3), 10, np.uint8)
    b = np.full((2, 4, 3), 20, np.uint8)  # 2 high: one row of padding above and below in its cell
    c = np.full((4, 2, 3), 30, np.uint8)  # 2 wide: one column either side
    picture, rectangles = images_in_grid([a, b, c], 2)
    assert picture.shape == (8, 8, 3)
    assert rectangles == [(0, 0, 4, 4), (4, 1, 8, 3), (1, 4, 3, 8)]
    assert (
        (picture[0:4, 0:4] == 10).all()
        and (picture[1:3, 4:8] == 20).all()
        and (picture[4:8, 1:3] == 30).all()
    )
    assert (picture[0, 4:8] == 0).all() and (picture[4:8, 0] == 0).all() and (picture[4:8, 4:8] == 0).all()
    with pytest.raises(ValueError, match="1 to 4 images"):
        images_in_grid([a] * 5, 2)


@pytest.mark.parametrize(("scale", "grid"), [(1.0, 1), (0.5, 2), (0.333, 3), (1 / 3, 3), (0.25, 4)])
def test_the_grid_of_an_image_scale(scale, grid):
    assert grid_for_scale(scale) == grid


@pytest.mark.parametrize("scale", [0.4, 0.0, 1.5])
def test_a_scale_that_is_no_whole_grid_is_refused(scale):
    with pytest.raises(ValueError, match="scale"):
        grid_for_scale(scale)
