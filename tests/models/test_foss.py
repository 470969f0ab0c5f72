import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import roi_align

from agelab.detection.boxes import SIDE_MARGIN, TOP_MARGIN
from agelab.detection.encoding import decode_boxes
from agelab.models.dla import ModulatedDeformConv
from agelab.models.foss import AttributeHead, FossNet
from agelab.models.tresnet import TRESNET_S_LAYERS, TResNet, tresnet_m, tresnet_s
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


def _blocks(backbone: TResNet) -> list[int]:
    """Blocks per stage (stage 3's first block is held apart for the intermediate feature)."""
    return [
        len(backbone.layer1),
        len(backbone.layer2),
        len(backbone.layer3) + 1,
        len(backbone.layer4),
    ]


def test_variants_are_built_by_name():
    assert _blocks(tresnet_s(0.25)) == [3, 3, 7, 3]
    assert _blocks(tresnet_m(0.25)) == [3, 4, 11, 3]
    small = FossNet(**SMALL)  # age_backbone: tresnet_s by default
    assert _blocks(small.age_backbone) == [3, 3, 7, 3]
    assert _blocks(FossNet(**SMALL, age_backbone="tresnet_m").age_backbone) == [3, 4, 11, 3]
    with pytest.raises(ValueError, match=r"unknown TResNet variant 'tresnet_xs'.*tresnet_m"):
        FossNet(**SMALL, age_backbone="tresnet_xs")
    with pytest.raises(ValueError, match="unknown DLA variant 'dla60'"):
        FossNet(**SMALL, detector_backbone="dla60")


def test_a_bundle_saved_with_explicit_age_layers_still_builds_the_same_network():
    """Bundles saved before ``age_backbone`` named the variant carry ``age_layers``: same weights load."""
    old = FossNet(**SMALL, age_layers=[3, 3, 7, 3])
    new = FossNet(**SMALL)
    assert old.state_dict().keys() == new.state_dict().keys()
    new.load_state_dict(old.state_dict())


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
    feature[:, 0], feature[:, 1], feature[:, 2] = xs, ys, xs**2
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
    # x² at the integer x = 6, 9 is exact (36, 81) only with one sample per bin: averaging the bin's 3
    # adaptive samples x = 5, 6, 7 would give (25 + 36 + 49) / 3 = 36.67
    torch.testing.assert_close(sampled[:, 2], (expected_x**2).expand(2, 3, 2))
    assert sampled[:, 3:].abs().max() == 0


def test_foss_net_defaults_are_the_papers_configuration():
    """§4.2: deformable DLA-34 CenterNet at 480 with 256 head channels; TResNet-S at width 0.9 on 160 × 224
    crops, joined by a 48-channel intermediate feature; 512-channel heads; K = 20, score threshold 0.2."""
    model = FossNet()
    detector = model.detector
    assert (
        detector.input_size == 480
        and detector.feature_channels == 64
        and detector.heatmap[0].out_channels == 256
    )
    convs = [m for m in detector.modules() if isinstance(m, ModulatedDeformConv)]
    assert convs and all(m.deformable is True for m in convs)
    assert model.crop_size == (224, 160) and model.feature_grid == (14, 10)  # 224 / 16, 160 / 16
    assert model.age_backbone.num_features == 1824  # int(64 · 0.9) = 57 planes · 8 · 4 (bottleneck)
    assert model.age_backbone.extra_channels == 48 and model.feature_projection.out_channels == 48
    assert model.age_head.fc.in_features == model.gender_head.fc.in_features == 512
    assert (model.age_head.fc.out_features, model.gender_head.fc.out_features) == (101, 2)
    assert (model.top_k, model.score_threshold, model.margins) == (20, 0.2, (TOP_MARGIN, SIDE_MARGIN))


def test_attribute_head_is_a_1x1_conv_bn_leaky_relu_0_01_then_pool_dropout_fc():
    head = AttributeHead(6, 4, 3, 0.2)
    conv, bn, act = head.conv
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (6, 4, (1, 1))
    assert isinstance(bn, torch.nn.BatchNorm2d)
    assert isinstance(act, torch.nn.LeakyReLU) and act.negative_slope == 0.01
    assert head.dropout.p == 0.2 and (head.fc.in_features, head.fc.out_features) == (4, 3)


def test_crop_sizes_off_the_stride_16_grid_and_whole_model_plus_part_weights_are_refused():
    for width, height in ((40, 48), (32, 40)):  # either side alone off the grid
        with pytest.raises(ValueError, match="multiple of 16"):
            FossNet(**{**SMALL, "crop_width": width, "crop_height": height})
    for part in ("detector_backbone_weights", "age_backbone_weights"):  # either part alone
        with pytest.raises(ValueError, match="not both"):
            FossNet(**SMALL, pretrained_weights="whole.pt", **{part: "part.pt"})


def test_each_weights_file_reaches_its_loader_under_its_own_name(tmp_path):
    """Missing files fail with the argument's name: the whole model's, the age network's, and the detector's
    DLA-34 file (which CenterNetFaceDetector names ``pretrained_weights``)."""
    missing = str(tmp_path / "missing.pt")
    with pytest.raises(FileNotFoundError, match=r"^pretrained_weights: no file at .*missing\.pt"):
        FossNet(**SMALL, pretrained_weights=missing)
    with pytest.raises(FileNotFoundError, match=r"^age_backbone_weights: no file at .*missing\.pt"):
        FossNet(**SMALL, age_backbone_weights=missing)
    with pytest.raises(FileNotFoundError, match=r"^pretrained_weights: no file at .*missing\.pt"):
        FossNet(**SMALL, detector_backbone_weights=missing)


