import pytest
import torch
from torchvision.ops import roi_align

from agelab.models.foss import FossNet
from agelab.models.tresnet import TRESNET_S_LAYERS, TResNet

SMALL = dict(
    detector_width=0.25,
    head_conv=16,
    deformable=False,
    detector_input=128,
    age_width=0.25,
    crop_width=32,
    crop_height=48,
    intermediate_channels=8,
    head_channels=16,
    top_k=5,
)


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
