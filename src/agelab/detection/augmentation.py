"""FOSS §4.2's default augmentation of training images: "random flip, random scaling, random crop, random
rotation, color jittering, random blur", with the face boxes transformed alike.

Scaling, crop and rotation are one affine map of the square canvas onto itself (CenterNet's way): a point
``p`` goes to ``s · R(θ) · (p − c) + canvas / 2``, so ``s`` > 1 zooms into the window of side canvas / s
around the crop centre ``c`` and ``s`` < 1 shrinks the image into black borders. A box becomes the
axis-aligned bounding box of its four transformed corners (the paper does not say how; with rotations of a
few degrees this widens a box by at most ``|cos θ| + |sin θ|``), clipped to the canvas; a box is dropped
when less than ``min_visible`` of that bounding box lies on the canvas or its clipped side is shorter than
``min_box_size`` pixels. The magnitudes are not given in the paper: scale and crop ranges and the colour
strengths follow CenterNet's defaults (scale ±0.4, shift 0.1, colour 0.4); rotation and blur are chosen
here. Every draw comes from the caller's generator, so the (seed, epoch, index) generator of
:class:`agelab.training.foss_data.FossImageSet` makes a resumed run see the same images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageFilter

from agelab.detection.tiling import FaceImage


@dataclass(frozen=True)
class Augmentation:
    """``parameters_foss.yml: foss.data.augmentation``; zero strengths switch a step off."""

    flip: bool = True  # horizontal, probability 0.5
    scale: tuple[float, float] = (0.6, 1.4)  # s uniform in this range
    shift: float = 0.1  # crop centre moves up to this fraction of the canvas each way
    rotation: float = 10.0  # θ uniform in ± this many degrees
    brightness: float = 0.4  # factors uniform in 1 ± each strength
    contrast: float = 0.4
    saturation: float = 0.4
    blur_probability: float = 0.2
    blur_sigma: tuple[float, float] = (0.5, 1.5)  # Gaussian σ in pixels, uniform in this range
    min_visible: float = 0.5  # drop a box with less of its area left on the canvas
    min_box_size: float = 2.0  # or with a clipped side shorter than this (pixels)


NO_AUGMENTATION = Augmentation(
    flip=False,
    scale=(1.0, 1.0),
    shift=0.0,
    rotation=0.0,
    brightness=0.0,
    contrast=0.0,
    saturation=0.0,
    blur_probability=0.0,
)


def affine_matrix(
    scale: float, degrees: float, centre: tuple[float, float], output_centre: tuple[float, float]
) -> np.ndarray:
    """The 2 × 3 map ``p ↦ scale · R · (p − centre) + output_centre``; R turns by ``degrees``
    counter-clockwise as the image is seen (y points down), so 90° takes the left edge to the bottom."""
    theta = math.radians(degrees)
    cos, sin = math.cos(theta), math.sin(theta)
    linear = scale * np.array([[cos, sin], [-sin, cos]])
    offset = np.asarray(output_centre, np.float64) - linear @ np.asarray(centre, np.float64)
    return np.concatenate((linear, offset[:, None]), 1)


def transform_boxes(
    boxes: np.ndarray, matrix: np.ndarray, size: int, min_visible: float = 0.5, min_box_size: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4) under ``matrix`` on a ``size`` × ``size`` canvas: the bounding boxes of the transformed
    corners, clipped, and the mask (N,) of the boxes kept (see the module's rule)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    x0, y0, x1, y1 = boxes.T
    corners = np.stack(
        (np.stack((x0, y0), -1), np.stack((x1, y0), -1), np.stack((x0, y1), -1), np.stack((x1, y1), -1)), 1
    )  # (N, 4 corners, 2)
    moved = corners @ matrix[:, :2].T + matrix[:, 2]
    bound = np.concatenate((moved.min(1), moved.max(1)), 1)
    clipped = np.clip(bound, 0, size)
    width, height = clipped[:, 2] - clipped[:, 0], clipped[:, 3] - clipped[:, 1]
    area = (bound[:, 2] - bound[:, 0]) * (bound[:, 3] - bound[:, 1])
    keep = (width >= min_box_size) & (height >= min_box_size) & (width * height >= min_visible * area)
    return clipped, keep


def warp_image(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The (H, W, 3) uint8 ``image`` under ``matrix`` on a ``size`` × ``size`` canvas (bilinear, black
    outside), in the same continuous pixel coordinates as the boxes."""
    inverse = np.linalg.inv(np.vstack((matrix, [0.0, 0.0, 1.0])))[:2]
    warped = Image.fromarray(image).transform(
        (size, size), Image.Transform.AFFINE, tuple(inverse.ravel()), Image.Resampling.BILINEAR
    )
    return np.array(warped)  # writable, for torch.from_numpy


def _keep(face_image: FaceImage, image: np.ndarray, boxes: np.ndarray, keep: np.ndarray) -> FaceImage:
    return FaceImage(image, boxes[keep], face_image.ages[keep], face_image.genders[keep])


def augment_geometry(
    face_image: FaceImage, augmentation: Augmentation, rng: np.random.Generator
) -> FaceImage:
    """Flip, then scale + crop + rotation (one affine map), then blur a square canvas image and its boxes."""
    a = augmentation
    size = face_image.image.shape[0]
    if a.flip and rng.random() < 0.5:
        boxes = face_image.boxes.copy()
        boxes[:, [0, 2]] = size - face_image.boxes[:, [2, 0]]
        face_image = FaceImage(face_image.image[:, ::-1].copy(), boxes, face_image.ages, face_image.genders)
    scale = rng.uniform(*a.scale)
    degrees = rng.uniform(-a.rotation, a.rotation)
    centre = size / 2 + a.shift * size * rng.uniform(-1, 1, 2)
    if scale != 1 or degrees != 0 or a.shift > 0:
        matrix = affine_matrix(scale, degrees, tuple(centre), (size / 2, size / 2))
        boxes, keep = transform_boxes(face_image.boxes, matrix, size, a.min_visible, a.min_box_size)
        face_image = _keep(face_image, warp_image(face_image.image, matrix, size), boxes, keep)
    if a.blur_probability > 0 and rng.random() < a.blur_probability:
        blurred = Image.fromarray(face_image.image).filter(
            ImageFilter.GaussianBlur(rng.uniform(*a.blur_sigma))
        )
        face_image = FaceImage(np.array(blurred), face_image.boxes, face_image.ages, face_image.genders)
    return face_image


def jitter_colour(image: torch.Tensor, augmentation: Augmentation, rng: np.random.Generator) -> torch.Tensor:
    """Brightness, contrast and saturation of a (3, H, W) image in [0, 1], each scaled by a factor uniform in
    1 ± its strength (torchvision's ColorJitter definitions: contrast about the mean grey level,
    saturation about each pixel's grey)."""
    a = augmentation
    factors = [rng.uniform(1 - s, 1 + s) if s > 0 else 1.0 for s in (a.brightness, a.contrast, a.saturation)]
    brightness, contrast, saturation = factors
    grey_weights = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype).view(3, 1, 1)
    image = (image * brightness).clamp(0, 1)
    mean = (image * grey_weights).sum(0).mean()
    image = ((image - mean) * contrast + mean).clamp(0, 1)
    grey = (image * grey_weights).sum(0, keepdim=True)
    return ((image - grey) * saturation + grey).clamp(0, 1)
