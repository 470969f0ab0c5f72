"""The age sub-network pre-trained on face crops: crops cut where the facial-cropping connection cuts, the
joined model starting from exactly the pre-trained network's outputs, and a network that learns age."""

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from agelab.config import ConfigError, from_mapping
from agelab.detection.augmentation import NO_AUGMENTATION
from agelab.losses.foss import FossLossWeights
from agelab.models.foss import FossNet
from agelab.training.engine import TrainConfig
from agelab.training.foss_age_pretraining import (
    AgePretrainingConfig,
    FaceCropSet,
    jitter_box,
    pretrain_age_network,
)
from agelab.training.foss_config import FossConfig
from agelab.training.foss_data import FaceRecord
from tests.conftest import SMALL_FOSS


def _gradient_image(tmp_path) -> FaceRecord:
    """Red = x, green = y (pixel index, 0..99): a crop's pixel says where it was sampled."""
    x = np.arange(100, dtype=np.uint8)
    image = np.zeros((100, 100, 3), np.uint8)
    image[..., 0] = x[None, :]
    image[..., 1] = x[:, None]
    path = tmp_path / "gradient.png"
    Image.fromarray(image).save(path)
    return FaceRecord(str(path), ((40.0, 40.0, 80.0, 80.0),), (33.0,), (1,))


def test_a_validation_crop_is_cut_from_the_widened_box_at_the_crop_size(tmp_path):
    record = _gradient_image(tmp_path)
    # margins 0.2 above and 0.1 elsewhere: region x 36..84 (48 px), y 32..84 (52 px)
    crop, targets = FaceCropSet([record], (13, 16), train=False)[0]
    assert crop.shape == (3, 13, 16)
    # roi_align (aligned): bin j of a 48-px region in 16 bins is centred at 36 + 3 j + 1.5, minus half a pixel
    np.testing.assert_allclose(crop[0, 0].numpy() * 255, 37 + 3 * np.arange(16), atol=1e-3)
    np.testing.assert_allclose(crop[1, :, 0].numpy() * 255, 33.5 + 4 * np.arange(13), atol=1e-3)
    assert float(targets["age"]) == 33.0 and int(targets["gender"]) == 1


def test_training_crops_are_augmented_and_repeat_for_the_same_seed_epoch_and_index(tmp_path):
    record = _gradient_image(tmp_path)
    crops = FaceCropSet([record] * 3, (48, 32), train=True, seed=5)
    first = crops[1][0]
    assert torch.equal(first, crops[1][0])
    assert not torch.equal(first, FaceCropSet([record] * 3, (48, 32), train=False)[1][0])
    assert not torch.equal(first, crops[2][0])
    crops.set_epoch(1)
    assert not torch.equal(first, crops[1][0])
    assert first.min() >= 0 and first.max() <= 1


def test_box_jitter_stays_within_its_strength():
    box = np.array([10.0, 20.0, 50.0, 100.0])  # 40 x 80, centre (30, 60)
    assert np.array_equal(jitter_box(box, 0.0, np.random.default_rng(0)), box)
    for seed in range(50):
        x0, y0, x1, y1 = jitter_box(box, 0.2, np.random.default_rng(seed))
        assert 0.8 * 40 - 1e-9 <= x1 - x0 <= 1.2 * 40 + 1e-9
        assert (x1 - x0) / 40 == pytest.approx((y1 - y0) / 80)
        assert abs((x0 + x1) / 2 - 30) <= 0.1 * 40 + 1e-9 and abs((y0 + y1) / 2 - 60) <= 0.1 * 80 + 1e-9


def test_a_record_with_other_than_one_face_is_refused(tmp_path):
    record = _gradient_image(tmp_path)
    two = dataclasses.replace(record, boxes=record.boxes * 2, ages=(1.0, 2.0), genders=(0, 1))
    with pytest.raises(ValueError, match="exactly one face"):
        FaceCropSet([record, two], (48, 32))


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="resolution"):
        AgePretrainingConfig(resolution=(0.5, 1.5))
    with pytest.raises(ConfigError, match="box_jitter"):
        AgePretrainingConfig(box_jitter=1.0)
    assert not FossConfig().age_pretraining.enabled  # off unless asked for
    on = {"age_pretraining": {"engine": {"epochs": 2}}}
    with pytest.raises(ConfigError, match="project_feature"):  # no projection to zero: no exact start
        from_mapping(FossConfig, on, where="foss")
    config = from_mapping(FossConfig, {**on, "model": {"project_feature": True}}, where="foss")
    assert config.age_pretraining.enabled and config.age_pretraining.engine.epochs == 2
    assert config.age_pretraining.engine.learning_rate == 1e-3  # conf/base's engine, not TrainConfig's
    with pytest.raises(Exception, match="age_pretraining"):
        from_mapping(FossConfig, {"age_pretraining": {"epoch": 2}}, where="foss")


