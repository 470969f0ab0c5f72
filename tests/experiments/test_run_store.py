"""A compare run trains once: its finished model is kept (and its epoch checkpoints dropped) and a re-run with
the same settings loads it instead of training."""

import torch

from agelab.experiments.run_store import FINISHED_MODEL, finished_or_trained, write_recon3d_backbone
from agelab.models.bundle import ModelBundle
from tests.conftest import untrained_appearance_bundle


def test_a_finished_run_is_reused_and_its_checkpoints_are_dropped(tmp_path):
    calls = []

    def train(folder):
        calls.append(folder)
        (folder / "epoch_0").mkdir()
        (folder / "epoch_0" / "checkpoint.pt").write_bytes(b"x" * 10)
        (folder / "recon3d_alexnet.pt").write_bytes(b"y")
        return untrained_appearance_bundle(seed=3)

    run_dir = tmp_path / "sps_seed0" / "abc"
    run_dir.mkdir(parents=True)
    first = finished_or_trained(run_dir, train, name="sps_seed0")
    assert calls == [run_dir]
    assert sorted(p.name for p in run_dir.iterdir()) == [FINISHED_MODEL]
    again = finished_or_trained(run_dir, train, name="sps_seed0")
    assert calls == [run_dir]  # not trained twice
    for key, value in first.state_dict.items():
        torch.testing.assert_close(again.state_dict[key], value)


def test_checkpoints_are_kept_when_asked(tmp_path):
    def train(folder):
        (folder / "checkpoint.pt").write_bytes(b"x")
        return untrained_appearance_bundle()

    finished_or_trained(tmp_path, train, name="r", keep_checkpoints=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", FINISHED_MODEL]


def test_the_recon3d_backbone_file_holds_only_the_alexnet_keys(tmp_path):
    bundle = ModelBundle(
        "recon3d_subnet",
        {},
        {"backbone.features.0.weight": torch.ones(2), "head.weight": torch.zeros(1)},
        crop_size=128,
        crop_margin=0.2,
        image_size=112,
    )
    path = write_recon3d_backbone(bundle, tmp_path)
    state = torch.load(path)
    assert list(state) == ["features.0.weight"] and torch.equal(state["features.0.weight"], torch.ones(2))
