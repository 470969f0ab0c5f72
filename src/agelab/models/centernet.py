"""CenterNet face detector (Zhou et al., "Objects as Points"): the FOSS detection sub-network (§3.1, §4.2).

DLA-34 with the DLA-up / IDA-up neck gives a stride-4 feature; three heads (3×3 conv, ReLU, 1×1 conv)
predict the face-centre heatmap (one class), the box size and the sub-pixel centre offset. Input images are
letterboxed to a square ``input_size`` (paper 480) and normalised inside the module, so callers pass RGB in
[0, 1] at any resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from agelab.faces.crop_transforms import IMAGENET_MEAN, IMAGENET_STD
from agelab.models.bundle import register_architecture
from agelab.models.dla import DLASeg
from agelab.models.weights import load_weights

HEATMAP_PRIOR_BIAS = -2.19  # CenterNet: sigmoid(-2.19) = 0.1, a calm start for the focal loss
STRIDE = 4


@dataclass
class DetectorOutput:
    heatmap: torch.Tensor  # (B, 1, H/4, W/4) logits
    size: torch.Tensor  # (B, 2, H/4, W/4) box width, height in output-map cells
    offset: torch.Tensor  # (B, 2, H/4, W/4) sub-pixel centre offset
    feature: torch.Tensor  # (B, C, H/4, W/4) the backbone's stride-4 feature (FOSS intermediate feature)


def _head(in_channels: int, hidden: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(hidden, out_channels, 1),
    )


@register_architecture("centernet_face_detector")
class CenterNetFaceDetector(nn.Module):
    """DLA-34 CenterNet with heads for centre heatmap, size and offset (``head_conv`` hidden channels).

    ``pretrained_weights``: a state-dict file of the DLA-34 backbone (:class:`~agelab.models.dla.DLA`'s keys,
    which are CenterNet's and DLA's own, e.g. ImageNet DLA-34), loaded into ``backbone.base``."""

    def __init__(
        self,
        width: float = 1.0,
        head_conv: int = 256,
        deformable: bool = True,
        input_size: int = 480,
        pretrained_weights: str | None = None,  # a DLA-34 state dict you hold; bundles pass None
        backbone: str = "dla34",  # a key of agelab.models.dla.DLA_VARIANTS
    ) -> None:
        super().__init__()
        if input_size % 32:
            raise ValueError(f"detector input_size must be a multiple of 32, got {input_size}")
        self.input_size = input_size
        self.backbone = DLASeg(width, deformable, backbone)
        channels = self.backbone.out_channels
        self.heatmap = _head(channels, head_conv, 1)
        self.size = _head(channels, head_conv, 2)
        self.offset = _head(channels, head_conv, 2)
        nn.init.constant_(self.heatmap[-1].bias, HEATMAP_PRIOR_BIAS)
        for head in (self.size, self.offset):
            nn.init.normal_(head[-1].weight, std=0.001)
            nn.init.zeros_(head[-1].bias)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        if pretrained_weights:  # CenterNet starts from ImageNet DLA-34; its classifier (fc) has no use here
            load_weights(self.backbone.base, pretrained_weights, what="pretrained_weights", ignore=("fc.",))

    @property
    def feature_channels(self) -> int:
        return self.backbone.base.channels[DLASeg.first_level]

    def letterbox(self, images: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Resize (B, 3, H, W) so the longer side is ``input_size`` and pad to a square (bottom, right);
        returns the normalised network input and the scale from image to network pixels."""
        height, width = images.shape[-2:]
        scale = self.input_size / max(height, width)
        new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
        if (new_h, new_w) != (height, width):
            images = F.interpolate(images, size=(new_h, new_w), mode="bilinear", align_corners=False)
        images = (images - self.mean) / self.std
        if (new_h, new_w) != (self.input_size, self.input_size):
            images = F.pad(images, (0, self.input_size - new_w, 0, self.input_size - new_h))
        return images, scale

    def forward_network(self, network_input: torch.Tensor) -> DetectorOutput:
        neck, stride4 = self.backbone(network_input)
        return DetectorOutput(self.heatmap(neck), self.size(neck), self.offset(neck), stride4)

    def forward(self, images: torch.Tensor) -> DetectorOutput:
        network_input, _ = self.letterbox(images)
        return self.forward_network(network_input)
