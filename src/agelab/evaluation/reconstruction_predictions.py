"""What the 3D subnet predicts for a set of faces, and the rendering ground truth where there is one."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from agelab.device import resolve_device
from agelab.models.bundle import ModelBundle
from agelab.training.engine import TrainConfig, evaluate, make_loader
from agelab.training.reconstruction_data import FaceReconstructionDataset


def predict_codes(
    bundle: ModelBundle, faces: pd.DataFrame, config: TrainConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Code vectors z ``(F, 257)`` of the 3D subnet and the faces' dlib landmarks ``(F, 68, 2)``."""
    model = bundle.build().to(resolve_device(config.device))
    device = next(model.parameters()).device
    dataset = FaceReconstructionDataset(faces, crop_size=bundle.crop_size, image_size=bundle.image_size)
    loader = make_loader(dataset, config, train=False)
    return evaluate(model, lambda net, images: net(images), loader, device, target_key="landmarks")


def rendering_truth(faces: pd.DataFrame) -> pd.DataFrame | None:
    """Rendering ground truth (synthetic faces): ``omega``, ``delta`` and ``yaw`` from the face index's
    ``attributes``; ``None`` unless every face has them."""
    rows = [json.loads(a) if isinstance(a, str) and a else {} for a in faces["attributes"]]
    if not rows or not all("omega" in r and "delta" in r for r in rows):
        return None
    return pd.DataFrame(
        {
            "omega": [np.asarray(r["omega"], float) for r in rows],
            "delta": [np.asarray(r["delta"], float) for r in rows],
            "yaw": [float(r["yaw"]) for r in rows],
        },
        index=faces.index,
    )
