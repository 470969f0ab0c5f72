"""Reading images defensively, and the cheap per-image facts cleaning needs."""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError


class UnreadableImageError(ValueError):
    """An image file is missing, truncated or not an image; the message says which and why."""


def load_rgb(path: str | Path) -> tuple[np.ndarray, bytes]:
    """Decode ``path`` fully into an RGB uint8 array; also return the file's bytes (for hashing)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableImageError(f"{path}: file not found") from None
    except OSError as exc:
        raise UnreadableImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise UnreadableImageError(f"{path}: empty file")
    try:
        import io

        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # forces a full decode: truncated files fail here
                rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        reason = re.sub(r" <_io\.BytesIO object at 0x[0-9a-f]+>", "", str(exc))  # same text every run
        raise UnreadableImageError(f"{path}: not a readable image ({reason})") from None
    return np.asarray(rgb), data


def is_grayscale(image: np.ndarray, channel_tolerance: int = 12, colour_fraction: float = 0.01) -> bool:
    """True for black-and-white photos stored as RGB: under ``colour_fraction`` of the pixels differ
    between channels by more than ``channel_tolerance`` levels (JPEG chroma noise stays below that)."""
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    small = image[:: max(1, image.shape[0] // 128), :: max(1, image.shape[1] // 128)].astype(np.int16)
    spread = small.max(axis=2) - small.min(axis=2)
    return float((spread > channel_tolerance).mean()) < colour_fraction


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def thumbnail(image: np.ndarray, size: int = 16) -> bytes:
    """A ``size`` × ``size`` greyscale thumbnail (box-filtered), for confirming perceptual matches."""
    grey = Image.fromarray(image).convert("L").resize((size, size), Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.uint8).tobytes()


def thumbnail_difference(a: bytes, b: bytes) -> float:
    """Mean absolute difference of two thumbnails, in grey levels (0–255)."""
    return float(np.abs(np.frombuffer(a, np.uint8).astype(np.int16) - np.frombuffer(b, np.uint8)).mean())


def difference_hash(image: np.ndarray, size: int = 8) -> int:
    """64-bit perceptual dHash: the sign of horizontal brightness steps on a 9×8 thumbnail. Re-encoded
    or resized copies of an image have (nearly) the same hash."""
    grey = Image.fromarray(image).convert("L").resize((size + 1, size), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.int16)
    bits = (pixels[:, 1:] > pixels[:, :-1]).ravel()
    return int(np.packbits(bits).view(">u8")[0])
