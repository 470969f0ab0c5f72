"""Initial weights from state-dict files the user holds: the DLA-34 backbone of CenterNet, the TResNet age
network, the whole FOSS model; files that do not fit fail with their path and the matched key count."""

import pytest
import torch

from agelab.models.centernet import CenterNetFaceDetector
from agelab.models.dla import DLA
from agelab.models.foss import FossNet
from agelab.models.tresnet import TRESNET_S_LAYERS, TResNet
from tests.conftest import SMALL_FOSS as SMALL


def _assert_same(state, loaded):
    assert set(state) == set(loaded)
    for key, value in state.items():
        assert torch.equal(value, loaded[key]), key


def test_detector_starts_from_a_dla34_file_minus_its_imagenet_classifier(tmp_path):
    torch.manual_seed(1)
    state = {k: v.clone() for k, v in DLA(0.25).state_dict().items()}
    state["level0.0.weight"] += 1.0  # surely not what a fresh initialisation draws
    path = tmp_path / "dla34.pth"
    torch.save({**state, "fc.weight": torch.rand(1000, 128, 1, 1), "fc.bias": torch.rand(1000)}, path)
    torch.manual_seed(2)
    detector = CenterNetFaceDetector(0.25, 8, False, 64, pretrained_weights=str(path))
    _assert_same(state, detector.backbone.base.state_dict())


def test_age_network_and_whole_model_start_from_their_files(tmp_path):
    torch.manual_seed(3)
    age = {
        k: v + 0.5 if v.is_floating_point() else v
        for k, v in TResNet(TRESNET_S_LAYERS, 0.25, 8).state_dict().items()
    }
    torch.save(age, tmp_path / "tresnet.pt")
    model = FossNet(**SMALL, age_backbone_weights=str(tmp_path / "tresnet.pt"))
    _assert_same(age, model.age_backbone.state_dict())

    torch.manual_seed(4)
    whole = FossNet(**SMALL).state_dict()
    torch.save(whole, tmp_path / "foss.pt")
    torch.manual_seed(5)
    _assert_same(whole, FossNet(**SMALL, pretrained_weights=str(tmp_path / "foss.pt")).state_dict())
    with pytest.raises(ValueError, match="not both"):
        FossNet(**SMALL, pretrained_weights=str(tmp_path / "foss.pt"), age_backbone_weights="x.pt")


def test_missing_unreadable_and_mismatched_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"age_backbone_weights: no file at .*missing\.pt"):
        FossNet(**SMALL, age_backbone_weights=str(tmp_path / "missing.pt"))
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"pretrained_weights: cannot read .*garbage\.pt"):
        CenterNetFaceDetector(0.25, 8, False, 64, pretrained_weights=str(garbage))
    not_a_dict = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], not_a_dict)
    with pytest.raises(ValueError, match=r"list\.pt holds a list"):
        CenterNetFaceDetector(0.25, 8, False, 64, pretrained_weights=str(not_a_dict))

    state = dict(DLA(0.25).state_dict())
    total = len(state)
    del state["level1.0.weight"]  # one missing
    state["level2.root.conv.weight"] = torch.rand(1, 1, 1, 1)  # one of another shape
    state["extra.weight"] = torch.rand(2)  # one the model lacks
    mismatched = tmp_path / "mismatched.pt"
    torch.save(state, mismatched)
    with pytest.raises(ValueError) as error:
        CenterNetFaceDetector(0.25, 8, False, 64, pretrained_weights=str(mismatched))
    message = str(error.value)
    assert "mismatched.pt" in message and f"{total - 2} of its {total} keys matched" in message
    assert "1 missing" in message and "1 not in the model" in message and "1 of another shape" in message
