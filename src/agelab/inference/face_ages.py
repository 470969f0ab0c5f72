"""Every face of a stream of images with its age: the engine behind ``agelab predict`` and the MLflow
pyfunc model (:mod:`agelab.inference.serving`).

An age model (appearance subnet, HPS, SPS) takes dlib's HOG detections, cropped by the very function and
margin training used (:class:`agelab.inference.predictors.AgePredictor`); the crops of consecutive images
gather into one forward pass of up to ``max_faces`` faces, which is what makes many small photos fast, while
the photos themselves stream through (:meth:`FaceAgeEstimator.stream`: memory holds crops, not photos).
A FOSS model (Yoshimura & Ogata) detects the faces itself, one image at a time (images differ in size),
and adds the probability that each face is male.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch

from agelab.device import resolve_device
from agelab.faces.detection import detect_faces
from agelab.inference.predictors import AgePredictor, predictor_from_bundle
from agelab.models.age_distribution import AgeEstimates
from agelab.models.bundle import ModelBundle
from agelab.models.foss_decoding import estimate_faces, image_tensor

Box = tuple[float, float, float, float]
K = TypeVar("K")


@dataclass(frozen=True)
class FaceAge:
    """One face: its box (x0, y0, x1, y1) in pixels, the detector's confidence, the expected age (Savov
    Eq. 10 / the FOSS softmax expectation), the spread of the age distribution, and P(male) (FOSS only,
    NaN otherwise), and the calibrated 50 % and 80 % age intervals (age models; NaN for FOSS)."""

    box: Box
    score: float
    age: float
    age_std: float
    male_probability: float = float("nan")
    age_low_50: float = float("nan")
    age_high_50: float = float("nan")
    age_low_80: float = float("nan")
    age_high_80: float = float("nan")


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
        model: ModelBundle | AgePredictor,
        options: DetectionOptions | None = None,
        device: str = "auto",
        max_faces: int = 64,
    ):
        """``model``: a bundle (any architecture) or a ready age predictor (e.g. an
        :class:`~agelab.inference.predictors.OnnxAgePredictor` over an exported file)."""
        self.options = options or DetectionOptions()
        self.device = resolve_device(device)
        self.max_faces = max_faces
        self.is_foss = isinstance(model, ModelBundle) and model.architecture == "foss"
        self._predictor: AgePredictor | None = None
        if self.is_foss:
            self._foss = model.build().to(self.device)
        elif isinstance(model, ModelBundle):
            self._predictor = predictor_from_bundle(model, self.device)
        else:
            self._predictor = model

    def warm_up(self) -> None:
        """Load the detector and run the network once (first-call set-up of PyTorch / onnxruntime), so
        that timings of the photos themselves start warm."""
        blank = np.zeros((64, 64, 3), np.uint8)
        if self.is_foss:
            self._estimate_foss(blank, self.options)
            return
        assert self._predictor is not None
        detect_faces(blank, self.options.detector, self.options.upsample, self.options.min_score)
        size = self._predictor.crop.size
        self._predictor.predict(
            self._predictor.normalise(torch.zeros(self.max_faces, 3, size, size, dtype=torch.uint8))
        )

    def estimate(
        self, images: Sequence[np.ndarray], options: DetectionOptions | None = None
    ) -> list[list[FaceAge]]:
        """The faces of each image of ``images``, in order (``options``: as in :meth:`stream`)."""
        return [faces for _, _, faces in self.stream(enumerate(images), options=options)]

    def stream(
        self,
        items: Iterable[tuple[K, np.ndarray]],
        keep_images: bool = False,
        max_pending_images: int = 256,
        options: DetectionOptions | None = None,
    ) -> Iterator[tuple[K, np.ndarray | None, list[FaceAge]]]:
        """``(key, image)`` pairs in, ``(key, image or None, faces)`` out, in input order.

        Age models: each image is detected and its faces cropped as it arrives; the crops wait until
        ``max_faces`` of them (or ``max_pending_images`` images) have gathered, then go through the network
        in one forward pass. Images are kept only with ``keep_images`` (to annotate them), so memory holds
        crops, not photos. ``options``: this call's detection settings, else the estimator's."""
        o = options or self.options
        if self.is_foss:
            for key, image in items:
                yield key, image if keep_images else None, self._estimate_foss(image, o)
            return
        predictor = self._predictor
        assert predictor is not None
        pending: list[tuple[K, np.ndarray | None, list, torch.Tensor | None]] = []
        waiting_faces = 0
        for key, image in items:
            found = detect_faces(image, o.detector, o.upsample, o.min_score)
            crops = predictor.crops(image, [d.box for d in found]) if found else None
            pending.append((key, image if keep_images else None, found, crops))
            waiting_faces += len(found)
            if waiting_faces >= self.max_faces or len(pending) >= max_pending_images:
                yield from self._flush(pending)
                pending, waiting_faces = [], 0
        yield from self._flush(pending)

    def _flush(self, pending: list) -> Iterator[tuple[Any, np.ndarray | None, list[FaceAge]]]:
        crops = [c for *_, c in pending if c is not None]
        estimates = AgeEstimates.empty()
        if crops:
            assert self._predictor is not None
            estimates = self._predictor.estimate(self._predictor.normalise(torch.cat(crops)))
        (low_50, high_50), (low_80, high_80) = estimates.intervals[0.5], estimates.intervals[0.8]
        at = 0
        for key, image, found, _ in pending:
            faces = [
                FaceAge(
                    d.box,
                    d.score,
                    float(estimates.age[i]),
                    float(estimates.std[i]),
                    age_low_50=float(low_50[i]),
                    age_high_50=float(high_50[i]),
                    age_low_80=float(low_80[i]),
                    age_high_80=float(high_80[i]),
                )
                for i, d in enumerate(found, start=at)
            ]
            at += len(found)
            yield key, image, faces

    def _estimate_foss(self, image: np.ndarray, o: DetectionOptions) -> list[FaceAge]:
        faces = estimate_faces(
            self._foss, image_tensor(image, self.device), o.top_k, o.score_threshold, o.nms_iou
        )[0]
        return [FaceAge(f.box, f.score, f.age, f.age_std, f.male_probability) for f in faces]
