import io

import numpy as np
import pytest
from PIL import Image

from agelab.preprocessing.images import UnreadableImageError, difference_hash, is_grayscale, load_rgb
from tests.conftest import jpeg_bytes, png_header_only


def test_corrupt_truncated_empty_and_missing_files_say_which_and_why(tmp_path):
    (tmp_path / "text.jpg").write_bytes(b"this is not a jpeg")
    (tmp_path / "cut.jpg").write_bytes(jpeg_bytes(size=128)[:600])
    (tmp_path / "empty.jpg").write_bytes(b"")
    for name, reason in [
        ("text.jpg", "not a readable image"),
        ("cut.jpg", "not a readable image"),
        ("empty.jpg", "empty file"),
        ("gone.jpg", "file not found"),
    ]:
        with pytest.raises(UnreadableImageError, match=f"{name}: {reason}"):
            load_rgb(tmp_path / name)


def test_grayscale_detection(tmp_path):
    grey = np.asarray(Image.open(io.BytesIO(jpeg_bytes(grey=True))).convert("RGB"))
    colour = np.asarray(Image.open(io.BytesIO(jpeg_bytes())).convert("RGB"))
    assert is_grayscale(grey) and not is_grayscale(colour)


def test_dhash_survives_reencoding_and_resizing():
    rng = np.random.default_rng(0)
    smooth = np.kron(rng.integers(0, 255, (8, 8, 3)), np.ones((16, 16, 1))).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(smooth).resize((100, 100)).save(buffer, format="JPEG", quality=70)
    copy = np.asarray(Image.open(buffer).convert("RGB"))
    assert difference_hash(smooth) == difference_hash(copy)
    assert difference_hash(smooth) != difference_hash(smooth[::-1])


@pytest.mark.parametrize(
    ("width", "height", "reason"),
    [
        (
            30_000,
            30_000,
            "exceeds limit",
        ),  # 900 M pixels: Pillow's DecompressionBombError (over twice its limit)
        (10_000, 10_000, "exceeds limit"),  # 100 M pixels: Pillow's DecompressionBombWarning, made an error
    ],
)
def test_a_decompression_bomb_is_an_unreadable_image_naming_the_file(tmp_path, width, height, reason):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(width, height))
    with pytest.raises(UnreadableImageError, match=rf"bomb\.png: not a readable image \(.*{reason}"):
        load_rgb(path)


def test_an_image_over_max_pixels_is_refused_before_it_is_decoded(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (100, 60)).save(path)
    assert load_rgb(path, max_pixels=6000)[0].shape == (60, 100, 3)  # the limit itself is allowed
    with pytest.raises(UnreadableImageError, match=r"big\.png: image of 100 × 60 = 6,000 pixels is over the "
                       r"limit of 5,999 \(max_pixels\)"):  # fmt: skip
        load_rgb(path, max_pixels=5999)


def test_a_16_bit_grey_png_is_scaled_to_8_bits_not_clipped_to_white(tmp_path):
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)  # 257 · (0, 1, 128, 255)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)  # mode I;16
    assert Image.open(path).mode.startswith("I")
    image = load_rgb(path)[0]
    assert image.shape == (1, 4, 3)
    assert image[0, :, 0].tolist() == [0, 1, 128, 255] and (image == image[..., :1]).all()


def test_an_8_bit_image_is_decoded_unchanged(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "x.png")
    np.testing.assert_array_equal(load_rgb(tmp_path / "x.png")[0], pixels)
    grey = pixels[..., 0]
    Image.fromarray(grey).save(tmp_path / "g.png")
    np.testing.assert_array_equal(load_rgb(tmp_path / "g.png")[0], np.repeat(grey[..., None], 3, 2))
