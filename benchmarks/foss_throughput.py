"""FOSS inference speed (frames/s) for K ∈ {1, 3, 10, 20} faces per frame — the paper's §4.3 figure
(Tesla T4: 24.3 / 23.1 / 18.4 / 14.6 fps) — at the paper's sizes and at the reduced CPU default.

    .venv/bin/python benchmarks/foss_throughput.py [--device cpu|cuda] [--amp] [--frames 5] [--size 640x480]

One frame = the whole model: letterbox + CenterNet (DLA-34) + top-K decoding + K crops from the full frame
+ RoI-sampled detector feature + TResNet-S + both heads. K crops are always made (the paper's design for
batching), so the time does not depend on the picture; a real photo is used all the same (a UTKFace image
if ../shared/datasets is there, else a rendered scene), resized to --size.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from agelab.models.foss import FossNet

PAPER_T4_FPS = {1: 24.3, 3: 23.1, 10: 18.4, 20: 14.6}
SETTINGS = {
    "paper (480 px, 160x224 crops, DCNv2)": {},
    "paper sizes, plain conv in the neck": {"deformable": False},
    "reduced CPU default (conf/base)": {
        "detector_width": 0.5,
        "head_conv": 64,
        "deformable": False,
        "detector_input": 256,
        "age_width": 0.5,
        "crop_width": 80,
        "crop_height": 112,
        "intermediate_channels": 32,
        "head_channels": 128,
    },
}


def _frame(size: tuple[int, int]) -> torch.Tensor:
    candidates = (
        sorted(Path("../shared/datasets/utkface/UTKFace").glob("*.jpg"))[:1]
        or sorted(Path("data/01_raw/synthetic_scenes").rglob("*.jpg"))[:1]
    )
    if candidates:
        image = np.asarray(Image.open(candidates[0]).convert("RGB").resize(size))
    else:
        image = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float() / 255


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true", help="float16 autocast (CUDA)")
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS))
    args = parser.parse_args()
    device = torch.device(args.device)
    width, height = (int(v) for v in args.size.split("x"))
    frame = _frame((width, height)).to(device)
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"threads {torch.get_num_threads()}, device {device}, frame {width}x{height}, amp {args.amp}"
    )
    if device.type == "cuda":
        print(torch.cuda.get_device_name(device))
    for name in args.settings:
        torch.manual_seed(0)
        model = FossNet(**SETTINGS[name]).to(device).eval()
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f"\n{name}: {params:.1f} M parameters")
        print("| K | frames/s | ms/frame | paper, Tesla T4 |")
        print("|---|---|---|---|")
        for k in (1, 3, 10, 20):
            with torch.no_grad(), torch.autocast(device.type, dtype=torch.float16, enabled=args.amp):
                model(frame, k)  # warm-up
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                for _ in range(args.frames):
                    model(frame, k)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                elapsed = (time.perf_counter() - start) / args.frames
            print(f"| {k} | {1 / elapsed:.2f} | {1000 * elapsed:.0f} | {PAPER_T4_FPS[k]} |")


if __name__ == "__main__":
    main()
