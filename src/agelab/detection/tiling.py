"""Tiling augmentation (FOSS §3.3, Fig. 3): pseudo multi-person images made of 1, 4 or 9 tiles.

Each tile is one single-face image letterboxed into its cell; at most ``max_distinct`` different images
are loaded per tiled image ("for the sake of time efficiency, maximum of four images were loaded and some
tiles contained the same images"), so some tiles repeat an image. Face boxes follow their tile.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass
class FaceImage:
    """An image and its faces: boxes (N, 4) in its pixels, ages (N,) NaN where unknown, genders (N,)
    1 male / 0 female / −1 unknown."""

    image: np.ndarray  # (H, W, 3) uint8
    boxes: np.ndarray
    ages: np.ndarray
    genders: np.ndarray

    @classmethod
    def empty_labels(cls, image: np.ndarray) -> FaceImage:
        return cls(image, np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))


def letterbox_into(
    target: np.ndarray, source: FaceImage, x: int, y: int, width: int, height: int
) -> FaceImage:
    """Resize ``source`` to fit a ``width`` × ``height`` cell at (x, y) of ``target`` (aspect kept, centred);
    return the source's faces in ``target``'s pixels."""
    h, w = source.image.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    left, top = x + (width - new_w) // 2, y + (height - new_h) // 2
    resized = Image.fromarray(source.image).resize((new_w, new_h), Image.Resampling.BILINEAR)
    target[top : top + new_h, left : left + new_w] = np.asarray(resized)
    sx, sy = new_w / w, new_h / h
    boxes = source.boxes * np.array([sx, sy, sx, sy]) + np.array([left, top, left, top])
    return FaceImage(target, boxes, source.ages, source.genders)


def centred_on_canvas(image: np.ndarray, scale: float, fill: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """``image`` (pixels unchanged) at the centre of a ``fill`` canvas whose sides are ``1 / scale`` times
    its own: a face filling the image then fills ``scale`` of each side of the picture, as in a
    ``1 / scale`` × ``1 / scale`` tiling. Returns the canvas and the image's top-left corner (x, y) on it."""
    height, width = image.shape[:2]
    canvas_h, canvas_w = max(height, round(height / scale)), max(width, round(width / scale))
    if (canvas_h, canvas_w) == (height, width):
        return image, (0, 0)  # scale 1: no copy
    left, top = (canvas_w - width) // 2, (canvas_h - height) // 2
    canvas = np.full((canvas_h, canvas_w, *image.shape[2:]), fill, image.dtype)
    canvas[top : top + height, left : left + width] = image
    return canvas, (left, top)


def grid_for_scale(scale: float) -> int:
    """The grid ``g`` whose cells show an image at ``scale`` of each side: ``round(1 / scale)``, which must be
    within 0.05 of ``1 / scale`` (1/3 written as 0.333 gives 3; 0.4 gives none)."""
    if not 0 < scale <= 1:
        raise ValueError(f"an image scale must be in (0, 1], got {scale}")
    grid = round(1 / scale)
    if abs(1 / scale - grid) > 0.05:
        raise ValueError(f"image scale {scale} is not 1/g for a whole grid g (1/2 = 0.5, 1/3 = 0.333, ...)")
    return grid


def images_in_grid(
    images: Sequence[np.ndarray], grid: int, fill: int = 0
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Up to ``grid²`` images (pixels unchanged) in one ``grid`` × ``grid`` picture of square cells as large
    as the largest side among them, row by row, each centred in its cell: a 200 px image in a 3 × 3 grid
    fills a third of each side, as :func:`centred_on_canvas` at scale 1/3 shows it, with neighbours instead
    of black.
    Returns the picture and each image's rectangle on it, ``(left, top, right, bottom)``."""
    if not 0 < len(images) <= grid * grid:
        raise ValueError(f"a {grid} x {grid} grid holds 1 to {grid * grid} images, got {len(images)}")
    cell = max(max(image.shape[:2]) for image in images)
    picture = np.full((grid * cell, grid * cell, 3), fill, np.uint8)
    rectangles = []
    for index, image in enumerate(images):
        row, column = divmod(index, grid)
        height, width = image.shape[:2]
        left, top = column * cell + (cell - width) // 2, row * cell + (cell - height) // 2
        picture[top : top + height, left : left + width] = image
        rectangles.append((left, top, left + width, top + height))
    return picture, rectangles


def tile_images(
    load: Callable[[int], FaceImage],
    candidates: Sequence[int],
    size: int,
    tiles: int,
    rng: np.random.Generator,
    max_distinct: int = 4,
    fill: int = 0,
) -> FaceImage:
    """A ``size`` × ``size`` image of ``tiles`` (a square number) cells, each holding one of at most
    ``max_distinct`` images drawn from ``candidates`` (loaded with ``load``)."""
    grid = math.isqrt(tiles)
    if grid * grid != tiles:
        raise ValueError(f"tiles must be a square number (1, 4, 9, ...), got {tiles}")
    distinct = rng.choice(len(candidates), size=min(max_distinct, tiles, len(candidates)), replace=False)
    loaded = [load(int(candidates[int(i)])) for i in distinct]
    canvas = np.full((size, size, 3), fill, np.uint8)
    cell = size // grid
    boxes, ages, genders = [], [], []
    for k in range(tiles):
        source = loaded[k] if k < len(loaded) else loaded[int(rng.integers(len(loaded)))]
        row, column = divmod(k, grid)
        placed = letterbox_into(canvas, source, column * cell, row * cell, cell, cell)
        boxes.append(placed.boxes)
        ages.append(placed.ages)
        genders.append(placed.genders)
    return FaceImage(canvas, np.concatenate(boxes), np.concatenate(ages), np.concatenate(genders))
