"""The 3D face reconstruction subnet (Savov et al. §3.1): AlexNet backbone + a linear layer to z (Eq. 1).

"A fully connected layer with linear activation is added on top of the AlexNet backbone to infer z."
The layer's outputs are scaled per group (σ units for α, β, δ; radians for ω; millimetres for τ) and
offset by the mean face — frontal, under ambient light, at the translation that frames an average
training face — and the layer starts near zero, so the untrained subnet predicts the mean face where a
face is expected, and training starts from a sensible reconstruction.

The network predicts where the face's centre (``rotation_centre``, head frame: the mean of the landmark
vertices) is in the camera frame, and τ is derived from it: ``τ = t_c − R(ω) c`` (camera axes). Turning
the head then moves no landmark sideways on its own, so rotation and translation are learnt independently
(with τ predicted directly, every change of yaw needs a matching change of τ).
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from agelab.models.alexnet import AlexNetBackbone, load_alexnet_weights
from agelab.models.bundle import register_architecture
from agelab.morphable.camera import HEAD_TO_CAMERA, rotation_matrix
from agelab.morphable.model import MorphableParams

logger = logging.getLogger(__name__)

#: what one unit of network output means for each part of z
OUTPUT_SCALES = {"alpha": 1.0, "beta": 1.0, "delta": 1.0, "gamma": 0.2, "omega": 0.5}
TRANSLATION_SCALE = (30.0, 30.0, 150.0)  # mm: x, y, depth


def _z_offset_and_scale(translation: tuple[float, float, float], ambient: float):
    offsets, scales = [], []
    for name, size in MorphableParams.SIZES:
        offset = torch.zeros(size)
        if name == "gamma":
            offset[[0, 9, 18]] = ambient  # constant SH band of each colour channel
        if name == "tau":
            offset = torch.tensor(translation, dtype=torch.float32)
            scale = torch.tensor(TRANSLATION_SCALE)
        else:
            scale = torch.full((size,), OUTPUT_SCALES[name])
        offsets.append(offset)
        scales.append(scale)
    return torch.cat(offsets), torch.cat(scales)


class Recon3DSubnet(nn.Module):
    """Images ``(B, 3, S, S)`` -> code vectors z ``(B, 257)`` (use :meth:`params` to split them)."""

    def __init__(
        self,
        translation: tuple[float, float, float] = (0.0, 0.0, 1000.0),
        *,
        rotation_centre: tuple[float, float, float] = (0.0, 0.0, 0.0),
        ambient: float = 0.8,
        dropout: float = 0.5,
        init_std: float = 1e-3,
    ):
        super().__init__()
        self.backbone = AlexNetBackbone(dropout)
        self.z_head = nn.Linear(AlexNetBackbone.out_features, MorphableParams.dimension())
        nn.init.normal_(self.z_head.weight, std=init_std)
        nn.init.zeros_(self.z_head.bias)
        offset, scale = _z_offset_and_scale(tuple(translation), ambient)
        self.register_buffer("z_offset", offset)
        self.register_buffer("z_scale", scale)
        self.register_buffer("rotation_centre", torch.tensor(rotation_centre, dtype=torch.float32))

    def decode(self, raw: torch.Tensor) -> torch.Tensor:
        """Linear layer output -> z (scale, mean-face offset and centre-based τ of the module docstring)."""
        z = raw.float() * self.z_scale + self.z_offset
        omega, centre_camera = z[:, -6:-3], z[:, -3:]
        rotated = (rotation_matrix(omega) @ self.rotation_centre).mul(HEAD_TO_CAMERA.to(z))
        return torch.cat([z[:, :-3], centre_camera - rotated], dim=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.z_head(self.backbone(images)))

    @staticmethod
    def params(z: torch.Tensor) -> MorphableParams:
        return MorphableParams.from_vector(z)


@register_architecture("recon3d_subnet")
def recon3d_subnet(
    translation: tuple[float, float, float] | list[float] = (0.0, 0.0, 1000.0),
    *,
    rotation_centre: tuple[float, float, float] | list[float] = (0.0, 0.0, 0.0),
    ambient: float = 0.8,
    dropout: float = 0.5,
    init_std: float = 1e-3,
    pretrained_weights: str | None = None,
) -> Recon3DSubnet:
    """The 3D subnet; ``translation`` is where the face centre starts (camera frame, mm);
    ``pretrained_weights`` is a torchvision AlexNet state dict for the backbone."""
    model = Recon3DSubnet(
        tuple(translation),
        rotation_centre=tuple(rotation_centre),
        ambient=ambient,
        dropout=dropout,
        init_std=init_std,
    )
    if pretrained_weights:
        load_alexnet_weights(model.backbone, pretrained_weights)
    return model
