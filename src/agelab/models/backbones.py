"""Feature extractors the appearance subnet can be built on, by name.

The paper's configuration is AlexNet without its last fully connected layer (Savov et al. §3.2). For real
photos on a CPU budget a user may pick another torchvision network (He et al.'s ResNet-18/34, Howard et al.'s
MobileNetV3): each is the torchvision model with its ImageNet classifier's last layer removed, so the
appearance subnet's age head (one output per integer age, Eq. 10) sits on its penultimate features.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torchvision.models import mobilenet_v3_large, mobilenet_v3_small, resnet18, resnet34


class TorchvisionBackbone(nn.Module):
    """A torchvision classifier with its last linear layer replaced by the identity."""

    def __init__(self, network: nn.Module, out_features: int):
        super().__init__()
        self.network = network
        self.out_features = out_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images)


def _resnet(constructor: Callable[..., nn.Module]) -> Callable[[float], TorchvisionBackbone]:
    def build(dropout: float) -> TorchvisionBackbone:
        network = constructor(weights=None)
        features = network.fc.in_features
        network.fc = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        return TorchvisionBackbone(network, features)

    return build


def _mobilenet(constructor: Callable[..., nn.Module]) -> Callable[[float], TorchvisionBackbone]:
    def build(dropout: float) -> TorchvisionBackbone:
        network = constructor(weights=None, dropout=dropout)
        features = network.classifier[-1].in_features
        network.classifier[-1] = nn.Identity()  # keep Linear, Hardswish, Dropout before it
        return TorchvisionBackbone(network, features)

    return build


#: backbone name -> constructor taking the dropout probability
TORCHVISION_BACKBONES: dict[str, Callable[[float], TorchvisionBackbone]] = {
    "resnet18": _resnet(resnet18),
    "resnet34": _resnet(resnet34),
    "mobilenet_v3_large": _mobilenet(mobilenet_v3_large),
    "mobilenet_v3_small": _mobilenet(mobilenet_v3_small),
}


def load_torchvision_weights(backbone: TorchvisionBackbone, path: str | Path) -> None:
    """Load a torchvision state dict of the same network that the user holds (e.g. ImageNet weights); its
    classifier's last layer is dropped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained_weights: no file at {path.resolve()}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    own = backbone.network.state_dict()
    kept = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    missing = sorted(set(own) - set(kept))
    if missing:
        raise ValueError(f"{path}: not a state dict of this backbone (missing or mis-shaped: {missing[:5]})")
    backbone.network.load_state_dict(kept)
