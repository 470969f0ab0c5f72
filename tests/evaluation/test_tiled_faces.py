"""agelab.evaluation.tiled_faces: scenes tiled from single-face test images, scored face by face."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from agelab.evaluation.multi_person import Faces
from agelab.evaluation.tiled_faces import match_faces, tile_scene, tiled_face_mae
from agelab.training.foss_data import FaceRecord


def test_each_true_face_takes_the_best_scoring_free_detection_that_overlaps_it():
    truth = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float)
    boxes = np.array([[1, 0, 11, 10], [0, 0, 10, 10], [20, 0, 30, 10]], float)
    scores = np.array([0.9, 0.8, 0.1])
    # 0.9 takes face 0 (IoU 90/110); 0.8 overlaps only the taken face 0; 0.1 is under the threshold
    assert match_faces(truth, boxes, scores, score_threshold=0.2).tolist() == [0, -1]
    assert match_faces(truth, boxes, scores, score_threshold=0.05).tolist() == [0, 2]
    # at IoU 0.9 the 0.9 detection overlaps nothing enough, so the 0.8 one (IoU 1) takes face 0
    assert match_faces(truth, boxes, scores, score_threshold=0.2, iou=0.9).tolist() == [1, -1]


def _write_face(folder, k: int, level: int) -> FaceRecord:
    """A 40 x 40 black image holding one 20 x 20 square of grey ``level`` (its 'face')."""
    pixels = np.zeros((40, 40, 3), np.uint8)
    pixels[10:30, 10:30] = level
    path = folder / f"face{k}.png"
    Image.fromarray(pixels).save(path)
    return FaceRecord(str(path), ((10.0, 10.0, 30.0, 30.0),), (level / 2,), (1,))


def _grey_squares(image: np.ndarray) -> Faces:
    """A real, simple detector for the test's images: each bright region is a face, its age half its grey
    level, its score 1."""
    labels, _ = ndimage.label(image[..., 0] > 60)
    boxes, ages = [], []
    for region in ndimage.find_objects(labels):
        ys, xs = region
        boxes.append([xs.start, ys.start, xs.stop, ys.stop])
        ages.append(float(image[region][..., 0].max()) / 2)
    n = len(boxes)
    return Faces(np.array(boxes, float).reshape(-1, 4), np.ones(n), np.array(ages), np.full(n, np.nan))


def test_a_scene_keeps_each_face_where_its_cell_puts_it(tmp_path):
    faces = [_write_face(tmp_path, k, 100 + 10 * k).load() for k in range(4)]
    scene = tile_scene(faces, 80)
    # 2 x 2 cells of 40 px: each 40 px image fits its cell unscaled
    assert scene.boxes.tolist() == [[10, 10, 30, 30], [50, 10, 70, 30], [10, 50, 30, 70], [50, 50, 70, 70]]
    assert scene.image[20, 60, 0] == 110 and scene.image[60, 20, 0] == 120
    with pytest.raises(ValueError, match="square number"):
        tile_scene(faces[:3], 80)


def test_tiled_and_single_maes_are_paired_on_the_same_faces(tmp_path):
    records = [_write_face(tmp_path, k, 80 + 16 * k) for k in range(10)]
    # the truth is 1, 2, ... years below what the squares say: each face's error is known
    offsets = np.arange(1, 11, dtype=float)
    records = [
        FaceRecord(r.path, r.boxes, (r.ages[0] - d,), r.genders)
        for r, d in zip(records, offsets, strict=True)
    ]
    result = tiled_face_mae(_grey_squares, records, grid=3, size=120, score_threshold=0.5, seed=0)
    assert result["scenes"] == 1 and result["faces"] == 9  # the tenth face fills no scene
    used = np.random.default_rng(0).permutation(10)[:9]
    assert result["found_tiled"] == result["found_single"] == result["paired_faces"] == 9
    assert result["mae_tiled"] == pytest.approx(offsets[used].mean())
    assert result["paired_mae_single"] == pytest.approx(offsets[used].mean())
    blind = tiled_face_mae(_grey_squares, records, grid=2, size=120, score_threshold=2.0)
    assert blind["scenes"] == 2 and blind["found_tiled"] == 0 and np.isnan(blind["mae_tiled"])
