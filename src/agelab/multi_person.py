"""Multi-person inference with a FOSS model: every face in a photo with its box, confidence, age (the
softmax expectation over 0..100), the spread of the age distribution and the probability of "male"."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from agelab.detection.boxes import suppress_duplicates
from agelab.detection.encoding import decode_boxes
from agelab.models.centernet import CenterNetFaceDetector
from agelab.models.foss import FossNet


@dataclass(frozen=True)
class FaceEstimate:
    box: tuple[float, float, float, float]
    score: float
    age: float
    age_std: float
    male_probability: float


def age_moments(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of the softmax age distribution over classes 0..N−1."""
    probs = logits.float().softmax(-1)
    classes = torch.arange(probs.shape[-1], dtype=probs.dtype, device=probs.device)
    mean = probs @ classes
    variance = (probs * (classes - mean[..., None]) ** 2).sum(-1)
    return mean, variance.clamp(min=0).sqrt()


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


def foss_faces(
    model: FossNet, k: int | None = None, device: torch.device | str = "cpu", nms_iou: float | None = 0.5
):
    """An "image → :class:`~agelab.evaluation.multi_person.Faces`" predictor over a FOSS model, every one of
    its top-K faces with its confidence (thresholds are the evaluator's)."""
    from agelab.evaluation.multi_person import Faces

    def predict(image: np.ndarray) -> Faces:
        faces = estimate_faces(model, image_tensor(image, device), k, 0.0, nms_iou)[0]
        return Faces(
            np.array([f.box for f in faces], np.float64).reshape(-1, 4),
            np.array([f.score for f in faces], np.float64),
            np.array([f.age for f in faces], np.float64),
            np.array([f.male_probability for f in faces], np.float64),
        )

    return predict


def detector_faces(
    detector: CenterNetFaceDetector, k: int, device: torch.device | str = "cpu", nms_iou: float | None = 0.5
):
    """An "image → :class:`~agelab.evaluation.multi_person.Faces`" predictor over the detection sub-network
    alone: its top ``k`` heatmap peaks (boxes clipped to the image, duplicates above ``nms_iou`` suppressed),
    the same boxes and scores :func:`foss_faces` gives without running the age network on each one, so
    detection AP can score many more detections than the K age crops (ages are NaN)."""
    from agelab.evaluation.multi_person import Faces

    @torch.no_grad()
    def predict(image: np.ndarray) -> Faces:
        detector.eval()
        images = image_tensor(image, device)
        network_input, scale = detector.letterbox(images)
        output = detector.forward_network(network_input)
        boxes, scores = decode_boxes(output.heatmap, output.size, output.offset, k)
        height, width = images.shape[-2:]
        limits = torch.tensor([width, height, width, height], dtype=boxes.dtype, device=boxes.device)
        boxes = torch.minimum((boxes[0] / scale).clamp(min=0), limits)
        kept = suppress_duplicates(boxes, scores[0], nms_iou)
        n = len(kept)
        return Faces(
            boxes[kept].cpu().double().numpy().reshape(-1, 4),
            scores[0, kept].cpu().double().numpy(),
            np.full(n, np.nan),
            np.full(n, np.nan),
        )

    return predict


def dlib_faces(upsample: int = 1, min_score: float = -0.5, age_predictor=None):
    """The two-model baseline: dlib's HOG detector, then (if given) an age network on each face crop
    (:class:`agelab.inference.AgePredictor`, e.g. the appearance subnet). Without one, ages are NaN."""
    from agelab.evaluation.multi_person import Faces
    from agelab.faces.detection import detect_faces

    def predict(image: np.ndarray) -> Faces:
        found = detect_faces(image, "hog", upsample, min_score)
        boxes = np.array([d.box for d in found], np.float64).reshape(-1, 4)
        scores = np.array([d.score for d in found], np.float64)
        ages = np.full(len(found), np.nan)
        if age_predictor is not None and len(found):
            ages = age_predictor.predict(age_predictor.prepare(image, [tuple(b) for b in boxes]))[0]
        return Faces(boxes, scores, np.asarray(ages, np.float64), np.full(len(found), np.nan))

    return predict
