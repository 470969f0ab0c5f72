"""Face-box geometry for FOSS: crop regions with the paper's margins, IoU matching (§3.2's b_iou) and the
largest-face rule (§4.2)."""

from __future__ import annotations

import numpy as np
import torch
from torchvision.ops import box_iou, nms

TOP_MARGIN = 0.2  # §4.2: 20 % above the detected box
SIDE_MARGIN = 0.1  # 10 % at the other boundaries


def crop_regions(boxes: torch.Tensor, top: float = TOP_MARGIN, other: float = SIDE_MARGIN) -> torch.Tensor:
    """Boxes (..., 4) → the regions the facial cropping connection cuts out: ``top`` × height above,
    ``other`` × width left and right, ``other`` × height below."""
    x0, y0, x1, y1 = boxes.unbind(-1)
    w, h = x1 - x0, y1 - y0
    return torch.stack((x0 - other * w, y0 - top * h, x1 + other * w, y1 + other * h), -1)


def match_to_truth(
    predicted: torch.Tensor, truth: torch.Tensor, truth_mask: torch.Tensor, threshold: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each predicted box (B, K, 4), the best-overlapping real ground-truth box (B, M, 4; mask (B, M)):
    its index (B, K) and whether the IoU exceeds ``threshold`` (b_iou, §3.2)."""
    batch, k = predicted.shape[:2]
    best_index = torch.zeros(batch, k, dtype=torch.long, device=predicted.device)
    keep = torch.zeros(batch, k, dtype=torch.bool, device=predicted.device)
    for b in range(batch):
        real = truth_mask[b] > 0
        if not real.any():
            continue
        iou = box_iou(predicted[b].float(), truth[b].float())
        iou[:, ~real] = -1
        best, index = iou.max(1)
        best_index[b], keep[b] = index, best > threshold
    return best_index, keep


def box_areas(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def largest_box_index(boxes: np.ndarray) -> int:
    """Index of the largest box (the target face of a single-face test image, §4.2); -1 for none."""
    areas = box_areas(boxes)
    return int(np.argmax(areas)) if len(areas) else -1


def suppress_duplicates(boxes: torch.Tensor, scores: torch.Tensor, iou: float | None) -> torch.Tensor:
    """Indices (by decreasing score) of the boxes kept after non-maximum suppression at ``iou``; all of
    them when ``iou`` is None. CenterNet's 3×3 peak extraction replaces NMS in the paper, but on faces that
    fill the frame it leaves a second peak; counting faces (§4.2's exclusion rule) and reporting them needs
    one box per face."""
    if iou is None or len(boxes) == 0:
        return torch.argsort(scores, descending=True)
    return nms(boxes.float(), scores.float(), iou)
