"""DLA-34 (Yu et al., "Deep Layer Aggregation", CVPR 2018) with CenterNet's DLA-up / IDA-up neck.

The layout follows CenterNet's ``dla_dcn`` (Zhou et al., "Objects as Points"), the detection sub-network
of the FOSS paper (§4.2): levels of channels (16, 32, 64, 128, 256, 512) at strides 1…32 built from
hierarchical ``Tree`` aggregations of basic residual blocks (levels 1, 1, 1, 2, 2, 1), then iterative deep
aggregation up to stride 4. Where CenterNet uses compiled DCNv2, :class:`ModulatedDeformConv` uses
``torchvision.ops.deform_conv2d`` with a mask (the same modulated deformable convolution, no compiled
extension); ``deformable=False`` swaps it for a plain 3×3 convolution.

``width`` scales every channel count (1.0 = DLA-34); the reduced CPU default uses a narrower network.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torchvision.ops import deform_conv2d

DLA34_CHANNELS = (16, 32, 64, 128, 256, 512)
DLA34_LEVELS = (1, 1, 1, 2, 2, 1)


def scaled_channels(width: float, channels: tuple[int, ...] = DLA34_CHANNELS) -> tuple[int, ...]:
    return tuple(max(8, round(c * width)) for c in channels)


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        residual = x if residual is None else residual
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + residual)


class Root(nn.Module):
    """Aggregation node: 1×1 convolution over the concatenated children (+ the first child)."""

    def __init__(self, in_channels: int, out_channels: int, residual: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.residual = residual

    def forward(self, *children: torch.Tensor) -> torch.Tensor:
        out = self.bn(self.conv(torch.cat(children, 1)))
        if self.residual:
            out = out + children[0]
        return self.relu(out)


class Tree(nn.Module):
    """Hierarchical deep aggregation of ``2**levels`` blocks (DLA's ``Tree``)."""

    def __init__(
        self,
        levels: int,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        level_root: bool = False,
        root_dim: int = 0,
        root_residual: bool = False,
    ) -> None:
        super().__init__()
        if root_dim == 0:
            root_dim = 2 * out_channels
        if level_root:
            root_dim += in_channels
        if levels == 1:
            self.tree1: nn.Module = BasicBlock(in_channels, out_channels, stride)
            self.tree2: nn.Module = BasicBlock(out_channels, out_channels, 1)
            self.root = Root(root_dim, out_channels, root_residual)
        else:
            self.tree1 = Tree(levels - 1, in_channels, out_channels, stride, root_residual=root_residual)
            self.tree2 = Tree(
                levels - 1,
                out_channels,
                out_channels,
                root_dim=root_dim + out_channels,
                root_residual=root_residual,
            )
        self.levels = levels
        self.level_root = level_root
        self.downsample = nn.MaxPool2d(stride, stride) if stride > 1 else None
        # Only a one-level tree hands its projected residual to a block; CenterNet's DLA also builds it
        # on deeper trees (level3/level4.project), whose child trees recompute their own, so there it
        # never receives a gradient and DistributedDataParallel refuses the model. It is left out here
        # and its weights are skipped on loading (see _load_from_state_dict).
        self.project = (
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
            if in_channels != out_channels and levels == 1
            else None
        )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        if self.project is None:  # DLA-34 / CenterNet files (and older bundles) hold the unused projection
            for key in [k for k in state_dict if k.startswith(prefix + "project.")]:
                del state_dict[key]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(
        self, x: torch.Tensor, residual: torch.Tensor | None = None, children: list | None = None
    ) -> torch.Tensor:
        children = [] if children is None else children
        bottom = self.downsample(x) if self.downsample is not None else x
        residual = self.project(bottom) if self.project is not None else bottom
        if self.level_root:
            children.append(bottom)
        x1 = self.tree1(x, residual)
        if self.levels == 1:
            x2 = self.tree2(x1)
            return self.root(x2, x1, *children)
        children.append(x1)
        return self.tree2(x1, children=children)


class DLA(nn.Module):
    """A DLA backbone (DLA-34 by default, see :func:`dla34`); ``forward`` returns the six level outputs
    (strides 1, 2, 4, 8, 16, 32). ``levels``: the tree depth of each level."""

    def __init__(
        self,
        width: float = 1.0,
        channels: tuple[int, ...] = DLA34_CHANNELS,
        levels: tuple[int, ...] = DLA34_LEVELS,
    ) -> None:
        super().__init__()
        c = scaled_channels(width, channels)
        self.channels = c
        self.base_layer = nn.Sequential(
            nn.Conv2d(3, c[0], 7, 1, 3, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU(inplace=True)
        )
        self.level0 = _conv_level(c[0], c[0], 1)
        self.level1 = _conv_level(c[0], c[1], 2)
        self.level2 = Tree(levels[2], c[1], c[2], 2, level_root=False)
        self.level3 = Tree(levels[3], c[2], c[3], 2, level_root=True)
        self.level4 = Tree(levels[4], c[3], c[4], 2, level_root=True)
        self.level5 = Tree(levels[5], c[4], c[5], 2, level_root=True)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(
                    m.weight, 0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels))
                )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.base_layer(x)
        outputs = []
        for level in (self.level0, self.level1, self.level2, self.level3, self.level4, self.level5):
            x = level(x)
            outputs.append(x)
        return outputs


def dla34(width: float = 1.0) -> DLA:
    """DLA-34 (Yu et al. 2018), CenterNet's and FOSS's detector backbone; ``width`` scales its channels."""
    return DLA(width, DLA34_CHANNELS, DLA34_LEVELS)


