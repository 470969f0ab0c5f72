import io

import numpy as np
import pytest
from PIL import Image

from agelab.preprocessing.images import UnreadableImageError, difference_hash, is_grayscale, load_rgb
from tests.conftest import jpeg_bytes


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
