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


def test_predict_is_eq10_over_the_subnets_own_age_range():
    model = appearance_subnet(10, 12).eval()
    with torch.no_grad():
        model.age_head.weight.zero_()
        model.age_head.bias.copy_(torch.log(torch.tensor([0.5, 0.25, 0.25])))
    age, std = model.predict(torch.rand(2, 3, 112, 112))
    torch.testing.assert_close(age, torch.full((2,), 10.75))  # 0.5·10 + 0.25·11 + 0.25·12
    torch.testing.assert_close(
        std, torch.full((2,), (0.5 * 0.75**2 + 0.25 * 0.25**2 + 0.25 * 1.25**2) ** 0.5)
    )


def test_dropout_rates_reach_fc6_fc7_and_the_age_head_and_an_empty_age_range_is_refused():
    model = appearance_subnet(0, 80, dropout=0.3, head_dropout=0.2)
    dropouts = [m.p for m in model.backbone.classifier if isinstance(m, torch.nn.Dropout)]
    assert dropouts == [0.3, 0.3]
    assert model.head_dropout.p == 0.2
    assert isinstance(model.backbone.classifier[-1], torch.nn.ReLU)  # ends in fc7's ReLU, fc8 is gone
    assert [m.p for m in AlexNetBackbone().classifier if isinstance(m, torch.nn.Dropout)] == [0.5, 0.5]
    assert appearance_subnet().head_dropout.p == 0.0
    assert (model.min_age, model.max_age, model.age_head.out_features) == (0, 80, 81)
    assert appearance_subnet(5, 6).age_head.out_features == 2
    with pytest.raises(ValueError, match="must exceed"):
        appearance_subnet(20, 20)


def test_loading_weights_drops_fc8_and_refuses_a_state_dict_of_another_network(tmp_path):
    from agelab.models.alexnet import load_alexnet_weights

    source = AlexNetBackbone()
    state = dict(source.state_dict())
    state["classifier.6.weight"] = torch.zeros(1000, 4096)  # torchvision's fc8, which the backbone drops
    state["classifier.6.bias"] = torch.zeros(1000)
    path = tmp_path / "alexnet.pth"
    torch.save(state, path)
    target = AlexNetBackbone()
    load_alexnet_weights(target, path)
    for name, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[name], value), name

    del state["features.0.weight"]
    torch.save(state, path)  # one file at a time: each is 0.23 GB
    with pytest.raises(ValueError, match=r"missing.*features\.0\.weight"):
        load_alexnet_weights(AlexNetBackbone(), path)
    torch.save({**source.state_dict(), "extra.weight": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match=r"unexpected.*extra\.weight"):
        load_alexnet_weights(AlexNetBackbone(), path)


def test_appearance_subnet_defaults_are_ages_0_to_80_and_fc_dropout_one_half():
    from agelab.models.alexnet import AppearanceSubnet

    model = AppearanceSubnet()
    assert (model.min_age, model.max_age, model.age_head.out_features) == (0, 80, 81)
    assert [m.p for m in model.backbone.classifier if isinstance(m, torch.nn.Dropout)] == [0.5, 0.5]
    assert model.head_dropout.p == 0.0


def test_loading_refuses_a_file_that_pickles_arbitrary_objects(tmp_path):
    """torch.load(weights_only=True): a pickled non-tensor object is refused while unpickling, before
    anything is built from it (weights_only=False would unpickle it and fail only on the keys)."""
    import pickle
    from fractions import Fraction

    from agelab.models.alexnet import load_alexnet_weights

    path = tmp_path / "object.pth"
    torch.save({"features.0.weight": Fraction(1, 3)}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_alexnet_weights(AlexNetBackbone(), path)
