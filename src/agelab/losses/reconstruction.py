"""Model-fitting losses of the 3D face reconstruction subnet (Savov et al. §3.1, after Tewari et al.).

Eq. 6:  L_fit   = λ_lan · L_lan + λ_photo · L_photo + L_reg
Eq. 7:  L_photo = 1/|𝒱| Σ_{i∈𝒱} ‖I(u_i, v_i) − c_i‖₂           (L2,1 over camera-facing vertices)
Eq. 8:  L_lan   = Σ_{j=1}^{48} ‖p_{k_j} − l_j‖₂²                 (pixels², 48 landmarks without the jaw)
Eq. 9:  L_reg   = λ_α Σ α_i² + λ_β Σ β_i² + λ_δ Σ δ_i²

Every term is averaged over the batch. Images are linear RGB in [0, 1], sampled bilinearly at the
projected vertex positions (u, v); vertices projected outside the image are left out of 𝒱.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from agelab.faces.detection import LANDMARKS_48
from agelab.morphable.camera import Camera
from agelab.morphable.image_formation import Formation, form_image
from agelab.morphable.model import MorphableModel, MorphableParams

_LANDMARKS_48 = torch.tensor(LANDMARKS_48)


@dataclass(frozen=True)
class FitWeights:
    """The λ's of Eqs. 6 and 9 (``parameters_recon3d.yml: recon3d.loss``). The paper does not publish
    its values; these balance the terms for a 112 px input (landmark error in pixels²)."""

    landmark: float = 2e-3  # λ_lan
    photometric: float = 1.0  # λ_photo
    identity: float = 2e-2  # λ_α
    reflectance: float = 2e-3  # λ_β
    expression: float = 2e-2  # λ_δ


def sample_image(image: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """Bilinear I(u, v): colours ``(B, N, C)`` of images ``(B, C, H, W)`` at pixel positions ``(B, N, 2)``
    (pixel (i, j) centred at (j + 0.5, i + 0.5); outside positions take the border colour)."""
    height, width = image.shape[-2:]
    scale = torch.tensor([2.0 / width, 2.0 / height], dtype=pixels.dtype, device=pixels.device)
    grid = (pixels * scale - 1).unsqueeze(2)  # (B, N, 1, 2) in [-1, 1]
    sampled = F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return sampled.squeeze(-1).transpose(1, 2)


def inside_image(pixels: torch.Tensor, height: int, width: int) -> torch.Tensor:
    u, v = pixels[..., 0], pixels[..., 1]
    return (u >= 0) & (u <= width) & (v >= 0) & (v <= height)


def photometric_loss(image: torch.Tensor, formation: Formation, eps: float = 1e-8) -> torch.Tensor:
    """Eq. 7, the L2,1 norm of the colour residual over the camera-facing vertices inside the image."""
    observed = sample_image(image, formation.pixels)
    residual = torch.sqrt(((observed - formation.colours) ** 2).sum(-1) + eps)  # (B, N)
    mask = (formation.visible & inside_image(formation.pixels, *image.shape[-2:])).to(residual.dtype)
    per_image = (residual * mask).sum(1) / mask.sum(1).clamp_min(1.0)
    return per_image.mean()


def landmark_loss(
    projected: torch.Tensor, landmarks: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Eq. 8 on the 48 non-jaw landmarks: ``projected`` and ``landmarks`` are dlib-ordered ``(B, 68, 2)``
    pixel positions (the model's and the detector's); optional per-face ``weights`` ``(B,)`` (0 leaves a
    face's landmarks out)."""
    index = _LANDMARKS_48.to(projected.device)
    difference = projected[:, index] - landmarks[:, index]
    per_face = (difference**2).sum((1, 2))
    return (per_face if weights is None else per_face * weights).mean()


def tikhonov_loss(params: MorphableParams, weights: FitWeights) -> torch.Tensor:
    """Eq. 9: squared norms of the identity, reflectance and expression coefficients (σ units)."""
    return (
        weights.identity * (params.alpha**2).sum(-1)
        + weights.reflectance * (params.beta**2).sum(-1)
        + weights.expression * (params.delta**2).sum(-1)
    ).mean()


def fit_loss(
    image: torch.Tensor,
    landmarks: torch.Tensor,
    params: MorphableParams,
    formation: Formation,
    weights: FitWeights,
    landmark_weights: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Eq. 6 and its terms: ``{"total", "landmark", "photometric", "regularisation"}``."""
    terms = {
        "landmark": landmark_loss(formation.landmarks, landmarks, landmark_weights),
        "photometric": photometric_loss(image, formation),
        "regularisation": tikhonov_loss(params, weights),
    }
    terms["total"] = (
        weights.landmark * terms["landmark"]
        + weights.photometric * terms["photometric"]
        + terms["regularisation"]
    )
    return terms


class FitObjective:
    """L_fit (Eq. 6) of predicted code vectors z against targets ``{"image", "landmarks"}``: the 3D
    subnet's self-supervised training loss. Keeps running means of each term for per-epoch logging.

    With ``rigid`` set, identity and expression are held at the mean (the first stage of classic
    model fitting): otherwise a network trained from scratch learns to explain a turned head's
    landmarks with asymmetric shape components instead of rotation."""

    def __init__(self, model: MorphableModel, camera: Camera, weights: FitWeights):
        self.model, self.camera, self.weights = model, camera, weights
        self.rigid = False
        self._sums: dict[str, float] = {}
        self._count = 0

    def _params(self, z: torch.Tensor) -> MorphableParams:
        params = MorphableParams.from_vector(z.float())
        if self.rigid:  # mean shape: landmarks can only be explained by rotation and translation
            params.alpha = params.alpha * 0
            params.delta = params.delta * 0
        return params

    def _model_on(self, device: torch.device) -> MorphableModel:
        if self.model.mean_shape.device != device:
            self.model = self.model.to(device)
        return self.model

    def __call__(self, z: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
        model = self._model_on(z.device)
        params = self._params(z)
        terms = fit_loss(
            targets["image"],
            targets["landmarks"],
            params,
            form_image(model, params, self.camera),
            self.weights,
            targets.get("landmark_weight"),
        )
        batch = z.shape[0]
        for name, value in terms.items():
            self._sums[name] = self._sums.get(name, 0.0) + float(value.detach()) * batch
        self._count += batch
        return terms["total"]

    def project_landmarks(self, z: torch.Tensor) -> torch.Tensor:
        """The 68 model landmarks ``(B, 68, 2)`` in pixels for code vectors z."""
        return form_image(self._model_on(z.device), self._params(z), self.camera).landmarks

    def take_running_means(self) -> dict[str, float]:
        """Mean of each term since the last call (then reset)."""
        means = {name: total / max(self._count, 1) for name, total in self._sums.items()}
        self._sums, self._count = {}, 0
        return means
