"""The face crop as a network sees it: the training augmentation and the evaluation framing.

Crops come from :func:`agelab.faces.crops.face_crop` (square, margin, ``CropSpec.size`` px). Training takes a
random ``image_size`` window with a horizontal flip, mild colour jitter and (optionally) grayscale; evaluation
takes the centre window. Both end in the ImageNet normalisation the backbones were trained with. The data
pipeline's evaluation, the training loops and ``agelab predict`` all build their transform here, so the
framing a model is scored on is the one it is served with.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision.transforms import v2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class AugmentConfig:
    flip: bool = True
    random_crop: bool = True
    colour_jitter: float = 0.2  # brightness/contrast/saturation strength; 0 disables
    # probability of turning a training crop grey (three equal channels, as a black-and-white photo decodes)
    grayscale: float = 0.0


def build_transform(image_size: int, train: bool, augment: AugmentConfig | None = None) -> v2.Compose:
    """``(3, S, S)`` uint8 crop → ``(3, image_size, image_size)`` normalised float: augmented (``train``)
    or the centre window."""
    augment = augment or AugmentConfig()
    steps: list = [v2.ToImage()]
    if train and augment.random_crop:
        steps.append(v2.RandomCrop(image_size))
    else:
        steps.append(v2.CenterCrop(image_size))
    if train and augment.flip:
        steps.append(v2.RandomHorizontalFlip())
    if train and augment.colour_jitter > 0:
        j = augment.colour_jitter
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j))
    if train and augment.grayscale > 0:
        steps.append(v2.RandomGrayscale(augment.grayscale))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return v2.Compose(steps)
