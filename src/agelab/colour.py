"""The sRGB transfer function and its inverse (IEC 61966-2-1): photos and renders are sRGB, the image
formation model (Savov et al. Eq. 5) is linear."""

from __future__ import annotations

import numpy as np
import torch


def srgb_to_linear(srgb: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """Linear RGB from sRGB values in [0, 1]."""
    if isinstance(srgb, np.ndarray):
        return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    return torch.where(srgb <= 0.04045, srgb / 12.92, ((srgb.clamp_min(0) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] from linear RGB (clipped to [0, 1] first)."""
    linear = np.clip(linear, 0, 1)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
