"""Every face of a batch of images with its age: the engine behind ``agelab predict`` and the MLflow
pyfunc model (:mod:`agelab.serving`).

An age model (appearance subnet, HPS, SPS) takes dlib's HOG detections, cropped by the very function and
margin training used (:class:`agelab.inference.AgePredictor`); the crops of *all* images of a batch go
through the network in one forward pass (``max_faces`` at a time), which is what makes many small photos
fast. A FOSS model (Yoshimura & Ogata) detects the faces itself, one image at a time (images differ in
size), and adds the probability that each face is male.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from agelab.faces.detection import detect_faces
from agelab.inference import AgePredictor, predictor_from_bundle
from agelab.models.bundle import ModelBundle
from agelab.multi_person import estimate_faces, image_tensor
from agelab.training.engine import resolve_device

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class FaceAge:
    """One face: its box (x0, y0, x1, y1) in pixels, the detector's confidence, the expected age (Savov
    Eq. 10 / the FOSS softmax expectation), the spread of the age distribution, and P(male) (FOSS only,
    NaN otherwise)."""

    box: Box
    score: float
    age: float
    age_std: float
    male_probability: float = float("nan")


@dataclass
class DetectionOptions:
    """dlib settings for age models; FOSS settings (``None``: the model's own) for FOSS models."""

    detector: str = "hog"
    upsample: int = 0
    min_score: float = 0.1  # dlib HOG: real faces score above ~0.15
    top_k: int | None = None
    score_threshold: float | None = None
    nms_iou: float | None = 0.5


class FaceAgeEstimator:
    """``estimate(images)`` → for each RGB uint8 image, its faces (most confident first) with ages."""

    def __init__(
        self,
        bundle: ModelBundle,
        options: DetectionOptions | None = None,
        device: str = "auto",
        max_faces: int = 64,
    ):
        self.bundle = bundle
        self.options = options or DetectionOptions()
        self.device = resolve_device(device)
        self.max_faces = max_faces
        self.is_foss = bundle.architecture == "foss"
        if self.is_foss:
            self._foss = bundle.build().to(self.device)
            self._predictor: AgePredictor | None = None
        else:
            self._predictor = predictor_from_bundle(bundle, self.device)

    def estimate(self, images: Sequence[np.ndarray]) -> list[list[FaceAge]]:
        if self.is_foss:
            return [self._estimate_foss(image) for image in images]
        return self._estimate_with_dlib(images)

    def _estimate_foss(self, image: np.ndarray) -> list[FaceAge]:
        o = self.options
        faces = estimate_faces(
            self._foss, image_tensor(image, self.device), o.top_k, o.score_threshold, o.nms_iou
        )[0]
        return [FaceAge(f.box, f.score, f.age, f.age_std, f.male_probability) for f in faces]

    def _estimate_with_dlib(self, images: Sequence[np.ndarray]) -> list[list[FaceAge]]:
        o = self.options
        predictor = self._predictor
        assert predictor is not None
        detections = [detect_faces(image, o.detector, o.upsample, o.min_score) for image in images]
        crops = [
            predictor.prepare(image, [d.box for d in found])
            for image, found in zip(images, detections, strict=True)
            if found
        ]
        ages, stds = np.zeros(0), np.zeros(0)
        if crops:
            inputs = torch.cat(crops)
            parts = [
                predictor.predict(inputs[start : start + self.max_faces])
                for start in range(0, len(inputs), self.max_faces)
            ]
            ages = np.concatenate([a for a, _ in parts])
            stds = np.concatenate([s for _, s in parts])
        results, at = [], 0
        for found in detections:
            results.append(
                [
                    FaceAge(d.box, d.score, float(ages[at + k]), float(stds[at + k]))
                    for k, d in enumerate(found)
                ]
            )
            at += len(found)
        return results
