"""Detection quality under the WIDER FACE / PASCAL VOC protocol: AP at IoU 0.5 and recall, overall and by
face size — the figures the FOSS detector (§4.3) is reported with against the dlib baseline.

Matching (PASCAL VOC, as in WIDER FACE's evaluation): every detection of the whole set is taken in order of
decreasing score; within its image it is assigned the ground-truth box of highest IoU. If that IoU is below
the threshold the detection is a false positive. Otherwise it is a true positive when that box is not yet
matched and a false positive when it is (a duplicate is *not* re-matched to another box). Ground-truth boxes
flagged ``ignore`` (WIDER's ``invalid``) are VOC's "difficult" boxes: detections assigned to them count as
neither, and they are not in recall's denominator.

AP is the area under the interpolated precision-recall curve with all-point interpolation (VOC2010 and
later, WIDER FACE): p_interp(r) = max_{r' ≥ r} p(r'), AP = Σ_i (r_i − r_{i−1}) · p_interp(r_i), summed over
the ranked detections (not VOC2007's 11 recall points).

Face size is the box *height* in image pixels (WIDER's difficulty settings are height-based):
:data:`SIZE_BUCKETS` large h ≥ 32, medium 16 ≤ h < 32, small h < 16. In a bucket's evaluation the matching
is the same as overall; ground truths outside the bucket become ignore boxes (so detections assigned to them
are ignored), and a detection assigned to no box (IoU below the threshold) is a false positive only if its
own height is inside the bucket, otherwise it is ignored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.ops import box_iou

#: name → [lowest, highest) box height in pixels
SIZE_BUCKETS: dict[str, tuple[float, float]] = {
    "large": (32.0, math.inf),
    "medium": (16.0, 32.0),
    "small": (0.0, 16.0),
}

TRUE_POSITIVE, FALSE_POSITIVE, IGNORED = 1, 0, -1
UNMATCHED = -1


@dataclass(frozen=True)
class ImageDetections:
    boxes: np.ndarray  # (N, 4) predicted, x0 y0 x1 y1
    scores: np.ndarray  # (N,)
    truth: np.ndarray  # (M, 4) ground-truth boxes
    ignore: np.ndarray | None = None  # (M,) bool, truth boxes neither to find nor to penalise; None: none


@dataclass(frozen=True)
class _Matched:
    """One image after VOC matching, before any ignore rule is applied."""

    scores: np.ndarray  # (N,)
    heights: np.ndarray  # (N,) detection heights
    truth_index: np.ndarray  # (N,) the assigned truth box, UNMATCHED where the best IoU is below threshold
    first: np.ndarray  # (N,) the highest-scoring detection assigned to its truth box
    truth_heights: np.ndarray  # (M,)
    ignore: np.ndarray  # (M,) bool


def _heights(boxes: np.ndarray) -> np.ndarray:
    return boxes[:, 3] - boxes[:, 1]


def _match(image: ImageDetections, iou_threshold: float) -> _Matched:
    truth = np.asarray(image.truth, np.float64).reshape(-1, 4)
    boxes = np.asarray(image.boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(image.scores, np.float64).reshape(-1)
    ignore = (
        np.zeros(len(truth), bool) if image.ignore is None else np.asarray(image.ignore, bool).reshape(-1)
    )
    if len(ignore) != len(truth):
        raise ValueError(f"{len(ignore)} ignore flags for {len(truth)} ground-truth boxes")
    truth_index = np.full(len(boxes), UNMATCHED)
    first = np.zeros(len(boxes), bool)
    if len(truth) and len(boxes):
        iou = box_iou(torch.tensor(boxes), torch.tensor(truth)).numpy()  # copies: inputs may be read-only
        best = iou.argmax(1)
        hit = iou[np.arange(len(boxes)), best] >= iou_threshold
        truth_index[hit] = best[hit]
        taken = np.zeros(len(truth), bool)
        for k in np.argsort(-scores, kind="stable"):
            if truth_index[k] != UNMATCHED and not taken[truth_index[k]]:
                taken[truth_index[k]] = first[k] = True
    return _Matched(scores, _heights(boxes), truth_index, first, _heights(truth), ignore)


def _outcomes(image: _Matched, size_range: tuple[float, float] | None) -> tuple[np.ndarray, int]:
    """Per detection TRUE_POSITIVE / FALSE_POSITIVE / IGNORED, and the number of faces to find."""
    ignore = image.ignore.copy()
    outside = np.zeros(len(image.scores), bool)
    if size_range is not None:
        low, high = size_range
        ignore |= (image.truth_heights < low) | (image.truth_heights >= high)
        outside = (image.heights < low) | (image.heights >= high)
    assigned = image.truth_index != UNMATCHED
    outcome = np.where(image.first, TRUE_POSITIVE, FALSE_POSITIVE)
    on_ignored = np.zeros(len(outcome), bool)
    on_ignored[assigned] = ignore[image.truth_index[assigned]]
    outcome[on_ignored] = IGNORED
    outcome[~assigned] = np.where(outside[~assigned], IGNORED, FALSE_POSITIVE)
    return outcome, int((~ignore).sum())


def precision_recall(
    images: Sequence[ImageDetections],
    iou_threshold: float = 0.5,
    size_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Precision and recall after each scored detection of the set (decreasing score), the number of faces
    to find and of ignored detections. Ignored detections are left out of the ranking."""
    return _curve([_match(image, iou_threshold) for image in images], size_range)


