"""TResNet (Ridnik et al., "TResNet: High Performance GPU-Dedicated Architecture", 2020) and the FOSS paper's
TResNet-S (§4.2): TResNet-M's design with blocks (3, 3, 7, 3) instead of (3, 4, 11, 3) and width × 0.9.

TResNet's design, as written here from its paper:
- SpaceToDepth stem: 4×4 blocks of pixels become channels (stride 4 at no cost), then a 3×3 convolution;
- BasicBlocks in stages 1–2, Bottlenecks (expansion 4) in stages 3–4;
- anti-aliased downsampling: stride-2 blocks convolve at stride 1 and then blur-pool (3×3 binomial
  filter, stride 2); the shortcut average-pools then projects (1×1);
- squeeze-and-excitation in stages 1–3 (reduction to max(channels / 4, 64) in BasicBlocks and
  max(channels·4 / 8, 64) in Bottlenecks, applied before the last 1×1 convolution there).

Departure: TResNet uses Inplace-ABN (a memory-saving fused BatchNorm + leaky ReLU, a compiled extension);
here it is ``BatchNorm2d`` + ``LeakyReLU`` (slope 1e-2 in the stem, 1e-3 in the blocks), numerically the
same function.

FOSS intermediate feature connection: ``extra_channels`` (the detector's feature width) are subtracted from
the output width of the first block whose output is at stride 16 (stage 3's first block: 10 × 14 for a
160 × 224 crop) so that concatenating the sampled detector feature restores the usual width.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

TRESNET_M_LAYERS = (3, 4, 11, 3)
TRESNET_S_LAYERS = (3, 3, 7, 3)
TRESNET_VARIANTS: dict[str, tuple[int, int, int, int]] = {
    "tresnet_s": TRESNET_S_LAYERS,  # FOSS's age network (Yoshimura & Ogata §3)
    "tresnet_m": TRESNET_M_LAYERS,  # Ridnik et al.'s TResNet-M
}
"""Blocks per stage of each TResNet variant, by the name the configuration gives (``age_backbone``)."""


def conv_bn_act(
    in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, slope: float | None = 1e-3
) -> nn.Sequential:
    """Convolution + BatchNorm + leaky ReLU (``slope`` None: no activation) — Inplace-ABN's function."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if slope is not None:
        layers.append(nn.LeakyReLU(slope, inplace=True))
    return nn.Sequential(*layers)


