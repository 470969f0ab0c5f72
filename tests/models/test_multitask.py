import pytest
import torch

from agelab.models.alexnet import AlexNetBackbone, AppearanceSubnet
from agelab.models.bundle import ModelBundle
from agelab.models.multitask import (
    BothOutputs,
    CrossStitch,
    HardSharingNet,
    SoftSharingNet,
    alexnet_stages,
    hps_net,
    sps_net,
)
from agelab.models.recon3d import recon3d_subnet
from agelab.training.multitask_training import MultiTaskConfig, make_optimizer


def test_identity_kappa_makes_sps_two_independent_alexnets():
    torch.manual_seed(0)
    net = sps_net(0, 80, kappa_same=1.0, age_dropout=0.0).eval()
    images = torch.randn(2, 3, 112, 112)
    logits, z = net.forward_both(images)
    torch.testing.assert_close(logits, net.branch_b(images))
    torch.testing.assert_close(z, net.branch_a(images))
    assert len(net.stitches) == 5  # after the three max-pools, fc6 and fc7
    torch.testing.assert_close(net(images), logits)  # forward: the age logits of forward_both
    both_logits, both_z = BothOutputs(net)(images)  # the training view: both outputs
    torch.testing.assert_close(both_logits, logits)
    torch.testing.assert_close(both_z, z)


def test_stitch_blends_as_eq13():
    stitch = CrossStitch(0.7)
    a, b = torch.full((1, 2), 1.0), torch.full((1, 2), 3.0)
    new_a, new_b = stitch(a, b)
    torch.testing.assert_close(new_a, torch.full((1, 2), 0.7 + 0.3 * 3))
    torch.testing.assert_close(new_b, torch.full((1, 2), 0.3 + 0.7 * 3))


def test_kappa_gets_gradients_and_adagrad_updates_it_while_adam_updates_the_rest():
    torch.manual_seed(0)
    net = sps_net(0, 80, kappa_same=0.5, age_dropout=0.0)
    optimizer = make_optimizer(net, MultiTaskConfig())
    adam, adagrad = optimizer.optimizers
    kappas = {id(p) for p in net.kappa_parameters()}
    assert {id(p) for g in adagrad.param_groups for p in g["params"]} == kappas
    assert not kappas & {id(p) for g in adam.param_groups for p in g["params"]}
    before = [p.detach().clone() for p in net.kappa_parameters()]
    logits, z = BothOutputs(net)(torch.randn(2, 3, 112, 112))
    (logits.logsumexp(-1).sum() + z[:, :80].pow(2).sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.kappa_parameters())
    optimizer.step()
    assert all(not torch.equal(b, p) for b, p in zip(before, net.kappa_parameters(), strict=True))
    assert all("sum" in adagrad.state[p] for p in net.kappa_parameters())  # Adagrad's accumulator
    assert all(p not in adam.state for p in net.kappa_parameters())


def test_l2_regularisation_touches_only_the_age_branch():
    """With a zero loss the only force is weight decay: exactly the age branch moves."""
    torch.manual_seed(0)
    for net in (sps_net(0, 80, age_dropout=0.0), hps_net(0, 80, age_dropout=0.0)):
        optimizer = make_optimizer(net, MultiTaskConfig(age_l2=0.5))
        before = {name: p.detach().clone() for name, p in net.named_parameters()}
        logits, z = BothOutputs(net)(torch.randn(2, 3, 112, 112))
        ((logits.sum() + z.sum()) * 0).backward()
        optimizer.step()
        moved = {name for name, p in net.named_parameters() if not torch.equal(before[name], p)}
        age = {name for name, p in net.named_parameters() if any(p is q for q in net.age_parameters())}
        assert moved == age and age


def test_hps_shares_one_alexnet_between_both_heads():
    net = hps_net(10, 20).eval()
    images = torch.randn(3, 3, 112, 112)
    logits, z = net.forward_both(images)
    assert logits.shape == (3, 11) and z.shape == (3, 257)  # one logit per age 10..20: 20 − 10 + 1
    assert sum(1 for name, _ in net.named_modules() if name.endswith("backbone")) == 1
    torch.testing.assert_close(net(images), logits)  # forward: the age logits of forward_both
    both_logits, both_z = BothOutputs(net)(images)
    torch.testing.assert_close(both_logits, logits)
    torch.testing.assert_close(both_z, z)
    assert [id(p) for p in net.age_parameters()] == [id(net.age_head.weight), id(net.age_head.bias)]


