"""Checkpoint folders keyed by the fingerprint of everything that changes a run's result."""

import dataclasses
import json
import logging

import pandas as pd
import pytest
import torch

from agelab.training.appearance_training import EVALUATION_ONLY, AppearanceConfig
from agelab.training.checkpoints import (
    FINGERPRINT,
    checkpoint_folder,
    data_digest,
    file_digest,
    fingerprint_key,
    run_fingerprint,
    state_digest,
    training_fingerprint,
)
from agelab.training.multitask_training import MultiTaskConfig
from agelab.training.reconstruction_training import Recon3DConfig


def faces(ages=(20.0, 30.0)):
    return pd.DataFrame({"crop_path": [f"c{i}.jpg" for i in range(len(ages))], "age": ages, "split": "train"})


def test_same_fingerprint_same_folder_and_a_change_is_named(tmp_path, caplog):
    first = training_fingerprint("d1", {"loss": {"lambda_dist": 0.2}, "model": {"dropout": 0.5}})
    folder = checkpoint_folder(tmp_path, first)
    assert json.loads((folder / FINGERPRINT).read_text()) == first
    assert checkpoint_folder(tmp_path, dict(first)) == folder
    changed = training_fingerprint("d1", {"loss": {"lambda_dist": 0.3}, "model": {"dropout": 0.5}})
    with caplog.at_level(logging.WARNING, logger="agelab.training.checkpoints"):
        other = checkpoint_folder(tmp_path, changed)
    assert other != folder and other.parent == folder.parent
    assert "(loss): training afresh" in caplog.text
    assert (folder / FINGERPRINT).is_file()  # the earlier run's checkpoints are left alone


def test_digests_follow_the_bytes(tmp_path):
    weights = tmp_path / "w.pt"
    torch.save({"a": torch.zeros(3)}, weights)
    before = file_digest(weights)
    torch.save({"a": torch.ones(3)}, weights)  # same name, other weights
    assert file_digest(weights) != before and file_digest(None) is None
    assert file_digest(tmp_path / "nope.pt").startswith("missing:")
    assert state_digest({"a": torch.zeros(3)}) != state_digest({"a": torch.tensor([0.0, 0.0, 1e-9])})
    assert data_digest(faces()) == data_digest(faces()[::-1])  # row order does not matter
    assert data_digest(faces()) != data_digest(faces((20.0, 31.0)))


def _analysed(root: str, ages=(20.0, 30.0)) -> pd.DataFrame:
    """Faces as the data pipeline leaves them, their crops cached under ``root``."""
    return pd.DataFrame(
        {
            "image_path": [f"{root}/raw/{i}.jpg" for i in range(len(ages))],
            "crop_path": [f"{root}/face_cache/crops/{abs(hash((root, i))):x}.jpg" for i in range(len(ages))],
            "sha256": ["aa11", "bb22"][: len(ages)],
            "face_in_image": 0,
            "crop_matrix": "[[0.5, 0.0, -3.0], [0.0, 0.5, -4.0]]",
            "age": ages,
            "split": "train",
        }
    )


def test_data_digest_follows_the_faces_content_not_where_their_files_live():
    here, moved = _analysed("/data/a"), _analysed("/mnt/copy")
    # a copied or re-mounted dataset: new paths and mtimes, so new face-cache crop paths, same pixels
    assert data_digest(here) == data_digest(moved)
    assert data_digest(here) == data_digest(here[::-1])
    for column, value in [
        ("sha256", ["aa11", "cc33"]),  # other image bytes
        ("face_in_image", [0, 1]),  # another face of the same photo
        ("crop_matrix", ["[[0.5, 0.0, -3.0], [0.0, 0.5, -4.0]]", "[[0.6, 0.0, -3.0], [0.0, 0.6, -4.0]]"]),
        ("age", [20.0, 31.0]),
        ("split", ["train", "val"]),
    ]:
        assert data_digest(here.assign(**{column: value})) != data_digest(here), column
    # without the content columns (a frame no image analysis made) the crop files name the data
    assert data_digest(faces()) != data_digest(faces().assign(crop_path=["x0.jpg", "x1.jpg"]))


def _leaves(value, path=()):
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _leaves(getattr(value, f.name), (*path, f.name))
    else:
        yield path, value


def _perturbed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if value is None:
        return "set"
    if isinstance(value, tuple | list):
        return (*value, value[-1]) if value else (1,)
    raise TypeError(type(value))


def _replace(config, path, new):
    if len(path) == 1:
        return dataclasses.replace(config, **{path[0]: new})
    return dataclasses.replace(config, **{path[0]: _replace(getattr(config, path[0]), path[1:], new)})


