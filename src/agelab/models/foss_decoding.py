"""A FOSS model's output read as faces (Yoshimura & Ogata): every face in a photo with its box, confidence,
age (the softmax expectation over 0..100, :func:`agelab.losses.age.age_moments`), the spread of the age
distribution and the probability of "male"; boxes clipped to the image, duplicates suppressed. Shared by
training-time evaluation, the evaluation predictors and ``agelab predict``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from agelab.detection.boxes import suppress_duplicates
from agelab.losses.age import age_moments
from agelab.models.foss import FossNet


@dataclass(frozen=True)
class FaceEstimate:
    box: tuple[float, float, float, float]
    score: float
    age: float
    age_std: float
    male_probability: float


def image_tensor(image: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """(H, W, 3) uint8 RGB → (1, 3, H, W) float in [0, 1]."""
    return (
        torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1)[None].to(device).float()
        / 255
    )


@torch.no_grad()
def estimate_faces(
    model: FossNet,
    images: torch.Tensor,
    k: int | None = None,
    score_threshold: float | None = None,
    nms_iou: float | None = 0.5,
) -> list[list[FaceEstimate]]:
    """Faces above ``score_threshold`` (default: the model's, paper 0.2) among the top ``k`` of each
    image of the batch (B, 3, H, W) in [0, 1], most confident first; overlapping duplicates (IoU >
    ``nms_iou``; None keeps them) are suppressed."""
    model.eval()
    threshold = model.score_threshold if score_threshold is None else score_threshold
    output = model(images, k or model.top_k)
    ages, spreads = age_moments(output.age_logits)
    male = output.gender_logits.float().softmax(-1)[..., 1]
    height, width = images.shape[-2:]
    limits = torch.tensor(
        [width, height, width, height], dtype=output.boxes.dtype, device=output.boxes.device
    )
    boxes = torch.minimum(output.boxes.clamp(min=0), limits)
    results = []
    for b in range(images.shape[0]):
        candidates = torch.nonzero(output.scores[b] >= threshold).flatten()
        kept = candidates[suppress_duplicates(boxes[b, candidates], output.scores[b, candidates], nms_iou)]
        faces = [
            FaceEstimate(
                tuple(float(v) for v in boxes[b, i].tolist()),
                float(output.scores[b, i]),
                float(ages[b, i]),
                float(spreads[b, i]),
                float(male[b, i]),
            )
            for i in kept.tolist()
        ]
        results.append(faces)
    return results
