"""The training transform: the augmentation policy each compared model shares."""

import torch

from agelab.faces.crop_transforms import IMAGENET_MEAN, IMAGENET_STD, AugmentConfig, build_transform


def _denormalise(image: torch.Tensor) -> torch.Tensor:
    return image * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)


def test_grayscale_augmentation_makes_three_equal_channels_at_its_rate():
    torch.manual_seed(0)
    crop = torch.zeros(3, 16, 16, dtype=torch.uint8)
    crop[0], crop[1], crop[2] = 200, 100, 30  # a saturated colour
    always = build_transform(12, True, AugmentConfig(flip=False, colour_jitter=0.0, grayscale=1.0))
    grey = _denormalise(always(crop))
    torch.testing.assert_close(grey[0], grey[1], atol=2e-3, rtol=0)
    torch.testing.assert_close(grey[1], grey[2], atol=2e-3, rtol=0)
    # ITU-R 601 luma, as Pillow and torchvision convert: 0.299 R + 0.587 G + 0.114 B
    assert abs(grey[0, 0, 0].item() * 255 - (0.299 * 200 + 0.587 * 100 + 0.114 * 30)) < 1.0
    never = build_transform(12, True, AugmentConfig(flip=False, colour_jitter=0.0, grayscale=0.0))
    colour = _denormalise(never(crop))
    assert (colour[0] - colour[2]).abs().min() > 0.5
    sometimes = build_transform(12, True, AugmentConfig(flip=False, colour_jitter=0.0, grayscale=0.25))
    outputs = [_denormalise(sometimes(crop)) for _ in range(400)]
    share = sum(bool((x[0] - x[2]).abs().max() < 0.01) for x in outputs) / 400
    assert 0.18 < share < 0.32


def test_evaluation_transform_never_augments():
    crop = torch.randint(0, 256, (3, 20, 20), dtype=torch.uint8)
    evaluation = build_transform(12, False, AugmentConfig(grayscale=1.0, colour_jitter=0.5))
    torch.testing.assert_close(evaluation(crop), evaluation(crop))
    centre = _denormalise(evaluation(crop))
    torch.testing.assert_close(centre, crop[:, 4:16, 4:16].float() / 255, atol=1e-5, rtol=0)


def _high_frequency_energy(image: torch.Tensor) -> float:
    """Mean squared difference of horizontally and vertically adjacent pixels."""
    return float(image.diff(dim=-1).pow(2).mean() + image.diff(dim=-2).pow(2).mean())


def test_degradation_blurs_and_recompresses_at_its_rate():
    torch.manual_seed(0)
    crop = torch.zeros(3, 32, 32, dtype=torch.uint8)
    crop[:, ::2, :] = 255  # one-pixel stripes: all high frequency, what a scan loses
    plain = build_transform(32, True, AugmentConfig(flip=False, colour_jitter=0.0, random_crop=False))
    degraded = build_transform(
        32, True, AugmentConfig(flip=False, colour_jitter=0.0, random_crop=False, degrade=1.0)
    )
    sharp = _high_frequency_energy(_denormalise(plain(crop)))
    torch.testing.assert_close(_denormalise(plain(crop)), crop.float() / 255, atol=1e-5, rtol=0)
    blurred = [_high_frequency_energy(_denormalise(degraded(crop))) for _ in range(20)]
    assert max(blurred) < 0.6 * sharp  # sigma >= 0.4 px removes at least 40 % of the stripes' energy
    assert len({round(b, 4) for b in blurred}) > 5  # sigma and quality are drawn per crop
    sometimes = build_transform(
        32, True, AugmentConfig(flip=False, colour_jitter=0.0, random_crop=False, degrade=0.3)
    )
    share = sum(_high_frequency_energy(_denormalise(sometimes(crop))) < 0.9 * sharp for _ in range(300)) / 300
    assert 0.22 < share < 0.38


def test_degradation_keeps_a_uniform_crop_and_never_acts_in_evaluation():
    crop = torch.full((3, 24, 24), 128, dtype=torch.uint8)
    degraded = build_transform(
        24, True, AugmentConfig(flip=False, colour_jitter=0.0, random_crop=False, degrade=1.0)
    )
    torch.testing.assert_close(_denormalise(degraded(crop)), crop.float() / 255, atol=2 / 255, rtol=0)
    stripes = torch.zeros(3, 24, 24, dtype=torch.uint8)
    stripes[:, ::2, :] = 255
    evaluation = build_transform(24, False, AugmentConfig(degrade=1.0))
    torch.testing.assert_close(_denormalise(evaluation(stripes)), stripes.float() / 255, atol=1e-5, rtol=0)