DLA_VARIANTS: dict[str, Callable[[float], DLA]] = {"dla34": dla34}
"""DLA backbones by the name the configuration gives (``detector_backbone``)."""


def _conv_level(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class ModulatedDeformConv(nn.Module):
    """DCNv2 (3×3 modulated deformable convolution) + BN + ReLU, CenterNet's ``DeformConv``, on
    ``torchvision.ops.deform_conv2d``. Offsets and masks come from a zero-initialised 3×3 convolution, so
    training starts from a plain convolution (offsets 0, masks 0.5)."""

    def __init__(self, in_channels: int, out_channels: int, deformable: bool = True) -> None:
        super().__init__()
        self.deformable = deformable
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        nn.init.kaiming_uniform_(self.weight, a=1)
        if deformable:
            self.offset_mask = nn.Conv2d(in_channels, 27, 3, 1, 1)
            nn.init.zeros_(self.offset_mask.weight)
            nn.init.zeros_(self.offset_mask.bias)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.deformable:
            o1, o2, mask = self.offset_mask(x).chunk(3, dim=1)
            out = deform_conv2d(
                x, torch.cat((o1, o2), 1), self.weight, self.bias, padding=(1, 1), mask=torch.sigmoid(mask)
            )
        else:
            out = nn.functional.conv2d(x, self.weight, self.bias, padding=1)
        return self.relu(self.bn(out))


def _bilinear_upsampling(up: nn.ConvTranspose2d) -> None:
    """Fixed bilinear kernel for the depthwise transposed convolution (CenterNet's ``fill_up_weights``)."""
    w = up.weight.data
    f = math.ceil(w.size(2) / 2)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    for i in range(w.size(2)):
        for j in range(w.size(3)):
            w[0, 0, i, j] = (1 - math.fabs(i / f - c)) * (1 - math.fabs(j / f - c))
    for ch in range(1, w.size(0)):
        w[ch, 0] = w[0, 0]


class IDAUp(nn.Module):
    """Iterative deep aggregation: project each coarser layer, upsample it, merge it with the finer one."""

    def __init__(self, out_channels: int, channels: list[int], up_factors: list[int], deformable: bool):
        super().__init__()
        self.proj = nn.ModuleList()
        self.up = nn.ModuleList()
        self.node = nn.ModuleList()
        for c, f in zip(channels[1:], up_factors[1:], strict=True):
            self.proj.append(ModulatedDeformConv(c, out_channels, deformable))
            if f > 1:
                up = nn.ConvTranspose2d(
                    out_channels,
                    out_channels,
                    f * 2,
                    stride=f,
                    padding=f // 2,
                    groups=out_channels,
                    bias=False,
                )
                _bilinear_upsampling(up)
            else:
                up = nn.Identity()
            self.up.append(up)
            self.node.append(ModulatedDeformConv(out_channels, out_channels, deformable))

    def forward(self, layers: list[torch.Tensor], start: int, end: int) -> None:
        for i in range(start + 1, end):
            k = i - start - 1
            layers[i] = self.up[k](self.proj[k](layers[i]))
            layers[i] = self.node[k](layers[i] + layers[i - 1])


class DLAUp(nn.Module):
    def __init__(self, start: int, channels: list[int], scales: list[int], deformable: bool) -> None:
        super().__init__()
        self.start = start
        in_channels = list(channels)
        scales = list(scales)
        self.ida = nn.ModuleList()
        for i in range(len(channels) - 1):
            j = -i - 2
            self.ida.append(
                IDAUp(channels[j], in_channels[j:], [s // scales[j] for s in scales[j:]], deformable)
            )
            scales[j + 1 :] = [scales[j]] * len(scales[j + 1 :])
            in_channels[j + 1 :] = [channels[j]] * len(in_channels[j + 1 :])

    def forward(self, layers: list[torch.Tensor]) -> list[torch.Tensor]:
        out = [layers[-1]]
        for i, ida in enumerate(self.ida):
            ida(layers, len(layers) - i - 2, len(layers))
            out.insert(0, layers[-1])
        return out


class DLASeg(nn.Module):
    """DLA-34 + DLA-up + IDA-up: a stride-4 feature map with ``channels[2]`` channels (CenterNet's
    ``DLASeg`` with ``down_ratio`` 4, ``last_level`` 5). ``forward`` returns (neck output, the backbone's
    own stride-4 feature, taken before the neck's skip connections: the FOSS intermediate feature)."""

    first_level = 2
    last_level = 5

    def __init__(self, width: float = 1.0, deformable: bool = True, backbone: str = "dla34") -> None:
        super().__init__()
        if backbone not in DLA_VARIANTS:
            raise ValueError(f"unknown DLA variant '{backbone}'; choose from {sorted(DLA_VARIANTS)}")
        self.base = DLA_VARIANTS[backbone](width)
        channels = list(self.base.channels)
        levels = channels[self.first_level :]
        self.dla_up = DLAUp(self.first_level, levels, [2**i for i in range(len(levels))], deformable)
        self.out_channels = channels[self.first_level]
        self.ida_up = IDAUp(
            self.out_channels,
            channels[self.first_level : self.last_level],
            [2**i for i in range(self.last_level - self.first_level)],
            deformable,
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        layers = self.base(x)
        stride4 = layers[self.first_level]
        up = self.dla_up(layers)
        y = [up[i].clone() for i in range(self.last_level - self.first_level)]
        self.ida_up(y, 0, len(y))
        return y[-1], stride4
