"""Multi-task networks joining the 3D subnet and the appearance subnet (Savov et al. §3.3, Fig. 1).

* **HPS** (hard parameter sharing): one AlexNet feeds both the z layer (Eq. 1) and the age layer; trained on
  L_HPS = (1 − w) · L_fit + w · L_dist (Eq. 12).
* **SPS** (soft parameter sharing): two AlexNets, A (3D) and B (appearance), blended by cross-stitch units
  (Eq. 13, Misra et al. 2016) after every max-pool and after the fully connected layers fc6 and fc7.

Both return the age logits from ``forward`` (so age inference is the same as for the appearance subnet) and
``(age logits, z)`` from ``forward_both`` (training).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from agelab.models.alexnet import AlexNetBackbone, AppearanceSubnet, load_alexnet_weights
from agelab.models.bundle import ModelBundle, register_architecture
from agelab.models.recon3d import Recon3DSubnet

logger = logging.getLogger(__name__)


#: where SoftSharingNet's cross-stitch units sit, in order
STITCH_NAMES = ("pool1", "pool2", "pool5", "fc6", "fc7")


class CrossStitch(nn.Module):
    """Eq. 13: ``[x̃_A; x̃_B] = κ [x_A; x_B]`` with one 2×2 κ for every activation of a layer pair,
    initialised κ_AA = κ_BB = ``kappa_same``, κ_AB = κ_BA = 1 − ``kappa_same``."""

    def __init__(self, kappa_same: float = 0.5):
        super().__init__()
        other = 1.0 - kappa_same
        self.kappa = nn.Parameter(torch.tensor([[kappa_same, other], [other, kappa_same]]))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.kappa.to(a.dtype)
        return k[0, 0] * a + k[0, 1] * b, k[1, 0] * a + k[1, 1] * b


def alexnet_stages(backbone: AlexNetBackbone) -> list[nn.Module]:
    """AlexNet cut where cross-stitch units go: conv1+pool, conv2+pool, conv3–5+pool, fc6, fc7
    (pooling to 6×6 and flattening open the fc6 stage)."""
    features = list(backbone.features)
    pools = [i for i, layer in enumerate(features) if isinstance(layer, nn.MaxPool2d)]
    convs, start = [], 0
    for end in pools:
        convs.append(nn.Sequential(*features[start : end + 1]))
        start = end + 1
    fcs = list(backbone.classifier)  # dropout, fc6, relu, dropout, fc7, relu
    fc6 = nn.Sequential(backbone.avgpool, nn.Flatten(1), *fcs[:3])
    fc7 = nn.Sequential(*fcs[3:])
    return [*convs, fc6, fc7]


class SoftSharingNet(nn.Module):
    """SPS: branch A is a :class:`Recon3DSubnet`, branch B an :class:`AppearanceSubnet`; a cross-stitch unit
    after each of the five stages of :func:`alexnet_stages`."""

    def __init__(self, recon3d: Recon3DSubnet, appearance: AppearanceSubnet, kappa_same: float = 0.5):
        super().__init__()
        self.branch_a, self.branch_b = recon3d, appearance
        self.min_age, self.max_age = appearance.min_age, appearance.max_age
        n_stages = len(alexnet_stages(recon3d.backbone))
        self.stitches = nn.ModuleList(CrossStitch(kappa_same) for _ in range(n_stages))

    def forward_both(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = b = images
        stages = zip(
            alexnet_stages(self.branch_a.backbone), alexnet_stages(self.branch_b.backbone), strict=True
        )
        for (stage_a, stage_b), stitch in zip(stages, self.stitches, strict=True):
            a, b = stitch(stage_a(a), stage_b(b))
        z = self.branch_a.decode(self.branch_a.z_head(a))
        logits = self.branch_b.age_head(self.branch_b.head_dropout(b))
        return logits, z

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_both(images)[0]

    def kappas(self) -> list[list[list[float]]]:
        return [stitch.kappa.detach().cpu().tolist() for stitch in self.stitches]

    def age_parameters(self) -> list[nn.Parameter]:
        """The appearance branch (B) and its age layer: the only parameters L2 regularisation touches."""
        return list(self.branch_b.parameters())

    def kappa_parameters(self) -> list[nn.Parameter]:
        return [stitch.kappa for stitch in self.stitches]


class HardSharingNet(nn.Module):
    """HPS: the 3D subnet's AlexNet and z layer, plus an age layer on the same fc7 features."""

    def __init__(self, recon3d: Recon3DSubnet, min_age: int, max_age: int, age_dropout: float = 0.0):
        super().__init__()
        self.recon3d = recon3d
        self.min_age, self.max_age = min_age, max_age
        self.age_dropout = nn.Dropout(age_dropout)
        self.age_head = nn.Linear(AlexNetBackbone.out_features, max_age - min_age + 1)

    def forward_both(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.recon3d.backbone(images)
        z = self.recon3d.decode(self.recon3d.z_head(features))
        return self.age_head(self.age_dropout(features)), z

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_both(images)[0]

    def age_parameters(self) -> list[nn.Parameter]:
        return list(self.age_head.parameters())

    def kappa_parameters(self) -> list[nn.Parameter]:
        return []


class BothOutputs(nn.Module):
    """Training view of a multi-task net: ``forward`` returns ``(age logits, z)``."""

    def __init__(self, net: SoftSharingNet | HardSharingNet):
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.forward_both(images)


def _recon3d_from(recon3d_kwargs: dict, recon3d_weights: str | None) -> Recon3DSubnet:
    from agelab.models.recon3d import recon3d_subnet

    model = recon3d_subnet(**{k: v for k, v in recon3d_kwargs.items() if k != "pretrained_weights"})
    if recon3d_weights:
        bundle = ModelBundle.load(recon3d_weights)
        model.load_state_dict(bundle.state_dict)
        logger.info("3D branch initialised from %s", Path(recon3d_weights))
    return model


@register_architecture("sps_net")
def sps_net(
    min_age: int = 0,
    max_age: int = 80,
    *,
    recon3d: dict | None = None,
    kappa_same: float = 0.5,
    dropout: float = 0.5,
    age_dropout: float = 0.7,
    recon3d_weights: str | None = None,
    pretrained_weights: str | None = None,
) -> SoftSharingNet:
    """SPS; ``recon3d`` are the 3D subnet's arguments, ``recon3d_weights`` its trained bundle (branch A's
    initialisation), ``pretrained_weights`` a torchvision AlexNet state dict for branch B."""
    appearance = AppearanceSubnet(min_age, max_age, dropout, age_dropout)
    if pretrained_weights:
        load_alexnet_weights(appearance.backbone, pretrained_weights)
    return SoftSharingNet(_recon3d_from(recon3d or {}, recon3d_weights), appearance, kappa_same)


@register_architecture("hps_net")
def hps_net(
    min_age: int = 0,
    max_age: int = 80,
    *,
    recon3d: dict | None = None,
    age_dropout: float = 0.7,
    recon3d_weights: str | None = None,
    pretrained_weights: str | None = None,
) -> HardSharingNet:
    """HPS; the shared AlexNet and z layer start from ``recon3d_weights`` when given, else from
    ``pretrained_weights`` (a torchvision AlexNet state dict) or random initialisation."""
    recon = _recon3d_from(recon3d or {}, recon3d_weights)
    if pretrained_weights and not recon3d_weights:
        load_alexnet_weights(recon.backbone, pretrained_weights)
    return HardSharingNet(recon, min_age, max_age, age_dropout)
