"""The face crop: one function for training and inference, so both see exactly the same framing.

A square crop centred on the face box, its side ``(1 + 2 * margin)`` times the box's longer side,
resized to ``size`` × ``size``. Parts outside the image are filled by edge replication (no black
borders that a model could learn from). Returns the crop and the crop window in image pixels.

With ``CropSpec.align`` the crop is instead the similarity-aligned one of :mod:`agelab.faces.alignment`
(dlib's 68 landmarks → eyes, nose and mouth on a fixed template, same margin). :func:`face_crop` is the one
entry point the data pipeline and ``agelab predict`` both call, whichever framing a model was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from agelab.faces.alignment import align_face


@dataclass(frozen=True)
class CropSpec:
    size: int = 128
    margin: float = 0.2  # fraction of the box side added on every side
    align: bool = False  # similarity alignment from the 68 landmarks instead of the box crop


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


def window_matrix(window: tuple[float, float, float, float], size: int) -> np.ndarray:
    """``(2, 3)``: image pixels → pixels of the ``size`` crop of ``window`` (:func:`to_crop_coordinates`)."""
    x0, y0, x1, _y1 = window
    scale = size / (x1 - x0)
    return np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale]])


def apply_affine(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``(N, 2)`` points through a ``(2, 3)`` affine matrix."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def face_crop(
    image: np.ndarray,
    box: tuple[float, float, float, float],
    landmarks_68: np.ndarray | None,
    spec: CropSpec,
) -> tuple[np.ndarray, np.ndarray]:
    """The crop of one face as ``spec`` frames it, and its ``(2, 3)`` image → crop matrix: the box crop
    (:func:`crop_face`), or with ``spec.align`` the aligned crop from ``landmarks_68`` (image pixels)."""
    if spec.align:
        if landmarks_68 is None:
            raise ValueError("an aligned crop needs the face's 68 landmarks")
        return align_face(image, landmarks_68, spec.size, spec.margin)
    crop, window = crop_face(image, box, spec)
    return crop, window_matrix(window, spec.size)
