import numpy as np
import pytest

from agelab.detection.tiling import FaceImage, letterbox_into, tile_images


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
