"""FOSS stage 1 learns: a tiny CenterNet trained on a few images finds their faces (AP@0.5) where the same
network untrained finds none, so a wrong focal loss, size/offset target or decoding fails this test."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from agelab.detection.augmentation import NO_AUGMENTATION
from agelab.detection.tiling import centred_on_canvas
from agelab.losses.foss import FossLossWeights
from agelab.models.centernet import CenterNetFaceDetector
from agelab.training.engine import TrainConfig
from agelab.training.foss_data import FaceRecord
from agelab.training.foss_training import (
    DataConfig,
    FossModelConfig,
    annotate_single_face_images,
    train_face_detector,
)

MODEL = FossModelConfig(detector_width=0.25, head_conv=16, deformable=False, detector_input=128)


def _records(tmp_path, n=6):
    """Images of 1-3 bright textured squares ("faces", 24-40 px) on dark noise."""
    rng = np.random.default_rng(0)
    records = []
    for i in range(n):
        image = rng.integers(0, 40, (128, 128, 3), dtype=np.uint8)
        boxes = []
        for _ in range(int(rng.integers(1, 4))):
            size = int(rng.integers(24, 41))
            x, y = (int(v) for v in rng.integers(0, 128 - size, 2))
            if any(
                x < b[2] + 4 and b[0] < x + size + 4 and y < b[3] + 4 and b[1] < y + size + 4 for b in boxes
            ):
                continue
            image[y : y + size, x : x + size] = rng.integers(180, 255, (size, size, 3), dtype=np.uint8)
            boxes.append((float(x), float(y), float(x + size), float(y + size)))
        path = tmp_path / f"{i}.png"
        Image.fromarray(image).save(path)
        records.append(
            FaceRecord(str(path), tuple(boxes), tuple(np.nan for _ in boxes), tuple(-1 for _ in boxes))
        )
    return records


def test_the_detector_learns_to_find_faces_an_untrained_one_misses(tmp_path):
    records = _records(tmp_path)
    data = DataConfig(canvas=128, augmentation=NO_AUGMENTATION)
    train = TrainConfig(epochs=40, batch_size=2, learning_rate=2e-3, lr_step_size=100, device="cpu", seed=0)
    _, result_0 = train_face_detector(
        records,
        records,
        MODEL,
        data,
        dataclasses.replace(train, epochs=1, learning_rate=0.0),
        FossLossWeights(),
        show_progress=False,
    )
    _, result = train_face_detector(
        records, records, MODEL, data, train, FossLossWeights(), show_progress=False
    )
    ap_untrained, ap_trained = 1 - result_0.best_metric, 1 - result.best_metric
    assert ap_untrained < 0.2
    assert ap_trained > 0.6, [round(1 - h["val_metric"], 3) for h in result.history]
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < 0.5 * losses[0]


def test_annotation_at_a_smaller_image_scale_gives_boxes_in_the_images_own_pixels(tmp_path):
    """§4.2's annotation with ``image_scale`` 0.5: the detector sees the image centred on a canvas twice its
    size, and each box comes back shifted by the image's corner on that canvas — equal to the boxes found on
    that same canvas written as a file of its own, less the corner."""
    torch.manual_seed(0)
    detector = CenterNetFaceDetector(0.25, 16, False, 128)
    image = np.random.default_rng(1).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    canvas, (left, top) = centred_on_canvas(image, 0.5)
    assert (left, top) == (40, 30)
    Image.fromarray(image).save(tmp_path / "face.png")
    Image.fromarray(canvas).save(tmp_path / "canvas.png")

    def annotate(name: str, scale: float) -> pd.Series:
        faces = pd.DataFrame(
            {"image_path": [str(tmp_path / name)], "split": ["test"], "age": [30.0], "gender": [0]}
        )
        table, _ = annotate_single_face_images(
            detector, faces, score_threshold=0.0, device="cpu", show_progress=False, image_scale=scale
        )
        return table.iloc[0]

    scaled, on_canvas = annotate("face.png", 0.5), annotate("canvas.png", 1.0)
    assert scaled["n_detected"] == on_canvas["n_detected"] > 0
    corner = {"foss_box_x0": left, "foss_box_y0": top, "foss_box_x1": left, "foss_box_y1": top}
    for column, shift in corner.items():
        assert scaled[column] == pytest.approx(on_canvas[column] - shift, abs=1e-3)
