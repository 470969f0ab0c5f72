"""Many known-age faces in one image: scenes tiled from single-face test images, scored face by face.

The FOSS paper trains on tiled images (§3.3, Fig. 3) but scores multi-person age only on Images of Groups'
coarse groups. Here known ages meet many faces at once: the single-face **test** images (never training
ones) are laid out ``g × g`` per scene (each image letterboxed into its cell, as the tiling augmentation
does, but every tile a different image), the model sees the whole scene, and each cell's face takes the
highest-scoring detection above ``score_threshold`` whose box centre lies in that cell. No box is compared,
so a detector is not favoured for drawing boxes of one shape or another, and no detection serves two faces.
The same images are also scored one by one (the largest face of each image alone, §4.2's single-face rule),
so the two MAEs are paired on the faces found both ways.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from agelab.detection.boxes import largest_box_index
from agelab.detection.tiling import FaceImage, letterbox_into
from agelab.evaluation.multi_person import Predictor
from agelab.parallel import progress_bar
from agelab.training.foss_data import FaceRecord


def scene_cells(faces: int, size: int) -> np.ndarray:
    """The ``(faces, 4)`` cells (x0, y0, x1, y1) of a ``size`` × ``size`` scene of ``faces`` (a square number)
    tiles, in row-major order."""
    grid = math.isqrt(faces)
    if faces < 1 or grid * grid != faces:
        raise ValueError(f"a tiled scene needs a square number of faces (1, 4, 9, ...), got {faces}")
    cell = size // grid
    return np.array(
        [
            [(k % grid) * cell, (k // grid) * cell, (k % grid + 1) * cell, (k // grid + 1) * cell]
            for k in range(faces)
        ],
        np.float64,
    )


def tile_scene(faces: Sequence[FaceImage], size: int, fill: int = 0) -> FaceImage:
    """One ``size`` × ``size`` scene, one face image letterboxed into each cell of :func:`scene_cells`; the
    images' labels (and boxes, if they have any) follow their cell."""
    cells = scene_cells(len(faces), size).astype(int)
    canvas = np.full((size, size, 3), fill, np.uint8)
    placed = [
        letterbox_into(canvas, face, x0, y0, x1 - x0, y1 - y0)
        for face, (x0, y0, x1, y1) in zip(faces, cells, strict=True)
    ]
    return FaceImage(
        canvas,
        np.concatenate([p.boxes.reshape(-1, 4) for p in placed]),
        np.concatenate([p.ages for p in placed]),
        np.concatenate([p.genders for p in placed]),
    )


def match_cells(
    cells: np.ndarray, boxes: np.ndarray, scores: np.ndarray, score_threshold: float
) -> np.ndarray:
    """For each cell ``(M, 4)``, the index of the highest-scoring detection at or above the threshold whose
    box centre lies in it (−1: none). A centre lies in one cell only, so no detection serves two faces."""
    matched = np.full(len(cells), -1, np.int64)
    if not len(boxes):
        return matched
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    for k, (x0, y0, x1, y1) in enumerate(cells):
        inside = (
            (scores >= score_threshold)
            & (centres[:, 0] >= x0)
            & (centres[:, 0] < x1)
            & (centres[:, 1] >= y0)
            & (centres[:, 1] < y1)
        )
        if inside.any():
            candidates = np.flatnonzero(inside)
            matched[k] = candidates[np.argmax(scores[candidates])]
    return matched


def tiled_face_mae(
    predict: Predictor,
    records: Sequence[FaceRecord],
    grid: int,
    size: int,
    score_threshold: float,
    *,
    seed: int = 0,
    show_progress: bool = False,
    label: str = "",
) -> dict[str, float]:
    """MAE of the faces of ``grid × grid`` scenes tiled from ``records`` (single-face images with their age;
    leftovers that do not fill a scene are not used), beside the same faces scored alone. ``found_*`` count
    the faces a prediction was matched to; ``paired_*`` use the faces found both ways."""
    if grid < 1:
        raise ValueError(f"grid must be at least 1, got {grid}")
    order = np.random.default_rng(seed).permutation(len(records))
    per_scene = grid * grid
    cells = scene_cells(per_scene, size)
    tiled_errors: dict[int, float] = {}
    single_errors: dict[int, float] = {}
    for start in progress_bar(
        range(0, len(order) - per_scene + 1, per_scene),
        desc=f"{grid}x{grid} scenes {label}".strip(),
        unit="scene",
        disable=not show_progress,
    ):
        chosen = [int(i) for i in order[start : start + per_scene]]
        images = [records[i].load() for i in chosen]
        faces = predict(tile_scene(images, size).image)
        matched = match_cells(cells, faces.boxes, faces.scores, score_threshold)
        for i, detection in zip(chosen, matched, strict=True):
            if detection >= 0 and np.isfinite(faces.ages[detection]):
                tiled_errors[i] = abs(float(faces.ages[detection]) - float(records[i].ages[0]))
        for i, image in zip(chosen, images, strict=True):
            alone = predict(image.image)
            keep = alone.scores >= score_threshold
            largest = largest_box_index(alone.boxes[keep])
            if largest >= 0 and np.isfinite(alone.ages[keep][largest]):
                single_errors[i] = abs(float(alone.ages[keep][largest]) - float(records[i].ages[0]))
    paired = sorted(set(tiled_errors) & set(single_errors))
    return {
        "grid": grid,
        "scenes": len(order) // per_scene,
        "faces": len(order) // per_scene * per_scene,
        "found_tiled": len(tiled_errors),
        "found_single": len(single_errors),
        "mae_tiled": _mean(tiled_errors.values()),
        "mae_single": _mean(single_errors.values()),
        "paired_faces": len(paired),
        "paired_mae_tiled": _mean(tiled_errors[i] for i in paired),
        "paired_mae_single": _mean(single_errors[i] for i in paired),
    }


def _mean(values) -> float:
    values = list(values)
    return float(np.mean(values)) if values else float("nan")
