"""agelab.evaluation.tiled_faces: scenes tiled from single-face test images, scored face by face."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from agelab.evaluation.multi_person import Faces
from agelab.evaluation.tiled_faces import match_cells, scene_cells, tile_scene, tiled_face_mae
from agelab.training.foss_data import FaceRecord


def test_each_cell_takes_the_best_scoring_detection_centred_in_it():
    cells = scene_cells(4, 80)
    assert cells.tolist() == [[0, 0, 40, 40], [40, 0, 80, 40], [0, 40, 40, 80], [40, 40, 80, 80]]
    boxes = np.array(
        [
            [5, 5, 35, 35],  # centre (20, 20): cell 0
            [10, 0, 50, 30],  # centre (30, 15): cell 0 too, a better score
            [38, 40, 78, 80],  # centre (58, 60): cell 3, a box reaching into cell 2
            [45, 5, 75, 35],  # centre (60, 20): cell 1, under the threshold
        ],
        float,
    )
    scores = np.array([0.6, 0.9, 0.5, 0.1])
    assert match_cells(cells, boxes, scores, score_threshold=0.2).tolist() == [1, -1, -1, 2]
    assert match_cells(cells, boxes, scores, score_threshold=0.05).tolist() == [1, 3, -1, 2]
    assert match_cells(cells, np.zeros((0, 4)), np.zeros(0), 0.2).tolist() == [-1, -1, -1, -1]
    with pytest.raises(ValueError, match="square number"):
        scene_cells(3, 80)


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


def _aged_faces(folder, n: int) -> tuple[list[FaceRecord], np.ndarray]:
    """``n`` written faces whose true ages are 1, 2, ... years below what their squares say (the test's
    detector reads half the grey level): each face's error is known."""
    offsets = np.arange(1, n + 1, dtype=float)
    records = []
    for k, offset in enumerate(offsets):
        face = _write_face(folder, k, 80 + 16 * k)
        records.append(FaceRecord(face.path, face.boxes, (face.ages[0] - offset,), face.genders))
    return records, offsets


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
    for key in ("mae_tiled", "mae_single", "paired_mae_tiled", "paired_mae_single"):
        assert result[key] == pytest.approx(offsets[used].mean()), key
    blind = tiled_face_mae(_grey_squares, records, grid=2, size=120, score_threshold=2.0)
    assert blind["scenes"] == 2 and blind["found_tiled"] == 0 and np.isnan(blind["mae_tiled"])
    with pytest.raises(ValueError, match="at least 1"):
        tiled_face_mae(_grey_squares, records, grid=0, size=120, score_threshold=0.5)


def test_faces_found_alone_but_lost_in_the_scene_leave_the_paired_maes(tmp_path):
    """A detector blind to faces under 15 px: alone (20 px squares) it finds all, in 3 x 3 scenes of 60 px
    (cells of 20 px, squares shrunk to 10 px) none; the paired MAEs use only faces found both ways."""
    records = [_write_face(tmp_path, k, 80 + 16 * k) for k in range(9)]
    offsets = np.arange(1, 10, dtype=float)
    records = [
        FaceRecord(r.path, r.boxes, (r.ages[0] - d,), r.genders)
        for r, d in zip(records, offsets, strict=True)
    ]

    def large_squares_only(image: np.ndarray) -> Faces:
        faces = _grey_squares(image)
        large = (faces.boxes[:, 3] - faces.boxes[:, 1]) >= 15
        return Faces(
            faces.boxes[large], faces.scores[large], faces.ages[large], faces.male_probability[large]
        )

    result = tiled_face_mae(large_squares_only, records, grid=3, size=60, score_threshold=0.5)
    assert result["found_single"] == 9 and result["mae_single"] == pytest.approx(offsets.mean())
    assert result["found_tiled"] == 0 and result["paired_faces"] == 0
    assert np.isnan(result["paired_mae_single"])  # not the unpaired 5.0
