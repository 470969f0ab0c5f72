"""Age networks ready for face crops: :class:`AgePredictor` (PyTorch) and :class:`OnnxAgePredictor`
(onnxruntime, over a file ``agelab export`` wrote). Both prepare each face through the very crop function,
margins and evaluation transform training used (:func:`agelab.faces.crops.face_crop`,
:func:`agelab.faces.crop_transforms.build_transform`) and report Eq. 10's age with calibrated intervals."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agelab.device import resolve_device
from agelab.faces.crop_transforms import build_transform
from agelab.faces.crops import CropSpec, face_crop
from agelab.faces.detection import landmarks_68
from agelab.inference.loading import ModelNotFoundError, load_bundle
from agelab.models.age_distribution import AgeEstimates
from agelab.models.bundle import ModelBundle


@dataclass
class AgePredictor:
    model: nn.Module
    min_age: int
    crop: CropSpec
    image_size: int
    device: torch.device
    test_time_flip: bool = False  # average each face's and its mirror's age distributions
    temperature: float = 1.0  # of the age intervals (fitted on the validation split at training)
    _transform: Any = field(default=None, repr=False)

    def crops(self, image: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> torch.Tensor:
        """The training crop (:func:`face_crop`: box or aligned, as the model was trained) of each face,
        (N, 3, S, S) uint8. Aligned crops take dlib's 68 landmarks on each box, as the data pipeline does."""
        if not boxes:
            return torch.zeros(0, 3, self.crop.size, self.crop.size, dtype=torch.uint8)
        crops = np.stack(
            [
                face_crop(image, box, landmarks_68(image, box) if self.crop.align else None, self.crop)[0]
                for box in boxes
            ]
        )
        return torch.from_numpy(crops).permute(0, 3, 1, 2)

    def normalise(self, crops: torch.Tensor) -> torch.Tensor:
        """The evaluation transform (centre window, ImageNet normalisation) on a batch of crops at once."""
        if self._transform is None:
            self._transform = build_transform(self.image_size, train=False)
        return self._transform(crops) if len(crops) else torch.zeros(0, 3, self.image_size, self.image_size)

    def prepare(self, image: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> torch.Tensor:
        """Network input for each face: :meth:`crops` then :meth:`normalise`."""
        return self.normalise(self.crops(image, boxes))

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, C)`` age logits of a normalised batch (CPU, float)."""
        return self.model(inputs.to(self.device)).float().cpu()

    @torch.no_grad()
    def log_probs(self, inputs: torch.Tensor) -> np.ndarray:
        """``(N, C)`` log-probabilities of the age classes, flip-averaged where the model says."""
        log_probs = self.logits(inputs).log_softmax(-1)
        if self.test_time_flip:
            mirrored = self.logits(inputs.flip(-1)).log_softmax(-1)
            log_probs = torch.logsumexp(torch.stack([log_probs, mirrored]), dim=0) - np.log(2.0)
        return log_probs.numpy()

    def estimate(self, inputs: torch.Tensor) -> AgeEstimates:
        """Age (Eq. 10), spread and calibrated 50 % / 80 % intervals of each face of a normalised batch."""
        if len(inputs) == 0:
            return AgeEstimates.empty()
        return AgeEstimates.from_log_probs(self.log_probs(inputs), self.min_age, self.temperature)

    def predict(self, inputs: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Age (Eq. 10) and the spread of the age distribution of each face of a normalised batch."""
        estimates = self.estimate(inputs)
        return estimates.age, estimates.std


class OnnxAgePredictor(AgePredictor):
    """An :class:`AgePredictor` whose network runs in onnxruntime: the file ``agelab export`` wrote (its
    metadata carries the crop settings), about twice PyTorch's faces/s on a CPU."""

    def __init__(self, path: str | Path, device: torch.device | None = None):
        import onnxruntime

        providers = ["CPUExecutionProvider"]
        if device is not None and device.type == "cuda":
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = onnxruntime.InferenceSession(str(path), providers=providers)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/NoSuchFile types
            raise ModelNotFoundError(f"{path}: not a readable ONNX model ({exc})") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        missing = {"crop_size", "crop_margin", "image_size", "min_age"} - set(meta)
        if missing:
            raise ModelNotFoundError(f"{path} was not written by agelab export (no {sorted(missing)} in it)")
        super().__init__(
            None,  # type: ignore[arg-type]
            int(meta["min_age"]),
            CropSpec(
                int(meta["crop_size"]), float(meta["crop_margin"]), meta.get("crop_align", "False") == "True"
            ),
            int(meta["image_size"]),
            torch.device("cpu"),
            test_time_flip=meta.get("test_time_flip", "False") == "True",
            temperature=float(meta.get("temperature", 1.0)),
        )

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {"images": inputs.contiguous().numpy()})[0]).float()


def predictor_from_bundle(bundle: ModelBundle, device: torch.device) -> AgePredictor:
    if bundle.architecture == "foss":
        raise ValueError("a FOSS model detects faces itself: use agelab.inference.FaceAgeEstimator")
    return AgePredictor(
        bundle.build().to(device),
        bundle.kwargs["min_age"],
        bundle.crop_spec,
        bundle.image_size,
        device,
        test_time_flip=bundle.test_time_flip,
        temperature=bundle.temperature,
    )


def load_predictor(model: str, device: str = "auto") -> AgePredictor:
    """The age network of ``model`` (see :func:`load_bundle`) ready for face crops."""
    return predictor_from_bundle(load_bundle(model), resolve_device(device))
