"""Analysis-by-synthesis: fit the code vector z to one image by gradient descent on L_fit (Eq. 6).

This is the optimisation the 3D subnet learns to amortise. It is used to check the image-formation model
and losses end to end (a fit recovers the pose of a synthetic face) and to place the mean face for
initialisation (:func:`place_mean_face`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from agelab.faces.detection import LANDMARKS_48
from agelab.losses.reconstruction import FitWeights, fit_loss, landmark_loss
from agelab.morphable.camera import HEAD_TO_CAMERA, Camera
from agelab.morphable.image_formation import form_image
from agelab.morphable.model import MorphableModel, MorphableParams


@dataclass(frozen=True)
class FittingConfig:
    rigid_steps: int = 150  # stage 1: rotation and translation from the landmarks alone
    steps: int = 250  # stage 2: every parameter on the full L_fit
    rotation_lr: float = 0.02  # Adam step sizes per parameter group (radians, mm, σ units)
    translation_lr: float = 2.0
    shape_lr: float = 0.05
    illumination_lr: float = 0.02
    weights: FitWeights = dataclasses.field(default_factory=FitWeights)


def neutral_params(
    batch: int, *, ambient: float = 1.0, dtype: torch.dtype = torch.float32
) -> MorphableParams:
    """The mean face, frontal, at the origin, under white ambient light of the given strength."""
    gamma = torch.zeros(batch, 27, dtype=dtype)
    gamma[:, [0, 9, 18]] = ambient
    sizes = dict(MorphableParams.SIZES)
    return MorphableParams(
        **{name: torch.zeros(batch, size, dtype=dtype) for name, size in sizes.items() if name != "gamma"},
        gamma=gamma,
    )


def place_mean_face(model: MorphableModel, camera: Camera, landmarks: torch.Tensor) -> torch.Tensor:
    """Translation τ ``(B, 3)`` that puts the frontal mean face over the given 68 landmarks ``(B, 68, 2)``:
    depth from the ratio of their spread to the mean face's, x and y from their centroid."""
    index = torch.tensor(LANDMARKS_48)
    mean_points = model.mean_shape[model.landmark_indices[index]]  # (48, 3) head frame
    mean_spread = (mean_points[:, :2] - mean_points[:, :2].mean(0)).norm(dim=-1).mean()
    observed = landmarks[:, index]
    centroid = observed.mean(1)
    spread = (observed - centroid.unsqueeze(1)).norm(dim=-1).mean(1)
    depth = camera.focal * mean_spread / spread  # distance of the landmark centroid
    principal = torch.tensor([camera.cx, camera.cy], dtype=landmarks.dtype)
    xy = (centroid - principal) * depth.unsqueeze(-1) / camera.focal
    head_centroid = mean_points.mean(0) * HEAD_TO_CAMERA  # in camera axes
    tau = torch.cat([xy, depth.unsqueeze(-1)], -1) - head_centroid.to(landmarks.dtype)
    return tau


@dataclass
class FittingResult:
    params: MorphableParams
    history: list[dict[str, float]]


def fit_to_image(
    model: MorphableModel,
    image: torch.Tensor,
    landmarks: torch.Tensor,
    camera: Camera,
    config: FittingConfig = FittingConfig(),
) -> FittingResult:
    """Fit z to images ``(B, 3, H, W)`` (linear RGB) with 68 landmarks ``(B, 68, 2)``: a rigid stage on the
    landmark loss, then every parameter on L_fit (Eq. 6), both with Adam."""
    batch = image.shape[0]
    start = neutral_params(batch, ambient=0.8)
    start.tau = place_mean_face(model, camera, landmarks)
    variables = {name: getattr(start, name).clone().requires_grad_(True) for name, _ in MorphableParams.SIZES}
    params = MorphableParams(**variables)
    history: list[dict[str, float]] = []

    rigid = torch.optim.Adam(
        [
            {"params": [variables["omega"]], "lr": config.rotation_lr},
            {"params": [variables["tau"]], "lr": config.translation_lr},
        ]
    )
    for _ in range(config.rigid_steps):
        rigid.zero_grad()
        loss = landmark_loss(form_image(model, params, camera).landmarks, landmarks)
        loss.backward()
        rigid.step()
        history.append({"stage": 0, "landmark": loss.item()})

    full = torch.optim.Adam(
        [
            {"params": [variables["omega"]], "lr": config.rotation_lr / 2},
            {"params": [variables["tau"]], "lr": config.translation_lr / 2},
            {
                "params": [variables["alpha"], variables["beta"], variables["delta"]],
                "lr": config.shape_lr,
            },
            {"params": [variables["gamma"]], "lr": config.illumination_lr},
        ]
    )
    for _ in range(config.steps):
        full.zero_grad()
        terms = fit_loss(image, landmarks, params, form_image(model, params, camera), config.weights)
        terms["total"].backward()
        full.step()
        history.append({"stage": 1, **{k: v.item() for k, v in terms.items()}})
    detached = MorphableParams(**{k: v.detach() for k, v in variables.items()})
    return FittingResult(detached, history)
