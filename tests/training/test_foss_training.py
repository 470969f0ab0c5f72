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
from agelab.models.foss_decoding import image_tensor
from agelab.training.engine import TrainConfig
from agelab.training.foss_data import FaceRecord
from agelab.training.foss_training import (
    DataConfig,
    FossModelConfig,
    _detector_predict,
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


def test_grid_annotation_gives_each_image_the_detections_centred_on_it_in_its_own_pixels(tmp_path):
    """``layout="grid"`` at scale 1/2: four 60 x 80 images share one 160 x 160 picture of 80 px cells, image i
    at column i % 2, row i // 2, 10 px down in its cell. Each image gets the picture's detections whose
    centre lies on it, clipped to it and moved by its corner (worked out here by hand from the picture's
    raw detections); an unreadable file in between keeps its place and is counted."""
    torch.manual_seed(0)
    detector = CenterNetFaceDetector(0.25, 16, False, 128).eval()
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 255, (60, 80, 3), dtype=np.uint8) for _ in range(4)]
    paths = []
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / f"{i}.png")
        paths.append(str(tmp_path / f"{i}.png"))
    (tmp_path / "broken.png").write_bytes(b"not an image")
    paths.insert(2, str(tmp_path / "broken.png"))
    faces = pd.DataFrame({"image_path": paths, "split": "test", "age": 30.0, "gender": 0})
    table, report = annotate_single_face_images(
        detector,
        faces,
        score_threshold=0.0,
        k=20,
        nms_iou=None,
        device="cpu",
        show_progress=False,
        image_scale=0.5,
        layout="grid",
    )
    assert table["image_path"].tolist() == paths and report["excluded_by_reason"] == {"unreadable": 1}
    picture = np.zeros((160, 160, 3), np.uint8)
    corners = [(0, 10), (80, 10), (0, 90), (80, 90)]
    for image, (left, top) in zip(images, corners, strict=True):
        picture[top : top + 60, left : left + 80] = image
    with torch.no_grad():
        raw = _detector_predict(detector, image_tensor(picture), 20).view(-1, 5).numpy()
    centres = (raw[:, :2] + raw[:, 2:4]) / 2
    rows = table.drop(index=2).reset_index(drop=True)
    assert 0 < rows["n_detected"].sum() <= 20  # peaks on the black bands between images belong to none
    for i, (left, top) in enumerate(corners):
        on_image = (
            (centres[:, 0] >= left)
            & (centres[:, 0] < left + 80)
            & (centres[:, 1] >= top)
            & (centres[:, 1] < top + 60)
        )
        boxes = raw[on_image, :4].copy()
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(left, left + 80) - left
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(top, top + 60) - top
        assert rows.loc[i, "n_detected"] == on_image.sum()
        if on_image.any():
            largest = boxes[np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))]
            got = rows.loc[i, ["foss_box_x0", "foss_box_y0", "foss_box_x1", "foss_box_y1"]].to_numpy(float)
            np.testing.assert_allclose(got, largest, atol=1e-3)
