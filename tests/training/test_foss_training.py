"""FOSS stage 1 learns: a tiny CenterNet trained on a few images finds their faces (AP@0.5) where the same
network untrained finds none, so a wrong focal loss, size/offset target or decoding fails this test."""

import dataclasses

import numpy as np
from PIL import Image

from agelab.detection.augmentation import NO_AUGMENTATION
from agelab.losses.foss import FossLossWeights
from agelab.training.engine import TrainConfig
from agelab.training.foss_data import FaceRecord
from agelab.training.foss_training import DataConfig, FossModelConfig, train_face_detector

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
