"""CenterNet box encoding (training targets) and decoding (top-K peaks), FOSS §3.2 / §4.2.

A face box becomes a Gaussian peak at its centre on a stride-4 heatmap (radius from CornerNet's
overlap rule), its size (w, h in output cells) and the sub-pixel offset of its centre at the peak cell.
Decoding finds local maxima with a 3×3 max-pool, keeps the K highest and rebuilds the boxes; a confidence
threshold (paper 0.2) is applied by the caller, because training crops always use the K most probable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

STRIDE = 4


def gaussian_radius(height: float, width: float, min_overlap: float = 0.7) -> float:
    """CornerNet's radius: the largest corner shift that keeps IoU ≥ ``min_overlap`` (three cases)."""
    a1, b1 = 1.0, height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1**2 - 4 * a1 * c1)) / 2
    a2, b2 = 4.0, 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2**2 - 4 * a2 * c2)) / 2
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def draw_gaussian(heatmap: np.ndarray, centre: tuple[int, int], radius: int) -> None:
    """Element-wise max of ``heatmap`` and a Gaussian (σ = diameter / 6) peaking at 1 on ``centre``."""
    diameter = 2 * radius + 1
    sigma = diameter / 6
    ys, xs = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    gaussian = np.exp(-(xs * xs + ys * ys) / (2 * sigma * sigma))
    gaussian[gaussian < np.finfo(gaussian.dtype).eps * gaussian.max()] = 0
    x, y = centre
    height, width = heatmap.shape
    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)
    if right <= 0 or bottom <= 0 or left < 0 or top < 0:
        return
    region = heatmap[y - top : y + bottom, x - left : x + right]
    patch = gaussian[radius - top : radius + bottom, radius - left : radius + right]
    np.maximum(region, patch, out=region)


@dataclass
class DetectionTargets:
    """Targets of one image for :func:`agelab.losses.detection.centernet_loss`."""

    heatmap: np.ndarray  # (1, H, W) float32
    size: np.ndarray  # (M, 2) width, height in output cells
    offset: np.ndarray  # (M, 2)
    index: np.ndarray  # (M,) int64, y * W + x of each face's centre cell
    mask: np.ndarray  # (M,) float32, 1 for real faces

    def as_tensors(self) -> dict[str, torch.Tensor]:
        return {
            "heatmap": torch.from_numpy(self.heatmap),
            "size": torch.from_numpy(self.size),
            "offset": torch.from_numpy(self.offset),
            "index": torch.from_numpy(self.index),
            "mask": torch.from_numpy(self.mask),
        }


def encode_boxes(
    boxes: np.ndarray, output_size: tuple[int, int], max_objects: int, stride: int = STRIDE
) -> DetectionTargets:
    """Boxes (N, 4) ``x0, y0, x1, y1`` in network-input pixels → CenterNet targets on the stride-``stride``
    map of ``output_size`` = (H, W) cells, padded to ``max_objects`` rows (largest box first). Every box
    becomes a target: more boxes than ``max_objects`` is an error, never faces silently trained as
    background."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if len(boxes) > max_objects:
        raise ValueError(f"{len(boxes)} boxes do not fit max_objects={max_objects} target rows")
    height, width = output_size
    heatmap = np.zeros((1, height, width), np.float32)
    size = np.zeros((max_objects, 2), np.float32)
    offset = np.zeros((max_objects, 2), np.float32)
    index = np.zeros(max_objects, np.int64)
    mask = np.zeros(max_objects, np.float32)
    boxes = boxes / stride
    if len(boxes):
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        boxes = boxes[np.argsort(-areas, kind="stable")]
    k = 0
    for x0, y0, x1, y1 in boxes:
        x0, x1 = np.clip([x0, x1], 0, width - 1e-3)
        y0, y1 = np.clip([y0, y1], 0, height - 1e-3)
        w, h = x1 - x0, y1 - y0
        if w <= 0 or h <= 0:
            continue
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        ix, iy = int(cx), int(cy)
        radius = max(0, int(gaussian_radius(math.ceil(h), math.ceil(w))))
        draw_gaussian(heatmap[0], (ix, iy), radius)
        size[k] = (w, h)
        offset[k] = (cx - ix, cy - iy)
        index[k] = iy * width + ix
        mask[k] = 1
        k += 1
    return DetectionTargets(heatmap, size, offset, index, mask)


def gather(maps: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) maps, (B, M) flat cell indices → (B, M, C) values."""
    batch, channels = maps.shape[:2]
    flat = maps.view(batch, channels, -1)
    return flat.gather(2, index.unsqueeze(1).expand(-1, channels, -1)).transpose(1, 2)


def peaks(heatmap: torch.Tensor, kernel: int = 3) -> torch.Tensor:
    """Keep only the cells that are the maximum of their ``kernel`` × ``kernel`` neighbourhood."""
    pooled = F.max_pool2d(heatmap, kernel, stride=1, padding=(kernel - 1) // 2)
    return heatmap * (pooled == heatmap).to(heatmap.dtype)


def decode_boxes(
    heatmap_logits: torch.Tensor,
    size: torch.Tensor,
    offset: torch.Tensor,
    k: int,
    stride: int = STRIDE,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` faces per image: boxes (B, k, 4) in network-input pixels and confidences (B, k)."""
    scores = peaks(torch.sigmoid(heatmap_logits.float()))
    batch, _, height, width = scores.shape
    k = min(k, height * width)
    confidence, index = scores.view(batch, -1).topk(k)
    ys = torch.div(index, width, rounding_mode="floor").float()
    xs = (index % width).float()
    wh = gather(size.float(), index)
    off = gather(offset.float(), index)
    cx, cy = xs + off[..., 0], ys + off[..., 1]
    half_w, half_h = wh[..., 0] / 2, wh[..., 1] / 2
    boxes = torch.stack((cx - half_w, cy - half_h, cx + half_w, cy + half_h), -1) * stride
    return boxes, confidence
