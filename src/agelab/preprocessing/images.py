"""Reading images defensively, and the cheap per-image facts cleaning needs."""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 89_478_485
"""Default pixel limit (width × height) of every decoded image: Pillow's own ``Image.MAX_IMAGE_PIXELS``
(a 256 MB 24-bit image). Larger images are skipped as unreadable; Pillow refuses anything over its own limit
anyway, so a higher ``max_pixels`` does not lift that. Lower it to bound the memory of a run or a server."""


class UnreadableImageError(ValueError):
    """An image file is missing, truncated, not an image or too large; the message says which and why."""


def load_rgb(path: str | Path, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, bytes]:
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
    return decode_rgb(data, str(path), max_pixels), data


def decode_rgb(data: bytes, source: str, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode an encoded image fully into an (H, W, 3) uint8 RGB array. Every decoder failure — not an
    image, truncated, over ``max_pixels`` or Pillow's decompression-bomb limits — is an
    :class:`UnreadableImageError` naming ``source``. 16-bit and 32-bit grey images are scaled to 8 bits, not
    clipped (a 16-bit PNG would otherwise decode to white)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise UnreadableImageError(
                        f"{source}: image of {width} × {height} = {width * height:,} pixels is over the "
                        f"limit of {max_pixels:,} (max_pixels)"
                    )
                image.load()  # forces a full decode: truncated files fail here
                rgb = _to_rgb(image)
    except UnreadableImageError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as exc:
        reason = re.sub(r" <_io\.BytesIO object at 0x[0-9a-f]+>", "", str(exc))  # same text every run
        raise UnreadableImageError(f"{source}: not a readable image ({reason})") from None
    return np.asarray(rgb)


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with high-bit-depth grey modes (``I;16*``, ``I``, ``F``) scaled to 0–255 first: 16-bit values
    (and 32-bit ones up to 65535) by 255 / 65535, floats in [0, 1] by 255."""
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if image.mode == "F" and values.size and np.nanmax(values) <= 1.0:
            scale = 255.0
        elif image.mode.startswith("I;16") or (values.size and values.max() > 255):
            scale = 255.0 / 65535.0
        else:  # an 'I' or 'F' image that already holds 8-bit values
            scale = 1.0
        grey = np.clip(np.nan_to_num(values) * scale + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    return image.convert("RGB")


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
