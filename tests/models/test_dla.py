"""DLA-34 as CenterNet builds it, minus the projections no forward pass uses (DDP needs every parameter to
receive a gradient), still loading files that hold them."""

import torch

from agelab.models.centernet import CenterNetFaceDetector
from agelab.models.dla import DLA, ModulatedDeformConv, scaled_channels


def test_every_detector_parameter_receives_a_gradient():
    """DistributedDataParallel fails on parameters without a gradient (CenterNet's level3/4.project)."""
    torch.manual_seed(0)
    detector = CenterNetFaceDetector(width=0.25, head_conv=8, deformable=False, input_size=64)
    out = detector(torch.rand(2, 3, 64, 64))
    (out.heatmap.sum() + out.size.sum() + out.offset.sum()).backward()
    without = [name for name, p in detector.named_parameters() if p.grad is None]
    assert without == []


def test_files_with_the_unused_projections_still_load():
    """CenterNet / DLA-34 state dicts (and bundles saved before) carry level3/level4.project: skipped."""
    torch.manual_seed(0)
    source = DLA(0.25)
    state = dict(source.state_dict())
    c = scaled_channels(0.25)
    for level, (cin, cout) in (("level3", (c[2], c[3])), ("level4", (c[3], c[4]))):
        assert not any(k.startswith(f"{level}.project.") for k in state)
        state[f"{level}.project.0.weight"] = torch.rand(cout, cin, 1, 1)
        for name in ("weight", "bias", "running_mean", "running_var"):
            state[f"{level}.project.1.{name}"] = torch.rand(cout)
        state[f"{level}.project.1.num_batches_tracked"] = torch.tensor(3)
    assert any(k.startswith("level5.project.") for k in state)  # one-level trees keep theirs
    target = DLA(0.25)
    target.load_state_dict(state)  # strict
    x = torch.rand(1, 3, 32, 32)
    for a, b in zip(source.eval()(x), target.eval()(x), strict=True):
        torch.testing.assert_close(a, b)


def _small(**kwargs) -> CenterNetFaceDetector:
    return CenterNetFaceDetector(
        **{"width": 0.25, "head_conv": 8, "deformable": False, "input_size": 32, **kwargs}
    )


def test_heads_are_3x3_conv_relu_1x1_conv_with_1_2_and_2_outputs():
    """CenterNet's heads: 3×3 conv (padding 1) to head_conv channels, ReLU, 1×1 conv to heatmap (1),
    size (2) and offset (2) channels, on the neck's width·64 = 16 channels (width 0.25)."""
    detector = _small()
    assert detector.backbone.out_channels == detector.feature_channels == 16
    for head, outputs in ((detector.heatmap, 1), (detector.size, 2), (detector.offset, 2)):
        assert [type(m) for m in head] == [torch.nn.Conv2d, torch.nn.ReLU, torch.nn.Conv2d]
        first, last = head[0], head[2]
        assert (first.in_channels, first.out_channels, first.kernel_size, first.padding) == (
            16,
            8,
            (3, 3),
            (1, 1),
        )
        assert (last.in_channels, last.out_channels, last.kernel_size) == (8, outputs, (1, 1))
    out = detector.eval()(torch.rand(1, 3, 32, 32))
    assert out.heatmap.shape == (1, 1, 8, 8) and out.size.shape == out.offset.shape == (1, 2, 8, 8)


def test_size_and_offset_heads_start_near_zero_and_the_heatmap_at_the_prior():
    """CenterNet's initialisation: last size / offset conv weights N(0, 0.001²) with zero bias, so every
    prediction starts within a few thousandths of 0; heatmap bias −2.19 (sigmoid 0.1)."""
    torch.manual_seed(0)
    detector = _small()
    for head in (detector.size, detector.offset):
        weight = head[-1].weight  # 2 × 8 draws of N(0, 0.001²): all within 5σ = 0.005, not all 0
        assert 0 < weight.abs().max() < 0.005 and torch.equal(head[-1].bias, torch.zeros(2))
    torch.testing.assert_close(detector.heatmap[-1].bias, torch.tensor([-2.19]))


