"""AlexNet backbone and the appearance subnet (Savov et al. §3.2, Table 1).

The backbone is torchvision's AlexNet with its last fully connected layer removed (the paper: "As a
backbone, we use AlexNet with a removed last fully connected layer"), so it ends in the 4096-d fc7
features. The appearance subnet adds one linear layer with an output per integer age m..M; at test time
the age is the softmax expectation (Eq. 10).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn
from torchvision.models import alexnet

from agelab.losses.age import age_moments
from agelab.models.backbones import TORCHVISION_BACKBONES, load_torchvision_weights
from agelab.models.bundle import register_architecture

logger = logging.getLogger(__name__)


class AlexNetBackbone(nn.Module):
    """conv1–conv5 with their max-pools, adaptive pooling to 6×6, then fc6 and fc7 (4096-d)."""

    out_features = 4096

    def __init__(self, dropout: float = 0.5):
        super().__init__()
        net = alexnet(weights=None, dropout=dropout)
        self.features = net.features
        self.avgpool = net.avgpool
        self.classifier = nn.Sequential(*list(net.classifier.children())[:-1])  # drop fc8

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(images))
        return self.classifier(torch.flatten(x, 1))


def load_alexnet_weights(backbone: AlexNetBackbone, path: str | Path) -> None:
    """Load a torchvision AlexNet state dict the user holds (e.g. ImageNet weights), minus fc8."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained_weights: no file at {path.resolve()}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("classifier.6.")}
    missing, unexpected = backbone.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"{path}: not a torchvision AlexNet state dict (missing {missing}, unexpected {unexpected})"
        )
    logger.info("AlexNet backbone initialised from %s", path)


class AppearanceSubnet(nn.Module):
    """Backbone + linear layer over the integer ages ``min_age..max_age`` (logits). ``backbone`` is the
    paper's ``alexnet`` or one of :data:`agelab.models.backbones.TORCHVISION_BACKBONES`."""

    def __init__(
        self,
        min_age: int = 0,
        max_age: int = 80,
        dropout: float = 0.5,
        head_dropout: float = 0.0,
        backbone: str = "alexnet",
    ):
        super().__init__()
        if max_age <= min_age:
            raise ValueError(f"max_age ({max_age}) must exceed min_age ({min_age})")
        known = ["alexnet", *TORCHVISION_BACKBONES]
        if backbone not in known:
            raise ValueError(f"unknown backbone {backbone!r}; known: {known}")
        self.min_age, self.max_age = min_age, max_age
        self.backbone = (
            AlexNetBackbone(dropout) if backbone == "alexnet" else TORCHVISION_BACKBONES[backbone](dropout)
        )
        self.head_dropout = nn.Dropout(head_dropout)
        self.age_head = nn.Linear(self.backbone.out_features, max_age - min_age + 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.age_head(self.head_dropout(self.backbone(images)))

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Age (Eq. 10) and the standard deviation of the predicted age distribution."""
        logits = self(images)
        return age_moments(logits, self.min_age)


@register_architecture("appearance_subnet")
def appearance_subnet(
    min_age: int = 0,
    max_age: int = 80,
    *,
    pretrained_weights: str | None = None,
    dropout: float = 0.5,
    head_dropout: float = 0.0,
    backbone: str = "alexnet",
) -> AppearanceSubnet:
    """The appearance subnet. Without ``pretrained_weights`` it starts from random initialisation (the
    paper starts from ImageNet weights, which cannot be downloaded here: pass a file you hold: a torchvision
    state dict of the chosen ``backbone``)."""
    model = AppearanceSubnet(min_age, max_age, dropout, head_dropout, backbone)
    if pretrained_weights and backbone == "alexnet":
        load_alexnet_weights(model.backbone, pretrained_weights)
    elif pretrained_weights:
        load_torchvision_weights(model.backbone, pretrained_weights)
    else:
        logger.info("appearance subnet: random initialisation (no pretrained_weights given)")
    return model
