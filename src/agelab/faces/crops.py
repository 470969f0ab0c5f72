"""The face crop: one function for training and inference, so both see exactly the same framing.

A square crop centred on the face box, its side ``(1 + 2 * margin)`` times the box's longer side,
resized to ``size`` × ``size``. Parts outside the image are filled by edge replication (no black
borders that a model could learn from). Returns the crop and the crop window in image pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class CropSpec:
    size: int = 128
    margin: float = 0.2  # fraction of the box side added on every side


def crop_window(box: tuple[float, float, float, float], margin: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def crop_face(
    image: np.ndarray, box: tuple[float, float, float, float], spec: CropSpec
) -> tuple[np.ndarray, tuple]:
    """Crop ``image`` (H, W, 3 uint8) around ``box``; return ``(crop, window)``."""
    window = crop_window(box, spec.margin)
    x0, y0, x1, y1 = window
    h, w = image.shape[:2]
    pad = int(np.ceil(max(0, -x0, -y0, x1 - w, y1 - h))) + 1
    source = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge") if pad > 1 else image
    offset = pad if pad > 1 else 0
    pil = Image.fromarray(source)
    crop = pil.resize(
        (spec.size, spec.size),
        Image.Resampling.BILINEAR,
        box=(x0 + offset, y0 + offset, x1 + offset, y1 + offset),
    )
    return np.asarray(crop), window


def to_crop_coordinates(
    points: np.ndarray, window: tuple[float, float, float, float], size: int
) -> np.ndarray:
    """Map image-pixel points into the crop's pixel frame."""
    x0, y0, x1, _y1 = window
    scale = size / (x1 - x0)
    return (points - np.array([x0, y0])) * scale
