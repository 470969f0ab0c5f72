"""The FOSS multi-person age network (Yoshimura & Ogata, §3.1, Fig. 2): one model that detects every face
and estimates each one's age and gender.

- Detection sub-network: :class:`~agelab.models.centernet.CenterNetFaceDetector` on the letterboxed image.
- Facial cropping connection: the K most probable boxes (top-K heatmap peaks), widened by 20 % above and
  10 % elsewhere, are cut from the *full-resolution* image with ``roi_align`` and resized to 160 × 224
  (W × H), one batch for all faces.
- Intermediate feature connection: the detector's stride-4 backbone feature, affine-sampled per crop region
  (bilinear, one sample per cell: ``roi_align`` with ``sampling_ratio=1``) to the age network's first
  stride-16 grid (10 × 14), is concatenated there; that block is narrower by the feature's width.
- Age sub-network: TResNet-S; two heads (1×1 conv, global average pool, dropout 0.2, FC): 101 ages and
  2 genders.

Images go in as RGB in [0, 1], (B, 3, H, W), any size; boxes come out in that image's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torchvision.ops import roi_align

from agelab.detection.boxes import SIDE_MARGIN, TOP_MARGIN, crop_regions
from agelab.detection.encoding import STRIDE, decode_boxes
from agelab.faces.crop_transforms import IMAGENET_MEAN, IMAGENET_STD
from agelab.models.bundle import register_architecture
from agelab.models.centernet import CenterNetFaceDetector, DetectorOutput
from agelab.models.tresnet import TResNet, conv_bn_act, tresnet_layers
from agelab.models.weights import load_weights

NUM_AGES = 101  # 0..100 (FOSS §4.2: 101-way)
AGE_FEATURE_STRIDE = 16


@dataclass
class FossOutput:
    detector: DetectorOutput
    boxes: torch.Tensor  # (B, K, 4) detected boxes, image pixels
    scores: torch.Tensor  # (B, K) detection confidence
    age_logits: torch.Tensor  # (B, K, 101)
    gender_logits: torch.Tensor  # (B, K, 2); class 1 = male


class AttributeHead(nn.Module):
    """1×1 conv, global average pooling, dropout, fully connected (FOSS §4.2)."""

    def __init__(self, in_channels: int, hidden: int, classes: int, dropout: float) -> None:
        super().__init__()
        self.conv = conv_bn_act(in_channels, hidden, 1, slope=1e-2)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.conv(x).mean((2, 3))))


@register_architecture("foss")
class FossNet(nn.Module):
    def __init__(
        self,
        detector_width: float = 1.0,
        head_conv: int = 256,
        deformable: bool = True,
        detector_input: int = 480,
        age_width: float = 0.9,
        age_backbone: str = "tresnet_s",
        crop_width: int = 160,
        crop_height: int = 224,
        intermediate_feature: bool = True,
        intermediate_channels: int = 48,
        head_channels: int = 512,
        dropout: float = 0.2,
        top_k: int = 20,
        score_threshold: float = 0.2,
        top_margin: float = TOP_MARGIN,
        side_margin: float = SIDE_MARGIN,
        pretrained_weights: str | None = None,  # the whole FossNet; bundles pass None
        detector_backbone_weights: str | None = None,
        age_backbone_weights: str | None = None,
        detector_backbone: str = "dla34",
        age_layers: tuple[int, int, int, int] | None = None,  # bundles saved before age_backbone named it
        project_feature: bool = False,
    ) -> None:
        """State-dict files you hold (nothing is downloaded): ``pretrained_weights`` the whole model (§4.2's
        "from the weight trained with IMDB-WIKI"), or its parts: ``detector_backbone_weights`` DLA-34,
        ``age_backbone_weights`` the TResNet (this module's layout, stage 3's first block narrower by the
        intermediate feature). ``detector_backbone`` / ``age_backbone`` name the variants
        (:data:`~agelab.models.dla.DLA_VARIANTS`, :data:`~agelab.models.tresnet.TRESNET_VARIANTS`).
        The detector's feature goes through a 1×1 projection to ``intermediate_channels`` where the widths
        differ, and always with ``project_feature`` (what :meth:`start_from_age_network` needs)."""
        super().__init__()
        if crop_width % AGE_FEATURE_STRIDE or crop_height % AGE_FEATURE_STRIDE:
            raise ValueError(f"crop size must be a multiple of 16, got {crop_width}×{crop_height}")
        if pretrained_weights and (detector_backbone_weights or age_backbone_weights):
            raise ValueError(
                "give either pretrained_weights (the whole model) or detector_backbone_weights / "
                "age_backbone_weights (its parts), not both"
            )
        self.detector = CenterNetFaceDetector(
            detector_width,
            head_conv,
            deformable,
            detector_input,
            detector_backbone_weights,
            detector_backbone,
        )
        self.crop_size = (crop_height, crop_width)
        self.feature_grid = (crop_height // AGE_FEATURE_STRIDE, crop_width // AGE_FEATURE_STRIDE)
        self.intermediate_feature = intermediate_feature
        extra = intermediate_channels if intermediate_feature else 0
        feature_channels = self.detector.feature_channels
        self.feature_projection = (
            nn.Conv2d(feature_channels, extra, 1)
            if intermediate_feature and (project_feature or extra != feature_channels)
            else None
        )
        layers = tuple(age_layers) if age_layers is not None else tresnet_layers(age_backbone)
        self.age_backbone = TResNet(layers, age_width, extra)
        self.age_head = AttributeHead(self.age_backbone.num_features, head_channels, NUM_AGES, dropout)
        self.gender_head = AttributeHead(self.age_backbone.num_features, head_channels, 2, dropout)
        self.top_k = top_k
        self.score_threshold = score_threshold
        self.margins = (top_margin, side_margin)
        self.detector_frozen = False
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        if age_backbone_weights:
            load_weights(self.age_backbone, age_backbone_weights, what="age_backbone_weights")
        if pretrained_weights:
            load_weights(self, pretrained_weights, what="pretrained_weights")

    # -- training modes (§3.3: frozen detector or end to end) -------------------------------------
    def freeze_detector(self, frozen: bool = True) -> None:
        self.detector_frozen = frozen
        for p in self.detector.parameters():
            p.requires_grad_(not frozen)
        self.train(self.training)

    def train(self, mode: bool = True) -> FossNet:
        super().train(mode)
        if self.detector_frozen:
            self.detector.eval()  # frozen BatchNorm statistics too
        return self

    # -- forward ----------------------------------------------------------------------------------
    def forward(self, images: torch.Tensor, k: int | None = None) -> FossOutput:
        k = k or self.top_k
        network_input, scale = self.detector.letterbox(images)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.detector_frozen):
            detection = self.detector.forward_network(network_input)
        with torch.no_grad():
            boxes, scores = decode_boxes(detection.heatmap, detection.size, detection.offset, k)
        boxes = boxes / scale
        age_logits, gender_logits = self.estimate(images, boxes, detection.feature, scale)
        return FossOutput(detection, boxes, scores, age_logits, gender_logits)

    def estimate(
        self, images: torch.Tensor, boxes: torch.Tensor, feature: torch.Tensor, scale: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Age and gender logits (B, K, ·) for boxes (B, K, 4) in image pixels."""
        batch, k = boxes.shape[:2]
        regions = crop_regions(boxes, *self.margins).reshape(-1, 4)
        batch_index = torch.arange(batch, device=boxes.device).repeat_interleave(k)[:, None].to(regions.dtype)
        rois = torch.cat((batch_index, regions), 1)
        crops = roi_align(images, rois.to(images.dtype), self.crop_size, 1.0, -1, aligned=True)
        extra = None
        if self.intermediate_feature:
            extra = roi_align(
                feature, rois.to(feature.dtype), self.feature_grid, scale / STRIDE, 1, aligned=True
            )
            if self.feature_projection is not None:
                extra = self.feature_projection(extra)
        crops = (crops - self.mean) / self.std
        features = self.age_backbone(crops, extra)
        return (
            self.age_head(features).view(batch, k, -1),
            self.gender_head(features).view(batch, k, -1),
        )

    def age_network(self) -> FaceCropAgeNetwork:
        """The age sub-network alone on face crops, sharing this model's weights (see
        :class:`FaceCropAgeNetwork`)."""
        return FaceCropAgeNetwork(self)

    def start_from_age_network(self, state: dict[str, torch.Tensor]) -> None:
        """Load a :class:`FaceCropAgeNetwork`'s weights (trained on crops alone, the feature's channels zero)
        and zero the intermediate feature's projection, so that this model's age and gender outputs start as
        that network's on the same crops; the joined stage then learns how much of the detector's feature to
        use. A model that concatenates the feature without a projection (equal widths, ``project_feature``
        false) could not start there, and is refused."""
        if self.intermediate_feature and self.feature_projection is None:
            raise ValueError(
                "this model concatenates the detector's feature without a projection, so it cannot start "
                "from an age network trained without it; build it with project_feature=True"
            )
        expected = set(self.age_network().state_dict())
        if set(state) != expected:
            missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
            raise ValueError(
                "not the weights of this model's age network: "
                f"missing {missing[:3]}, unexpected {unexpected[:3]}"
            )
        self.age_network().load_state_dict(state)
        if self.feature_projection is not None:
            nn.init.zeros_(self.feature_projection.weight)
            if self.feature_projection.bias is not None:
                nn.init.zeros_(self.feature_projection.bias)


class FaceCropAgeNetwork(nn.Module):
    """FOSS's age sub-network (TResNet and the age and gender heads) on face crops alone, the detector's
    intermediate feature replaced by zeros: what a single-face age set trains before the joined stage
    (:mod:`agelab.training.foss_age_pretraining`). Its weights are the :class:`FossNet`'s it was made from
    (shared, not copied); the detector is not part of it."""

    def __init__(self, model: FossNet) -> None:
        super().__init__()
        self.age_backbone = model.age_backbone
        self.age_head = model.age_head
        self.gender_head = model.gender_head
        self.feature_grid = model.feature_grid
        self.register_buffer("mean", model.mean.clone(), persistent=False)
        self.register_buffer("std", model.std.clone(), persistent=False)

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Age and gender logits (N, ·) of crops (N, 3, crop_height, crop_width) in [0, 1]."""
        crops = (crops - self.mean) / self.std
        extra = None
        if self.age_backbone.extra_channels:
            extra = crops.new_zeros(len(crops), self.age_backbone.extra_channels, *self.feature_grid)
        features = self.age_backbone(crops, extra)
        return self.age_head(features), self.gender_head(features)
