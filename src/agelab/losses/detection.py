"""CenterNet's detection loss, FOSS §3.2: L_det = L_reg + λ_size · L_size + λ_off · L_off.

L_reg is the penalty-reduced pixel-wise focal loss on the centre heatmap (α = 2, β = 4, normalised by the
number of faces); L_size and L_off are L1 losses on the box size and the sub-pixel offset, taken at the
faces' centre cells only.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from agelab.detection.encoding import gather
from agelab.models.centernet import DetectorOutput


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0
) -> torch.Tensor:
    """Penalty-reduced focal loss between heatmap logits and Gaussian-splatted targets (peaks = 1)."""
    pred = torch.sigmoid(logits.float()).clamp(1e-4, 1 - 1e-4)
    positive = target.eq(1).float()
    negative_weight = (1 - target).pow(beta)
    pos_loss = (torch.log(pred) * (1 - pred).pow(alpha) * positive).sum()
    neg_loss = (torch.log(1 - pred) * pred.pow(alpha) * negative_weight * (1 - positive)).sum()
    count = positive.sum()
    return -(pos_loss + neg_loss) / count.clamp(min=1)


def masked_l1(
    prediction: torch.Tensor, index: torch.Tensor, mask: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """L1 between the prediction gathered at ``index`` (B, M) and ``target`` (B, M, C), over real faces."""
    values = gather(prediction.float(), index)
    weight = mask.unsqueeze(-1).expand_as(values)
    return F.l1_loss(values * weight, target * weight, reduction="sum") / (weight.sum() + 1e-4)


def centernet_loss(
    output: DetectorOutput,
    targets: Mapping[str, torch.Tensor],
    lambda_size: float = 0.1,
    lambda_offset: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """L_det and its parts (for logging)."""
    heat = focal_loss(output.heatmap, targets["heatmap"])
    size = masked_l1(output.size, targets["index"], targets["mask"], targets["size"])
    offset = masked_l1(output.offset, targets["index"], targets["mask"], targets["offset"])
    total = heat + lambda_size * size + lambda_offset * offset
    return total, {
        "heatmap": float(heat.detach()),
        "size": float(size.detach()),
        "offset": float(offset.detach()),
    }