def test_detector_defaults_are_the_papers_deformable_dla34_at_480_with_256_head_channels():
    detector = CenterNetFaceDetector()
    assert detector.input_size == 480 and detector.feature_channels == 64  # DLA-34's stride-4 width
    assert detector.heatmap[0].out_channels == 256
    convs = [m for m in detector.modules() if isinstance(m, ModulatedDeformConv)]
    assert convs and all(m.deformable is True and hasattr(m, "offset_mask") for m in convs)


def test_deformable_reaches_the_neck_and_width_scales_it():
    for deformable in (True, False):
        detector = _small(deformable=deformable)
        convs = [m for m in detector.modules() if isinstance(m, ModulatedDeformConv)]
        assert convs and all(m.deformable is deformable for m in convs)
        assert all(hasattr(m, "offset_mask") == deformable for m in convs)
        assert detector.feature_channels == 16  # 64 · 0.25


def test_normalisation_constants_are_buffers_outside_the_state_dict():
    """mean / std are fixed ImageNet constants: not saved (bundles and DLA-34 files carry none)."""
    detector = _small()
    assert {"mean", "std"} <= {name for name, _ in detector.named_buffers()}
    assert not any(key in ("mean", "std") for key in detector.state_dict())


IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406])
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225])


def test_letterbox_resizes_the_longer_side_bilinearly_normalises_and_pads_bottom_right():
    """An 8 × 16 image into a 32 × 32 input: scale 2, resized to 16 × 32, rows 16..31 padding (0 after
    normalisation). A ramp v_j = j / 15 along x, resized with half-pixel centres (align_corners=False):
    output column i samples x = i / 2 − 0.25, clamped to [0, 15]."""
    detector = _small()
    image = (torch.arange(16.0) / 15).expand(1, 3, 8, 16)
    network_input, scale = detector.letterbox(image)
    assert scale == 2.0 and network_input.shape == (1, 3, 32, 32)
    ramp = (torch.arange(32.0) / 2 - 0.25).clamp(0, 15) / 15  # 0, 0.25/15, 0.75/15, ..., 15/15
    expected = (ramp.view(1, 1, 32) - IMAGENET_MEAN.view(3, 1, 1)) / IMAGENET_STD.view(3, 1, 1)
    torch.testing.assert_close(network_input[0, :, :16], expected.expand(3, 16, 32))
    assert network_input[0, :, 16:].abs().max() == 0


def test_letterbox_keeps_at_least_one_row_or_column_of_a_thin_image():
    """1 × 64 → scale 0.5 → round(0.5) = 0 rows, kept at 1; likewise 64 × 1. A white image (value 1)
    becomes (1 − mean) / std there and 0 (the padding) everywhere else."""
    detector = _small()
    white = (1 - IMAGENET_MEAN) / IMAGENET_STD
    for shape, content in (
        ((1, 3, 1, 64), (slice(0, 1), slice(0, 32))),
        ((1, 3, 64, 1), (slice(0, 32), slice(0, 1))),
    ):
        network_input, scale = detector.letterbox(torch.ones(shape))
        assert scale == 0.5
        expected = torch.zeros(3, 32, 32)
        expected[:, content[0], content[1]] = white.view(3, 1, 1)
        torch.testing.assert_close(network_input[0], expected)


def test_dla34_by_name_is_the_dla_34_layout():
    from agelab.models.dla import DLA34_LEVELS, DLA_VARIANTS, dla34

    net = dla34(0.25)
    assert DLA_VARIANTS["dla34"] is dla34
    assert net.channels == scaled_channels(0.25)
    assert [net.level2.levels, net.level3.levels, net.level4.levels, net.level5.levels] == list(
        DLA34_LEVELS[2:]
    )
    assert DLA_VARIANTS["dla34"](0.25).state_dict().keys() == DLA(0.25).state_dict().keys()