class SpaceToDepth(nn.Module):
    def __init__(self, block: int = 4) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        b = self.block
        x = x.view(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4)
        return x.reshape(n, c * b * b, h // b, w // b)


class BlurPool(nn.Module):
    """Anti-aliased downsampling: 3×3 binomial blur, stride 2, per channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        kernel = torch.tensor([1.0, 2.0, 1.0])
        kernel = (kernel[:, None] * kernel[None, :]) / 16
        self.register_buffer("kernel", kernel.expand(channels, 1, 3, 3).contiguous(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), self.kernel, stride=2, groups=x.shape[1])


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, reduced, 1)
        self.fc2 = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(scale), inplace=True)))


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    layers: list[nn.Module] = []
    if stride == 2:
        layers.append(nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False))
    layers.append(conv_bn_act(in_channels, out_channels, 1, slope=None))
    return nn.Sequential(*layers)


def _strided(conv: nn.Sequential, channels: int, stride: int) -> nn.Module:
    return nn.Sequential(conv, BlurPool(channels)) if stride == 2 else conv


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, planes: int, out_channels: int, stride: int, use_se: bool):
        super().__init__()
        self.conv1 = _strided(conv_bn_act(in_channels, planes, 3), planes, stride)
        self.conv2 = conv_bn_act(planes, out_channels, 3, slope=None)
        self.se = SqueezeExcite(out_channels, max(out_channels // 4, 64)) if use_se else nn.Identity()
        self.shortcut = _shortcut(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.se(self.conv2(self.conv1(x))) + self.shortcut(x), inplace=True)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels: int, planes: int, out_channels: int, stride: int, use_se: bool):
        super().__init__()
        self.conv1 = conv_bn_act(in_channels, planes, 1)
        self.conv2 = _strided(conv_bn_act(planes, planes, 3), planes, stride)
        self.se = SqueezeExcite(planes, max(planes * self.expansion // 8, 64)) if use_se else nn.Identity()
        self.conv3 = conv_bn_act(planes, out_channels, 1, slope=None)
        self.shortcut = _shortcut(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv3(self.se(self.conv2(self.conv1(x)))) + self.shortcut(x), inplace=True)


class TResNet(nn.Module):
    """TResNet backbone. ``forward(x, extra)`` concatenates ``extra`` (B, extra_channels, H/16, W/16) after
    the first stride-16 block when ``extra_channels`` > 0. ``num_features`` is the output width."""

    def __init__(
        self,
        layers: tuple[int, int, int, int] = TRESNET_S_LAYERS,
        width: float = 0.9,
        extra_channels: int = 0,
    ) -> None:
        super().__init__()
        planes = int(64 * width)
        self.stem = nn.Sequential(SpaceToDepth(4), conv_bn_act(48, planes, 3, slope=1e-2))
        self.extra_channels = extra_channels
        stages: list[list[nn.Module]] = []
        in_channels = planes
        for stage, (count, block) in enumerate(
            zip(layers, (BasicBlock, BasicBlock, Bottleneck, Bottleneck), strict=True)
        ):
            stage_planes = planes * 2**stage
            out_channels = stage_planes * (Bottleneck.expansion if block is Bottleneck else 1)
            blocks: list[nn.Module] = []
            for i in range(count):
                stride = 2 if (i == 0 and stage > 0) else 1
                block_out = out_channels - extra_channels if (stage == 2 and i == 0) else out_channels
                if block_out < 1:
                    raise ValueError(f"extra_channels={extra_channels} leaves no width in stage 3")
                blocks.append(block(in_channels, stage_planes, block_out, stride, use_se=stage < 3))
                in_channels = out_channels  # after the concatenation the width is restored
            stages.append(blocks)
        self.layer1 = nn.Sequential(*stages[0])
        self.layer2 = nn.Sequential(*stages[1])
        self.layer3_first = stages[2][0]
        self.layer3 = nn.Sequential(*stages[2][1:])
        self.layer4 = nn.Sequential(*stages[3])
        self.num_features = in_channels
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="leaky_relu")
        for m in self.modules():  # zero-init the last BN of each residual branch (TResNet does)
            if isinstance(m, BasicBlock):
                nn.init.zeros_(m.conv2[1].weight)
            elif isinstance(m, Bottleneck):
                nn.init.zeros_(m.conv3[1].weight)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        x = self.layer2(self.layer1(self.stem(x)))
        x = self.layer3_first(x)
        if self.extra_channels:
            if extra is None:
                raise ValueError("this TResNet expects the detector's feature (extra_channels > 0)")
            x = torch.cat((x, extra.to(x.dtype)), 1)
        return self.layer4(self.layer3(x))


def tresnet_layers(variant: str) -> tuple[int, int, int, int]:
    """The blocks per stage of the TResNet ``variant`` (a key of :data:`TRESNET_VARIANTS`)."""
    if variant not in TRESNET_VARIANTS:
        raise ValueError(f"unknown TResNet variant '{variant}'; choose from {sorted(TRESNET_VARIANTS)}")
    return TRESNET_VARIANTS[variant]


def tresnet_s(width: float = 0.9, extra_channels: int = 0) -> TResNet:
    """TResNet-S, FOSS's age network: stages of 3, 3, 7, 3 blocks."""
    return TResNet(tresnet_layers("tresnet_s"), width, extra_channels)


def tresnet_m(width: float = 1.0, extra_channels: int = 0) -> TResNet:
    """TResNet-M: stages of 3, 4, 11, 3 blocks."""
    return TResNet(tresnet_layers("tresnet_m"), width, extra_channels)