def test_forward_boxes_are_the_decoded_boxes_divided_by_the_letterbox_scale_with_k_from_top_k():
    torch.manual_seed(0)
    model = FossNet(**SMALL).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 256, 256))  # letterboxed to 128: scale 0.5
    decoded, scores = decode_boxes(out.detector.heatmap, out.detector.size, out.detector.offset, 5)
    assert out.boxes.shape == (1, 5, 4)  # k = top_k = 5
    torch.testing.assert_close(out.boxes, decoded / 0.5)  # network pixels / 0.5 = image pixels
    torch.testing.assert_close(out.scores, scores)


def test_unfrozen_detector_trains_end_to_end_and_no_grad_builds_no_graph():
    torch.manual_seed(0)
    model = FossNet(**SMALL)
    assert not model.detector_frozen and model.detector.training
    out = model(torch.rand(1, 3, 64, 64), k=2)
    (
        out.age_logits.sum()
        + out.detector.heatmap.sum()
        + out.detector.size.sum()
        + out.detector.offset.sum()
    ).backward()
    assert all(p.grad is not None for p in model.detector.parameters())
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), k=2)
    assert not out.detector.heatmap.requires_grad


def test_freezing_switches_requires_grad_and_unfreezing_restores_training_mode():
    model = FossNet(**SMALL)
    model.freeze_detector()
    assert model.detector_frozen and not any(p.requires_grad for p in model.detector.parameters())
    assert not model.train().detector.training
    model.freeze_detector(False)
    assert not model.detector_frozen and all(p.requires_grad for p in model.detector.parameters())
    assert model.detector.training


def test_normalisation_constants_are_not_in_the_state_dict():
    keys = FossNet(**SMALL).state_dict()
    assert not any(key.split(".")[-1] in ("mean", "std") for key in keys)


def test_crops_are_the_widened_boxes_averaged_over_their_pixels_then_normalised():
    """With margins 0.5 the box (24, 36, 72, 108) (48 × 72) widens to (0, 0, 96, 144): three pixels per
    crop cell (48 × 32 crop) each way. roi_align (aligned, adaptive sampling: 3 × 3 samples per bin at
    x = 3j, 3j + 1, 3j + 2, exactly on pixels) gives the 3 × 3 average; then (crop − mean) / std."""
    torch.manual_seed(0)
    model = FossNet(**SMALL, top_margin=0.5, side_margin=0.5).eval()
    captured = []
    model.age_backbone.register_forward_pre_hook(lambda _module, args: captured.append(args[0]))
    image = torch.rand(1, 3, 144, 96)
    boxes = torch.tensor([[[24.0, 36.0, 72.0, 108.0]]])
    with torch.no_grad():
        model.estimate(image, boxes, torch.zeros(1, 16, 32, 32), 128 / 144)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(captured[0], (F.avg_pool2d(image, 3) - mean) / std)


def test_age_logits_depend_on_the_intermediate_feature_unless_it_is_switched_off():
    torch.manual_seed(0)
    model = FossNet(**SMALL).eval()
    images, boxes = torch.rand(1, 3, 64, 64), torch.tensor([[[10.0, 10.0, 40.0, 50.0]]])
    with torch.no_grad():
        a, _ = model.estimate(images, boxes, torch.zeros(1, 16, 16, 16), 0.5)
        b, _ = model.estimate(images, boxes, torch.rand(1, 16, 16, 16) * 10, 0.5)
    assert not torch.allclose(a, b)
    plain = FossNet(**SMALL, intermediate_feature=False).eval()
    assert plain.feature_projection is None and plain.age_backbone.extra_channels == 0
    with torch.no_grad():
        out = plain(torch.rand(1, 3, 64, 64), k=2)
    assert out.age_logits.shape == (1, 2, 101) and out.gender_logits.shape == (1, 2, 2)


def test_estimate_keeps_the_batch_index_of_its_regions_on_the_device_of_the_boxes():
    """The meta device (shapes only) stands in for a GPU: a batch index left on the CPU could not be joined
    to the boxes' regions."""
    model = FossNet(**SMALL).eval().to("meta")
    images = torch.zeros(2, 3, 64, 64, device="meta")
    boxes = torch.zeros(2, 3, 4, device="meta")
    age, gender = model.estimate(images, boxes, torch.zeros(2, 16, 16, 16, device="meta"), 0.5)
    assert age.device.type == gender.device.type == "meta"
    assert age.shape == (2, 3, 101) and gender.shape == (2, 3, 2)


def test_estimate_casts_the_float32_boxes_of_decode_boxes_to_the_images_and_features_dtype():
    """decode_boxes always returns float32 boxes; a float64 model on float64 images still crops and samples
    (roi_align needs its regions in the dtype of what it samples) and agrees with the float32 model."""
    torch.manual_seed(0)
    model = FossNet(**SMALL).eval()
    images, feature = torch.rand(1, 3, 64, 64), torch.rand(1, 16, 16, 16)
    boxes = torch.tensor([[[10.0, 10.0, 40.0, 50.0], [20.0, 5.0, 60.0, 30.0]]])  # float32, as decoded
    with torch.no_grad():
        age32, gender32 = model.estimate(images, boxes, feature, 0.25)
        model.double()
        age64, gender64 = model.estimate(images.double(), boxes, feature.double(), 0.25)
    assert age64.dtype == gender64.dtype == torch.float64
    torch.testing.assert_close(age64.float(), age32, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(gender64.float(), gender32, atol=1e-4, rtol=1e-4)
