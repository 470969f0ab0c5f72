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
