"""The face crop as a network sees it: the training augmentation and the evaluation framing.

Crops come from :func:`agelab.faces.crops.face_crop` (square, margin, ``CropSpec.size`` px). Training takes a
random ``image_size`` window with a horizontal flip, mild colour jitter and (optionally) grayscale and a
scan-like degradation (blur, then JPEG re-compression: old prints and scans such as FG-NET's); evaluation
takes the centre window. Both end in the ImageNet normalisation the backbones were trained with. The data
pipeline's evaluation, the training loops and ``agelab predict`` all build their transform here, so the
framing a model is scored on is the one it is served with.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors
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
    # probability of a scan-like degradation: Gaussian blur (sigma DEGRADE_BLUR_SIGMA px), then JPEG
    # re-compression at a quality in DEGRADE_JPEG_QUALITY; 0 disables
    degrade: float = 0.0


#: AugmentConfig.degrade: the blur sigma (px) and the JPEG quality, each drawn uniformly from its range
DEGRADE_BLUR_SIGMA = (0.4, 1.6)
DEGRADE_JPEG_QUALITY = (25, 80)


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
    if train and augment.degrade > 0:
        steps.append(ScanDegradation(augment.degrade))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return v2.Compose(steps)


class ScanDegradation:
    """With probability ``p``: a Gaussian blur (sigma drawn from :data:`DEGRADE_BLUR_SIGMA`), then a JPEG
    round trip through Pillow at a quality drawn from :data:`DEGRADE_JPEG_QUALITY` — the softness and block
    artefacts of an old print scanned and saved small. Takes and returns a ``(3, H, W)`` uint8 image; draws
    from torch's generator, so DataLoader workers' seeds decide it."""

    def __init__(self, p: float) -> None:
        self.p = p
        self.blur = v2.GaussianBlur(kernel_size=5, sigma=DEGRADE_BLUR_SIGMA)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if torch.rand(()) >= self.p:
            return image
        blurred = self.blur(image)
        low, high = DEGRADE_JPEG_QUALITY
        quality = int(torch.randint(low, high + 1, ()))
        buffer = io.BytesIO()
        Image.fromarray(blurred.permute(1, 2, 0).contiguous().numpy()).save(buffer, "JPEG", quality=quality)
        decoded = np.asarray(Image.open(buffer).convert("RGB"))
        return tv_tensors.Image(torch.from_numpy(decoded.copy()).permute(2, 0, 1))