def test_the_joined_model_starts_from_the_pretrained_networks_outputs_on_the_same_crop(tmp_path):
    torch.manual_seed(0)
    pixels = np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "face.png")
    box = (20.0, 24.0, 60.0, 72.0)
    record = FaceRecord(str(tmp_path / "face.png"), (box,), (30.0,), (0,))
    pretrained = FossNet(**SMALL_FOSS).age_network()
    with torch.no_grad():  # weights unlike a fresh model's, the heads' BatchNorm statistics included
        for tensor in pretrained.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(0.05 * torch.randn_like(tensor))
    pretrained.eval()
    crop = FaceCropSet([record], (48, 32), train=False)[0][0]
    expected_age, expected_gender = pretrained(crop[None])

    joined = FossNet(**SMALL_FOSS).eval()
    assert joined.feature_projection is not None  # 16 feature channels projected to 8
    image = torch.from_numpy(pixels).permute(2, 0, 1).float()[None] / 255
    feature = torch.randn(1, joined.detector.feature_channels, 24, 24)  # a detector feature, not zeros
    before, _ = joined.estimate(image, torch.tensor([[box]]), feature, 1.0)
    joined.start_from_age_network(pretrained.state_dict())
    age, gender = joined.estimate(image, torch.tensor([[box]]), feature, 1.0)
    torch.testing.assert_close(age[0], expected_age, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(gender[0], expected_gender, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(before[0], expected_age, atol=1e-2)
    with pytest.raises(ValueError, match="age network"):
        joined.start_from_age_network(joined.state_dict())


def _age_records(tmp_path, n: int, offset: int) -> list[FaceRecord]:
    """A grey square on noise whose brightness says the age (10 years dark, 70 years bright)."""
    rng = np.random.default_rng(offset)
    records = []
    for i in range(n):
        age = (10.0, 70.0)[i % 2]
        image = rng.integers(0, 60, (64, 64, 3), dtype=np.uint8)
        image[16:48, 20:44] = 110 if age < 40 else 250
        path = tmp_path / f"{offset + i}.png"
        Image.fromarray(image).save(path)
        records.append(FaceRecord(str(path), ((20.0, 16.0, 44.0, 48.0),), (age,), (i % 2,)))
    return records


def test_pretraining_learns_ages_the_untrained_network_does_not(tmp_path):
    train, val = _age_records(tmp_path, 16, 0), _age_records(tmp_path, 6, 100)
    config = AgePretrainingConfig(
        engine=TrainConfig(epochs=12, batch_size=8, learning_rate=1e-2, lr_step_size=100, device="cpu"),
        resolution=(0.5, 1.0),
    )
    weights = FossLossWeights(mean=0.05, variance=0.0025, cross_entropy=0.05)
    untrained_mae = []
    network = FossNet(**SMALL_FOSS).age_network()
    result = pretrain_age_network(
        network,
        train,
        val,
        (48, 32),
        config,
        weights,
        NO_AUGMENTATION,
        show_progress=False,
        on_epoch_end=lambda epoch, metrics: untrained_mae.append(metrics),
    )
    fresh = FossNet(**SMALL_FOSS).age_network().eval()
    crops = torch.stack([FaceCropSet(val, (48, 32), train=False)[i][0] for i in range(len(val))])
    ages = torch.tensor([r.ages[0] for r in val])
    with torch.no_grad():
        fresh_mae = float((fresh(crops)[0].softmax(-1) @ torch.arange(101.0) - ages).abs().mean())
        network.eval()
        trained_mae = float((network(crops)[0].softmax(-1) @ torch.arange(101.0) - ages).abs().mean())
    assert trained_mae == pytest.approx(result.best_metric, abs=1e-3)  # the best epoch's weights are kept
    assert fresh_mae > 20  # untrained: about the middle of 0..100 for both ages
    assert trained_mae < 8, (trained_mae, [m.get("val_metric") for m in untrained_mae])


def test_a_model_without_a_feature_projection_cannot_start_from_the_age_network_unless_built_with_one():
    # conf/base and conf/real: DLA-34 at width 0.5 gives 32 feature channels, intermediate_channels 32
    same_width = {**SMALL_FOSS, "intermediate_channels": 16}
    plain = FossNet(**same_width)
    assert plain.feature_projection is None
    with pytest.raises(ValueError, match="project_feature"):
        plain.start_from_age_network(plain.age_network().state_dict())
    projected = FossNet(**same_width, project_feature=True).eval()
    pretrained = FossNet(**same_width).age_network().eval()
    projected.start_from_age_network(pretrained.state_dict())
    assert not projected.feature_projection.weight.detach().any()
    crop = torch.rand(1, 3, 48, 32)
    feature = torch.randn(1, 16, 3, 2)
    torch.testing.assert_close(
        projected.age_backbone(
            (crop - projected.mean) / projected.std, projected.feature_projection(feature)
        ),
        pretrained.age_backbone((crop - pretrained.mean) / pretrained.std, torch.zeros(1, 16, 3, 2)),
    )
