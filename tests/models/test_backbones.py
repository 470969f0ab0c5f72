"""The appearance subnet on each backbone a user may choose."""

import pytest
import torch
from torchvision.models import resnet18

from agelab.models.alexnet import appearance_subnet
from agelab.models.backbones import TORCHVISION_BACKBONES
from agelab.models.bundle import ModelBundle


@pytest.mark.parametrize("name", ["alexnet", *TORCHVISION_BACKBONES])
def test_every_backbone_gives_one_logit_per_age(name):
    torch.manual_seed(0)
    model = appearance_subnet(0, 116, backbone=name, dropout=0.2).eval()
    logits = model(torch.randn(2, 3, 112, 112))
    assert logits.shape == (2, 117)
    age, spread = model.predict(torch.randn(2, 3, 112, 112))
    assert ((age >= 0) & (age <= 116)).all() and (spread > 0).all()


def test_unknown_backbone_names_the_known_ones():
    with pytest.raises(ValueError, match="mobilenet_v3_large"):
        appearance_subnet(0, 80, backbone="vgg11")


def test_a_bundle_rebuilds_the_backbone_it_was_trained_with(tmp_path):
    torch.manual_seed(1)
    model = appearance_subnet(0, 80, backbone="mobilenet_v3_small").eval()
    kwargs = {"min_age": 0, "max_age": 80, "pretrained_weights": None, "dropout": 0.5, "head_dropout": 0.0}
    bundle = ModelBundle(
        "appearance_subnet", {**kwargs, "backbone": "mobilenet_v3_small"}, model.state_dict(), 128, 0.2, 112
    )
    bundle.save(tmp_path / "m.pt")
    images = torch.randn(2, 3, 112, 112)
    torch.testing.assert_close(ModelBundle.load(tmp_path / "m.pt").build()(images), model(images))


def test_torchvision_weights_a_user_holds_are_loaded(tmp_path):
    torch.manual_seed(2)
    source = resnet18(num_classes=1000)
    torch.save(source.state_dict(), tmp_path / "resnet18.pth")
    model = appearance_subnet(0, 80, backbone="resnet18", pretrained_weights=str(tmp_path / "resnet18.pth"))
    torch.testing.assert_close(model.backbone.network.conv1.weight, source.conv1.weight)
    torch.save({"conv1.weight": source.conv1.weight}, tmp_path / "partial.pth")
    with pytest.raises(ValueError, match=r"partial\.pth"):
        appearance_subnet(0, 80, backbone="resnet18", pretrained_weights=str(tmp_path / "partial.pth"))
    with pytest.raises(FileNotFoundError):
        appearance_subnet(0, 80, backbone="resnet18", pretrained_weights=str(tmp_path / "none.pth"))
