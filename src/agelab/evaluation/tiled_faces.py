"""Many known-age faces in one image: scenes tiled from single-face test images, scored face by face.

The FOSS paper trains on tiled images (§3.3, Fig. 3) but scores multi-person age only on Images of Groups'
coarse groups. Here known ages meet many faces at once: the single-face **test** images (never training
ones) are laid out ``g × g`` per scene (each image letterboxed into its cell, as the tiling augmentation
does, but every tile a different face), the model sees the whole scene, and each true face takes the
highest-scoring detection above ``score_threshold`` whose box overlaps it by IoU ≥ ``iou``, each detection
used once (VOC's greedy rule). The same faces are also scored one by one (the largest face of each
image alone, §4.2's single-face rule), so the two MAEs are paired on the faces found both ways.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torchvision.ops import box_iou

from agelab.detection.boxes import largest_box_index
from agelab.detection.tiling import FaceImage, letterbox_into
from agelab.evaluation.multi_person import Predictor
from agelab.parallel import progress_bar
from agelab.training.foss_data import FaceRecord


def tile_scene(faces: Sequence[FaceImage], size: int, fill: int = 0) -> FaceImage:
    """One ``size`` × ``size`` scene of ``len(faces)`` (a square number) cells, one face image per cell in
    row-major order; the faces' boxes follow their cell."""
    grid = math.isqrt(len(faces))
    if grid * grid != len(faces) or not faces:
        raise ValueError(f"a tiled scene needs a square number of faces (1, 4, 9, ...), got {len(faces)}")
    canvas = np.full((size, size, 3), fill, np.uint8)
    cell = size // grid
    placed = [
        letterbox_into(canvas, face, (k % grid) * cell, (k // grid) * cell, cell, cell)
        for k, face in enumerate(faces)
    ]
    return FaceImage(
        canvas,
        np.concatenate([p.boxes for p in placed]),
        np.concatenate([p.ages for p in placed]),
        np.concatenate([p.genders for p in placed]),
    )


def match_faces(
    truth: np.ndarray, boxes: np.ndarray, scores: np.ndarray, score_threshold: float, iou: float = 0.5
) -> np.ndarray:
    """For each true box (M, 4), the index of its detection (−1: none): detections above the threshold,
    taken by decreasing score, each assigned to the unmatched true box it overlaps most if that IoU is at
    least ``iou``."""
    matched = np.full(len(truth), -1, np.int64)
    keep = np.flatnonzero(scores >= score_threshold)
    if not len(truth) or not len(keep):
        return matched
    overlaps = box_iou(torch.as_tensor(boxes[keep], dtype=torch.float64), torch.as_tensor(truth)).numpy()
    for row in np.argsort(-scores[keep], kind="stable"):
        candidates = np.where(matched < 0, overlaps[row], -1.0)
        best = int(np.argmax(candidates))
        if candidates[best] >= iou:
            matched[best] = keep[row]
    return matched


def tiled_face_mae(
    predict: Predictor,
    records: Sequence[FaceRecord],
    grid: int,
    size: int,
    score_threshold: float,
    *,
    seed: int = 0,
    iou: float = 0.5,
    show_progress: bool = False,
    label: str = "",
) -> dict[str, float]:
    """MAE of the faces of ``grid × grid`` scenes tiled from ``records`` (each a single-face image with its
    box and age; leftovers that do not fill a scene are not used), beside the same faces scored alone.
    ``found_*`` count the faces a prediction was matched to; ``paired_*`` use the faces found both ways."""
    order = np.random.default_rng(seed).permutation(len(records))
    per_scene = grid * grid
    tiled_errors, single_errors = {}, {}
    for start in progress_bar(
        range(0, len(order) - per_scene + 1, per_scene),
        desc=f"{grid}x{grid} scenes {label}".strip(),
        unit="scene",
        disable=not show_progress,
    ):
        chosen = [records[int(i)] for i in order[start : start + per_scene]]
        images = [record.load() for record in chosen]
        scene = tile_scene(images, size)
        faces = predict(scene.image)
        matched = match_faces(scene.boxes, faces.boxes, faces.scores, score_threshold, iou)
        for k, (record, detection) in enumerate(zip(chosen, matched, strict=True)):
            if detection >= 0 and np.isfinite(faces.ages[detection]):
                tiled_errors[record.path] = abs(float(faces.ages[detection]) - float(scene.ages[k]))
        for record, image in zip(chosen, images, strict=True):
            alone = predict(image.image)
            keep = alone.scores >= score_threshold
            largest = largest_box_index(alone.boxes[keep])
            if largest >= 0 and np.isfinite(alone.ages[keep][largest]):
                single_errors[record.path] = abs(float(alone.ages[keep][largest]) - float(record.ages[0]))
    faces_used = len(order) // per_scene * per_scene
    paired = sorted(set(tiled_errors) & set(single_errors))
    return {
        "grid": grid,
        "scenes": len(order) // per_scene,
        "faces": faces_used,
        "found_tiled": len(tiled_errors),
        "found_single": len(single_errors),
        "mae_tiled": _mean(tiled_errors.values()),
        "mae_single": _mean(single_errors.values()),
        "paired_faces": len(paired),
        "paired_mae_tiled": _mean(tiled_errors[p] for p in paired),
        "paired_mae_single": _mean(single_errors[p] for p in paired),
    }


def _mean(values) -> float:
    values = list(values)
    return float(np.mean(values)) if values else float("nan")
