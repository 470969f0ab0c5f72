import pytest
import torch
from torchvision.ops import roi_align

from agelab.models.foss import FossNet
from agelab.models.tresnet import TRESNET_S_LAYERS, TResNet
from tests.conftest import SMALL_FOSS as SMALL


def test_roi_sampling_equals_a_direct_crop_on_an_axis_aligned_box():
    """The facial-cropping connection's roi_align, at the box's own size, is exactly the pixels inside."""
    image = torch.rand(1, 3, 40, 50)
    x0, y0, x1, y1 = 7, 5, 27, 35
    rois = torch.tensor([[0.0, x0, y0, x1, y1]])
    sampled = roi_align(image, rois, (y1 - y0, x1 - x0), 1.0, -1, aligned=True)
    torch.testing.assert_close(sampled[0], image[0, :, y0:y1, x0:x1])
    # and one bilinear sample per cell (the intermediate-feature connection) on a stride-4 map
    feature = torch.rand(1, 4, 10, 12)
    sampled = roi_align(feature, rois, ((y1 - y0) // 5, (x1 - x0) // 5), 0.2, 1, aligned=True)
    assert sampled.shape == (1, 4, 6, 4)


def test_tresnet_s_has_the_papers_parameter_count():
    """FOSS Table 4: TResNet-S has 19.2 M parameters in its backbone."""
    backbone = TResNet(TRESNET_S_LAYERS, 0.9)
    count = sum(p.numel() for p in backbone.parameters()) / 1e6
    assert count == pytest.approx(19.2, abs=0.15)
    assert backbone(torch.rand(1, 3, 224, 160)).shape[-2:] == (7, 5)


def test_intermediate_feature_block_is_narrower_by_the_feature_width():
    plain = TResNet(TRESNET_S_LAYERS, 0.25)
    joined = TResNet(TRESNET_S_LAYERS, 0.25, extra_channels=8)
    x = torch.rand(2, 3, 48, 32)
    assert plain.layer3_first(plain.layer2(plain.layer1(plain.stem(x)))).shape[1] == plain.num_features // 2
    first = joined.layer3_first(joined.layer2(joined.layer1(joined.stem(x))))
    assert first.shape[1] == plain.num_features // 2 - 8
    assert joined(x, torch.rand(2, 8, 3, 2)).shape == plain(x).shape
    with pytest.raises(ValueError, match="detector"):
        joined(x)


def test_foss_net_gives_k_faces_per_image_with_boxes_in_image_pixels():
    torch.manual_seed(0)
    model = FossNet(**SMALL).eval()
    images = torch.rand(2, 3, 96, 160)  # not square: letterboxed to 128
    with torch.no_grad():
        out = model(images, k=3)
    assert out.boxes.shape == (2, 3, 4) and out.scores.shape == (2, 3)
    assert out.age_logits.shape == (2, 3, 101) and out.gender_logits.shape == (2, 3, 2)
    assert out.detector.heatmap.shape == (2, 1, 32, 32)


def test_frozen_detector_gets_no_gradient_and_stays_in_eval_mode():
    model = FossNet(**SMALL)
    model.freeze_detector()
    model.train()
    assert not model.detector.training and model.age_backbone.training
    out = model(torch.rand(1, 3, 64, 64), k=2)
    (out.age_logits.sum() + out.gender_logits.sum()).backward()
    assert all(p.grad is None for p in model.detector.parameters())
    assert any(p.grad is not None for p in model.age_backbone.parameters())


def test_intermediate_feature_is_sampled_from_the_stride_4_map_at_the_crop_region():
    """The intermediate-feature connection samples the stride-4 map in network cells: image pixels × the
    letterbox scale / 4. A feature whose channels hold their own x and y (bilinear sampling reproduces a
    linear function exactly) shows where each sample was taken."""
    channels = FossNet(**SMALL).detector.feature_channels
    model = FossNet(**{**SMALL, "intermediate_channels": channels}).eval()  # no 1×1 projection
    assert model.feature_projection is None
    ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    feature = torch.zeros(2, channels, 32, 32)
    feature[:, 0], feature[:, 1] = xs, ys
    feature[1, 0] += 100  # the second image's map, so a wrong batch index shows too
    captured = []
    model.age_backbone.register_forward_pre_hook(lambda _module, args: captured.append(args[1]))
    # 256 × 256 images, letterboxed to 128: scale 0.5, so one feature cell = 4 / 0.5 = 8 image pixels.
    # Box (44, 56, 84, 136), w 40, h 80 → crop region (−10 % sides, −20 % top, +10 % bottom)
    # (40, 40, 88, 144) px = (5, 5, 11, 18) cells. The 3 × 2 grid (48 × 32 crop / 16), one sample per
    # bin at its centre, aligned (−0.5): x = 5 − 0.5 + (j + 0.5) · 6/2 = 6, 9;
    # y = 5 − 0.5 + (i + 0.5) · 13/3 = 6.667, 11, 15.333
    boxes = torch.tensor([[[44.0, 56.0, 84.0, 136.0]], [[44.0, 56.0, 84.0, 136.0]]])
    with torch.no_grad():
        model.estimate(torch.rand(2, 3, 256, 256), boxes, feature, 0.5)
    sampled = captured[0]
    assert sampled.shape == (2, channels, 3, 2)
    expected_x = torch.tensor([[6.0, 9.0]] * 3)
    expected_y = torch.tensor([[20 / 3] * 2, [11.0] * 2, [46 / 3] * 2])
    torch.testing.assert_close(sampled[0, 0], expected_x)
    torch.testing.assert_close(sampled[0, 1], expected_y)
    torch.testing.assert_close(sampled[1, 0], expected_x + 100)
    torch.testing.assert_close(sampled[1, 1], expected_y)
    assert sampled[:, 2:].abs().max() == 0
