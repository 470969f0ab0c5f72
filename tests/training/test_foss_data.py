"""FOSS training images: the size-weighted mixture, tiling of age images only, targets that agree with
the boxes, and the same images for the same (seed, epoch, index)."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from agelab.detection.augmentation import NO_AUGMENTATION, Augmentation
from agelab.training.foss_data import FaceRecord, FossImageSet, Source


def _records(tmp_path, name: str, count: int, age: float | None) -> list[FaceRecord]:
    records = []
    for i in range(count):
        path = tmp_path / f"{name}_{i}.png"
        Image.fromarray(np.full((60, 80, 3), 40 + i, np.uint8)).save(path)
        records.append(
            FaceRecord(str(path), ((10.0, 10.0, 50.0, 50.0),), (math.nan if age is None else age,), (1,))
        )
    return records


@pytest.fixture
def image_set(tmp_path):
    ages = Source("ages", _records(tmp_path, "age", 30, 33.0), tiled=True)
    scenes = Source("scenes", _records(tmp_path, "scene", 10, None), tiled=False)
    geometry_kept = Augmentation(scale=(1.0, 1.0), shift=0.0, rotation=0.0)  # flip, colour, blur only
    return FossImageSet(
        [ages, scenes], canvas=128, detector_input=64, max_objects=16, seed=3, augmentation=geometry_kept
    )


def test_one_epoch_is_the_largest_source_and_draws_follow_the_sizes(image_set):
    assert len(image_set) == 30
    draws = [image_set._pick(i, np.random.default_rng([3, 0, i]))[0].name for i in range(2000)]
    assert draws.count("ages") / len(draws) == pytest.approx(0.75, abs=0.03)


def test_detection_images_are_whole_and_unlabelled_age_images_tiled(image_set):
    tiles_seen = set()
    for index in range(60):
        rng = np.random.default_rng([3, 0, index])
        source, _ = image_set._pick(index, rng)
        image, targets = image_set[index]
        faces = int(targets["box_mask"].sum())
        assert image.shape == (3, 128, 128) and image.min() >= 0 and image.max() <= 1
        assert int((targets["heatmap"] == 1).sum()) == faces  # one peak per face
        if source.name == "scenes":
            assert faces == 1 and torch.isnan(targets["ages"][:faces]).all()
        else:
            assert faces in (1, 4, 9) and (targets["ages"][:faces] == 33.0).all()
            tiles_seen.add(faces)
    assert tiles_seen == {1, 4, 9}


def test_the_same_seed_epoch_and_index_give_the_same_image(image_set):
    first, _ = image_set[5]
    again, _ = image_set[5]
    torch.testing.assert_close(first, again)
    image_set.set_epoch(1)
    other, _ = image_set[5]
    assert not torch.equal(first, other)


def test_validation_images_are_not_tiled_or_augmented(tmp_path):
    records = _records(tmp_path, "val", 3, 20.0)
    val = FossImageSet([Source("val", records, tiled=True)], canvas=128, detector_input=64, train=False)
    assert len(val) == 3
    _, targets = val[1]
    assert int(targets["box_mask"].sum()) == 1 and targets["age"].item() == 20.0
    # letterboxed 80x60 -> 128x96, centred: the box (10..50) scales by 1.6 and shifts down 16 px
    np.testing.assert_allclose(targets["boxes"][0].numpy(), [16, 16 + 16, 80, 80 + 16])


def test_an_age_image_alone_fills_the_central_single_face_scale_of_the_canvas(tmp_path):
    records = _records(tmp_path, "val", 3, 20.0)
    val_source = Source("val", records, tiled=True)
    val = FossImageSet([val_source], canvas=128, detector_input=64, train=False, single_face_scale=0.5)
    image, targets = val[1]
    # letterboxed 80x60 -> the central 64 x 64 cell (corner 32, 32) as 64 x 48, centred: box (10..50) x 0.8,
    # shifted by (32, 32 + 8)
    np.testing.assert_allclose(targets["boxes"][0].numpy(), [32 + 8, 40 + 8, 32 + 40, 40 + 40])
    assert not image[:, :, :32].any() and not image[:, :, 96:].any()  # black around the cell
    assert not image[:, :40].any() and not image[:, 88:].any()
    # a single tile in training too (no augmentation): the same place
    alone = FossImageSet(
        [Source("ages", records, tiled=True)],
        canvas=128,
        detector_input=64,
        tile_choices=(1,),
        augmentation=NO_AUGMENTATION,
        single_face_scale=0.5,
    )
    _, targets = alone[1]
    np.testing.assert_allclose(targets["boxes"][0].numpy(), [40, 48, 72, 80])
    with pytest.raises(ValueError, match="single_face_scale"):
        FossImageSet([Source("val", records, tiled=True)], 128, 64, single_face_scale=0.0)


def _crowd(tmp_path, faces: int) -> FaceRecord:
    """A 128 × 128 detection image with ``faces`` 8 × 8 boxes on a 16 px grid (centres at 8 + 16 i)."""
    path = tmp_path / "crowd.png"
    Image.fromarray(np.full((128, 128, 3), 90, np.uint8)).save(path)
    boxes = tuple(
        (16.0 * (i % 8) + 4, 16.0 * (i // 8) + 4, 16.0 * (i % 8) + 12, 16.0 * (i // 8) + 12)
        for i in range(faces)
    )
    return FaceRecord(str(path), boxes, (math.nan,) * faces, (-1,) * faces)


def test_every_face_of_a_crowd_is_a_detector_target(tmp_path):
    """40 faces (more than the old 32 target rows): a heatmap peak at each of the 40 centres."""
    crowd = _crowd(tmp_path, 40)
    image_set = FossImageSet(
        [Source("scenes", [crowd], tiled=False)], canvas=128, detector_input=128, train=False
    )
    _, targets = image_set[0]
    assert int(targets["box_mask"].sum()) == 40 and int(targets["mask"].sum()) == 40
    heatmap = targets["heatmap"][0]
    # stride 4: the centre (8 + 16 c, 8 + 16 r) px is cell (2 + 4 c, 2 + 4 r)
    for i in range(40):
        row, column = divmod(i, 8)
        assert heatmap[2 + 4 * row, 2 + 4 * column] == 1.0
    assert int((heatmap == 1.0).sum()) == 40
    assert sorted(targets["index"][targets["mask"] > 0].tolist()) == sorted(
        (2 + 4 * (i // 8)) * 32 + 2 + 4 * (i % 8) for i in range(40)
    )


def test_a_max_objects_bound_below_the_most_crowded_image_fails_before_training(tmp_path):
    crowd = _crowd(tmp_path, 40)
    with pytest.raises(ValueError, match=r"max_objects=32 is below the 40 faces of .*crowd.png"):
        FossImageSet([Source("scenes", [crowd], tiled=False)], canvas=128, detector_input=128, max_objects=32)
    ages = Source("ages", _records(tmp_path, "age", 3, 30.0), tiled=True)  # 9 tiles of one face each
    assert FossImageSet([ages], canvas=128, detector_input=64).objects == 9
    with pytest.raises(ValueError, match="below the 9 faces"):
        FossImageSet([ages], canvas=128, detector_input=64, max_objects=8)


def test_training_images_are_scaled_cropped_and_rotated_with_their_boxes(tmp_path):
    """§4.2's augmentation in the training set: the boxes move and drop with the faces, and the targets
    follow the boxes."""
    pixels = np.zeros((128, 128, 3), np.uint8)
    boxes = ((10.0, 10.0, 40.0, 44.0), (70.0, 60.0, 110.0, 100.0), (20.0, 80.0, 50.0, 120.0))
    for x0, y0, x1, y1 in boxes:
        pixels[int(y0) : int(y1), int(x0) : int(x1)] = 255
    Image.fromarray(pixels).save(tmp_path / "scene.png")
    record = FaceRecord(str(tmp_path / "scene.png"), boxes, (math.nan,) * 3, (-1,) * 3)
    strong = Augmentation(scale=(0.6, 1.4), shift=0.2, rotation=20.0)
    image_set = FossImageSet([Source("scenes", [record], tiled=False)], 128, 64, seed=1, augmentation=strong)
    moved = 0
    for index in range(12):
        image, targets = image_set[index]
        kept = targets["boxes"][targets["box_mask"] > 0]
        assert int(targets["mask"].sum()) == len(kept) == int((targets["heatmap"] == 1).sum())
        moved += len(kept) != 3 or not np.allclose(sorted(kept.numpy().tolist()), sorted(boxes))
        background = image[0].median()
        for x0, y0, x1, y1 in kept.tolist():
            assert image[0, int((y0 + y1) / 2), int((x0 + x1) / 2)] > background + 0.2  # on its face
    assert moved >= 10
