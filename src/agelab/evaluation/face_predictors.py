"""Image → :class:`~agelab.evaluation.multi_person.Faces` predictors, the form the multi-person evaluation
scores: a FOSS model (all its top-K faces), its detection sub-network alone, and the two-model baseline
(dlib's HOG detector, then an age network on each face crop)."""

from __future__ import annotations

import numpy as np
import torch

from agelab.detection.boxes import suppress_duplicates
from agelab.detection.encoding import decode_boxes
from agelab.evaluation.multi_person import Faces
from agelab.faces.detection import detect_faces
from agelab.inference.predictors import predictor_from_bundle
from agelab.models.bundle import ModelBundle
from agelab.models.centernet import CenterNetFaceDetector
from agelab.models.foss import FossNet
from agelab.models.foss_decoding import estimate_faces, image_tensor


def foss_faces(
    model: FossNet, k: int | None = None, device: torch.device | str = "cpu", nms_iou: float | None = 0.5
):
    """An "image → :class:`~agelab.evaluation.multi_person.Faces`" predictor over a FOSS model, every one of
    its top-K faces with its confidence (thresholds are the evaluator's)."""

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


def dlib_faces(
    upsample: int = 1,
    min_score: float = -0.5,
    age_model: ModelBundle | None = None,
    device: torch.device | str = "cpu",
    detector: str = "hog",
):
    """The two-model baseline: dlib's HOG detector (or its MMOD CNN, ``detector="mmod"``), then (if given) an
    age network on each face crop, run as ``agelab predict`` runs it
    (:func:`agelab.inference.predictors.predictor_from_bundle`: the model's crop, flip averaging and
    temperature), e.g. the appearance subnet. Without one, ages are NaN."""
    predictor = None if age_model is None else predictor_from_bundle(age_model, torch.device(device))

    def predict(image: np.ndarray) -> Faces:
        found = detect_faces(image, detector, upsample, min_score)
        boxes = np.array([d.box for d in found], np.float64).reshape(-1, 4)
        scores = np.array([d.score for d in found], np.float64)
        ages = np.full(len(found), np.nan)
        if predictor is not None and len(found):
            ages = predictor.predict(predictor.prepare(image, [tuple(b) for b in boxes]))[0]
        return Faces(boxes, scores, np.asarray(ages, np.float64), np.full(len(found), np.nan))

    return predict