def _curve(
    images: Sequence[_Matched], size_range: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray, int, int]:
    scores, hits, faces, ignored = [np.zeros(0)], [np.zeros(0, bool)], 0, 0
    for image in images:
        outcome, n = _outcomes(image, size_range)
        scored = outcome != IGNORED
        scores.append(image.scores[scored])
        hits.append(outcome[scored] == TRUE_POSITIVE)
        faces += n
        ignored += int((~scored).sum())
    all_scores, all_hits = np.concatenate(scores), np.concatenate(hits)
    order = np.argsort(-all_scores, kind="stable")
    tp = np.cumsum(all_hits[order])
    fp = np.cumsum(~all_hits[order])
    recall = tp / faces if faces else np.full(len(tp), np.nan)
    precision = tp / np.maximum(tp + fp, 1)
    return precision, recall, faces, ignored


def interpolated_average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """All-point interpolated AP (VOC2010+, WIDER FACE): Σ_i (r_i − r_{i−1}) · max_{j ≥ i} p_j, r_0 = 0."""
    if not len(recall):
        return 0.0
    envelope = np.maximum.accumulate(np.asarray(precision, np.float64)[::-1])[::-1]
    steps = np.diff(np.concatenate(([0.0], np.asarray(recall, np.float64))))
    return float(np.sum(steps * envelope))


def average_precision(
    images: Sequence[ImageDetections],
    iou_threshold: float = 0.5,
    size_range: tuple[float, float] | None = None,
) -> dict[str, float]:
    """AP and final recall at ``iou_threshold`` (module docstring's protocol), optionally restricted to
    faces whose height is in ``size_range`` = [low, high). NaN when there is no face to find."""
    return _summary(*precision_recall(images, iou_threshold, size_range))


def _summary(precision: np.ndarray, recall: np.ndarray, faces: int, ignored: int) -> dict[str, float]:
    if faces == 0:
        ap = final_recall = float("nan")
    else:
        ap = interpolated_average_precision(precision, recall)
        final_recall = float(recall[-1]) if len(recall) else 0.0
    return {
        "ap": ap,
        "recall": final_recall,
        "faces": faces,
        "detections": len(precision),
        "ignored_detections": ignored,
    }


def wider_face_evaluation(images: Sequence[ImageDetections], iou_threshold: float = 0.5) -> dict:
    """Overall AP / recall and, under ``by_size``, the same for each of :data:`SIZE_BUCKETS` (one matching
    serves every bucket: only the ignore rules differ)."""
    matched = [_match(image, iou_threshold) for image in images]
    return {
        **_summary(*_curve(matched, None)),
        "ignored_faces": int(sum(m.ignore.sum() for m in matched)),
        "by_size": {name: _summary(*_curve(matched, bounds)) for name, bounds in SIZE_BUCKETS.items()},
    }
