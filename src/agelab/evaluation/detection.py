"""Detection quality: average precision at IoU 0.5 (PASCAL VOC's all-point interpolation), the figure the
FOSS detector is reported with against the dlib baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.ops import box_iou


@dataclass(frozen=True)
class ImageDetections:
    boxes: np.ndarray  # (N, 4) predicted, x0 y0 x1 y1
    scores: np.ndarray  # (N,)
    truth: np.ndarray  # (M, 4) ground-truth boxes


def average_precision(images: Sequence[ImageDetections], iou_threshold: float = 0.5) -> dict[str, float]:
    """AP over all images: detections sorted by score, each matched greedily to the best still-unmatched
    ground-truth box with IoU ≥ ``iou_threshold``; area under the monotone precision envelope."""
    records: list[tuple[float, bool]] = []
    total_truth = 0
    for image in images:
        truth = np.asarray(image.truth, np.float64).reshape(-1, 4)
        boxes = np.asarray(image.boxes, np.float64).reshape(-1, 4)
        scores = np.asarray(image.scores, np.float64).reshape(-1)
        total_truth += len(truth)
        order = np.argsort(-scores, kind="stable")
        matched = np.zeros(len(truth), bool)
        iou = (
            box_iou(torch.as_tensor(boxes[order]), torch.as_tensor(truth)).numpy()
            if len(truth) and len(boxes)
            else np.zeros((len(boxes), len(truth)))
        )
        for row, k in enumerate(order):
            hit = False
            if len(truth):
                candidates = np.where(~matched, iou[row], -1.0)
                best = int(np.argmax(candidates))
                if candidates[best] >= iou_threshold:
                    matched[best] = hit = True
            records.append((float(scores[k]), hit))
    if total_truth == 0:
        return {"ap": float("nan"), "recall": float("nan"), "faces": 0, "detections": len(records)}
    records.sort(key=lambda r: -r[0])
    hits = np.array([h for _, h in records], bool)
    tp = np.cumsum(hits)
    fp = np.cumsum(~hits)
    recall = tp / total_truth
    precision = tp / np.maximum(tp + fp, 1)
    envelope = np.concatenate(([0.0], precision, [0.0]))
    for i in range(len(envelope) - 2, -1, -1):
        envelope[i] = max(envelope[i], envelope[i + 1])
    steps = np.concatenate(([0.0], recall, [recall[-1] if len(recall) else 0.0]))
    ap = float(np.sum((steps[1:] - steps[:-1]) * envelope[1:]))
    return {
        "ap": ap,
        "recall": float(recall[-1]) if len(recall) else 0.0,
        "faces": int(total_truth),
        "detections": len(records),
    }
