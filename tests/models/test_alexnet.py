import pytest
import torch
from torchvision.models import alexnet

from agelab.models.alexnet import AlexNetBackbone, appearance_subnet


def test_backbone_is_alexnet_without_its_last_fc():
    backbone = AlexNetBackbone()
    reference = alexnet(weights=None)
    n_ref = sum(p.numel() for p in reference.parameters())
    n_fc8 = sum(p.numel() for p in reference.classifier[6].parameters())
    assert sum(p.numel() for p in backbone.parameters()) == n_ref - n_fc8
    assert backbone(torch.zeros(2, 3, 112, 112)).shape == (2, 4096)


def test_appearance_subnet_outputs_one_logit_per_age_and_predicts_in_range():
    model = appearance_subnet(0, 80).eval()
    logits = model(torch.rand(3, 3, 112, 112))
    assert logits.shape == (3, 81)
    age, std = model.predict(torch.rand(3, 3, 112, 112))
    assert ((age >= 0) & (age <= 80)).all() and (std > 0).all()


def test_pretrained_weights_from_a_file_the_user_holds(tmp_path):
    reference = alexnet(weights=None)
    path = tmp_path / "alexnet.pth"
    torch.save(reference.state_dict(), path)
    model = appearance_subnet(0, 80, pretrained_weights=str(path))
    assert torch.equal(model.backbone.features[0].weight, reference.features[0].weight)
    with pytest.raises(FileNotFoundError, match="no file"):
        appearance_subnet(pretrained_weights=str(tmp_path / "missing.pth"))