def _key(config):
    # the settings each node fingerprints (AppearanceConfig leaves out what acts after training)
    fingerprinted = getattr(config, "training_settings", None)
    settings = fingerprinted() if fingerprinted else dataclasses.asdict(config)
    training = getattr(config, "training", None)
    resume = training.resume_key() if hasattr(training, "resume_key") else settings.get("training")
    return fingerprint_key({**training_fingerprint("data", settings), "training": resume})


# settings whose value +1 is refused: a valid other value instead
VALID_CHANGE = {"ema_decay": 0.5}

# how a run is shown or scheduled, never what it learns (TrainConfig.resume_key leaves these out)
NOT_RESULT = {"show_progress", "epochs", "workers", "device"}


@pytest.mark.parametrize("config_class", [AppearanceConfig, Recon3DConfig, MultiTaskConfig])
def test_every_setting_that_changes_the_result_changes_the_checkpoint_key(config_class):
    config = config_class()
    base = _key(config)
    checked = 0
    for path, value in _leaves(config):
        if path[-1] in NOT_RESULT and (path[-1] == "show_progress" or path[0] == "training"):
            continue
        if path[0] in EVALUATION_ONLY:
            continue
        changed = VALID_CHANGE.get(path[-1], _perturbed(value))
        assert _key(_replace(config, path, changed)) != base, ".".join(path)
        checked += 1
    assert checked >= 8


def test_appearance_settings_that_act_after_training_keep_the_checkpoint_key():
    config = AppearanceConfig()
    fgnet_set = {"fgnet": {"dataset": "fgnet"}}
    for changed in (
        dataclasses.replace(config, test_time_flip=True),
        dataclasses.replace(config, calibrate_intervals=False),
        dataclasses.replace(config, cross_datasets=fgnet_set, cross_evaluate=("fgnet",)),
    ):
        assert _key(changed) == _key(config)
    assert set(EVALUATION_ONLY) <= {f.name for f in dataclasses.fields(AppearanceConfig)}


def test_foss_stages_key_on_their_data_model_augmentation_loss_and_initial_weights(tmp_path):
    from agelab.models.bundle import ModelBundle
    from agelab.training.foss_config import FossConfig, foss_config
    from agelab.training.foss_stages import detector_fingerprint, foss_fingerprint

    detection = pd.DataFrame(
        {"image_path": ["a.jpg"], "box_x0": [1.0], "box_y0": [2.0], "box_x1": [9.0], "box_y1": [9.0]}
    ).assign(split_hint="train")
    annotations = pd.DataFrame(
        {"image_path": ["u.jpg"], "split": ["train"], "age": [30.0], "foss_use": [True]}
    )
    detector = ModelBundle("centernet_face_detector", {}, {"w": torch.zeros(2)}, 0, 0.0, 64)
    base = foss_config({})

    def keys(config: FossConfig, detector=detector, detection=detection):
        return (
            fingerprint_key(detector_fingerprint(detection, config)),
            fingerprint_key(foss_fingerprint(detector, annotations, detection, config)),
        )

    reference = keys(base)
    assert keys(foss_config({})) == reference  # unchanged settings resume
    weights = tmp_path / "dla34.pt"
    torch.save({"x": torch.ones(1)}, weights)
    for change in (
        {"data": {"augmentation": {"rotation": 3.0}}},
        {"model": {"head_conv": 64}},
        {"training": {"loss": {"size": 0.2}}},
        {"model": {"detector_backbone_weights": str(weights)}},
    ):
        detector_key, foss_key = keys(foss_config(change))
        assert detector_key != reference[0] and foss_key != reference[1], change
    # stage 3 alone: its K, its loss weights, the trained detector it starts from, its data
    assert keys(foss_config({"training": {"train_k": 4}}))[0] == reference[0]
    assert keys(foss_config({"training": {"train_k": 4}}))[1] != reference[1]
    other = ModelBundle("centernet_face_detector", {}, {"w": torch.ones(2)}, 0, 0.0, 64)
    assert keys(base, detector=other)[1] != reference[1]
    assert keys(base, detection=detection.assign(box_x1=10.0)) != reference


def test_a_finished_run_is_keyed_by_its_faces_its_settings_and_the_training_revision(monkeypatch):
    faces = pd.DataFrame({"crop_path": ["a.png", "b.png"], "age": [20, 30], "split": ["train", "train"]})
    key = run_fingerprint(faces, {"epochs": 3}, "recon3d")
    assert key == run_fingerprint(faces.copy(), {"epochs": 3}, "recon3d")
    assert key != run_fingerprint(faces, {"epochs": 4}, "recon3d")
    assert key != run_fingerprint(faces.assign(age=[20, 31]), {"epochs": 3}, "recon3d")
    # a revision of the training code that changes what the same settings learn retrains, not reuses
    monkeypatch.setattr("agelab.training.checkpoints.TRAINING_REVISION", 3)
    assert key != run_fingerprint(faces, {"epochs": 3}, "recon3d")