def test_composite_optimizer_state_round_trips_and_schedulers_reach_every_member():
    net = sps_net(0, 80)
    optimizer = make_optimizer(net, MultiTaskConfig(kappa_learning_rate=0.1))
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    logits, z = BothOutputs(net)(torch.randn(2, 3, 112, 112))
    (logits.sum() + z.sum()).backward()
    optimizer.step()
    scheduler.step()
    assert optimizer.optimizers[1].param_groups[0]["lr"] == 0.05
    state = optimizer.state_dict()
    fresh = make_optimizer(net, MultiTaskConfig(kappa_learning_rate=0.1))
    fresh.load_state_dict(state)
    assert fresh.optimizers[1].param_groups[0]["lr"] == 0.05
    assert len(fresh.optimizers[0].state) == len(optimizer.optimizers[0].state)


def test_the_training_schedule_decays_adam_but_kappa_keeps_its_adagrad_rate_unless_configured():
    from agelab.training.engine import TrainConfig, make_scheduler

    net = sps_net(0, 80)
    schedule = TrainConfig(learning_rate=1e-3, lr_step_size=2, lr_gamma=0.1)
    for decay, kappa_lrs in ((False, [0.1, 0.1, 0.1, 0.1]), (True, [0.1, 0.1, 0.01, 0.01])):
        config = MultiTaskConfig(kappa_learning_rate=0.1, kappa_lr_decay=decay, training=schedule)
        optimizer = make_optimizer(net, config)
        scheduler = make_scheduler(optimizer, schedule)
        adam_lrs, seen = [], []
        for _ in range(4):
            adam_lrs.append(optimizer.optimizers[0].param_groups[0]["lr"])
            seen.append(optimizer.optimizers[1].param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        assert adam_lrs == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4])
        assert seen == pytest.approx(kappa_lrs)


def test_stages_hold_every_alexnet_layer_once_with_fc6_and_fc7_each_behind_its_own_dropout():
    """Cross-stitch units go after pool1, pool2, pool5, fc6 (+ ReLU) and fc7 (+ ReLU): fc7's dropout opens
    the fc7 stage, so the stages together are the backbone, each layer exactly once and in order."""
    backbone = AlexNetBackbone()
    stages = alexnet_stages(backbone)
    layers = [m for stage in stages for m in stage if not isinstance(m, torch.nn.Flatten)]
    assert [id(m) for m in layers] == [
        id(m) for m in (*backbone.features, backbone.avgpool, *backbone.classifier)
    ]
    nn = torch.nn
    assert [type(m) for m in stages[3]] == [nn.AdaptiveAvgPool2d, nn.Flatten, nn.Dropout, nn.Linear, nn.ReLU]
    assert [type(m) for m in stages[4]] == [nn.Dropout, nn.Linear, nn.ReLU]


def test_defaults_are_kappa_one_half_and_no_dropout_before_the_hps_age_layer():
    recon3d, appearance = recon3d_subnet(), AppearanceSubnet(0, 1)
    half = [[0.5, 0.5], [0.5, 0.5]]  # κ_AA = κ_BB = 0.5, κ_AB = κ_BA = 1 − 0.5
    assert CrossStitch().kappa.tolist() == half
    assert SoftSharingNet(recon3d, appearance).kappas() == [half] * 5
    assert HardSharingNet(recon3d, 0, 1).age_dropout.p == 0.0


def test_the_3d_branch_gets_its_arguments_and_its_trained_bundle_but_not_its_alexnet_file(monkeypatch):
    """``recon3d`` reaches the 3D subnet except ``pretrained_weights`` (an AlexNet file the trained bundle
    supersedes: it is never opened), and ``recon3d_weights`` is the bundle whose state dict branch A gets."""
    recon3d = {"rotation_centre": [1.0, 2.0, 3.0], "pretrained_weights": "no/such/alexnet.pth"}
    net = hps_net(0, 1, recon3d=recon3d)
    assert net.recon3d.rotation_centre.tolist() == [1.0, 2.0, 3.0]

    trained = {k: v + 0.25 if v.is_floating_point() else v for k, v in net.recon3d.state_dict().items()}
    opened = []

    def load(path):
        opened.append(path)
        return ModelBundle("recon3d_subnet", {}, trained, crop_size=112, crop_margin=0.0, image_size=112)

    monkeypatch.setattr(ModelBundle, "load", staticmethod(load))
    net = hps_net(0, 1, recon3d=recon3d, recon3d_weights="trained.bundle")
    assert opened == ["trained.bundle"]
    loaded = net.recon3d.state_dict()
    assert set(loaded) == set(trained)
    assert all(torch.equal(loaded[k], v) for k, v in trained.items())
