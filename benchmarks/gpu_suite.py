"""The GPU check, prepared to run in one go (under 8 minutes on one CUDA GPU): AMP training throughput of the
appearance subnet, SPS and FOSS at the paper's sizes (DCN on), FOSS frames/s for K ∈ {1, 3, 10, 20} at
640 × 480 beside the paper's Tesla T4 figures (§4.3), and one UTKFace epoch of the appearance subnet from
JPEG files. Writes ``gpu_suite.json`` and ``gpu_suite.md`` to ``--out``.

    bash benchmarks/gpu_suite.sh --out /tmp/gpu [--utkface ../shared/datasets/utkface/UTKFace]
    bash benchmarks/gpu_suite.sh --dry-run --out /tmp/gpu      # tiny sizes on the CPU: checks the script

Training steps come from ``training_steps.py`` (random inputs; FOSS with a surrogate loss). AMP is float16
autocast with gradient scaling on CUDA; ``--dry-run`` runs the same code in float32 on the CPU at tiny sizes
(it proves the script, not a speed).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from training_steps import appearance_step, foss_model_settings, foss_step, multitask_step

PAPER_T4_FPS = {1: 24.3, 3: 23.1, 10: 18.4, 20: 14.6}
TINY_FOSS = dict(
    detector_width=0.25,
    head_conv=16,
    deformable=False,
    detector_input=128,
    age_width=0.25,
    crop_width=32,
    crop_height=48,
    intermediate_channels=8,
    head_channels=16,
)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_rate(step, batch: int, steps: int, warmup: int, device: torch.device) -> float:
    """Samples/s over ``steps`` steps after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return batch * steps / (time.perf_counter() - start)


def training_throughput(device: torch.device, amp, dry_run: bool) -> list[dict]:
    steps, warmup = (1, 1) if dry_run else (20, 5)
    cases = (
        [("appearance", 4, 64), ("sps", 2, 64), ("foss", 2, 128)]
        if dry_run
        else [("appearance", 128, 227), ("sps", 64, 227), ("foss", 32, 480)]
    )
    rows = []
    for name, batch, size in cases:
        torch.manual_seed(0)
        if name == "appearance":
            step = appearance_step(batch, size, device, amp)
        elif name == "sps":
            step = multitask_step("sps", batch, size, device, amp)
        else:
            sizes = TINY_FOSS if dry_run else {}
            step = foss_step(batch, size, device, amp, environment="paper", k=4, **sizes)
        rate = timed_rate(step, batch, steps, warmup, device)
        rows.append({"model": name, "batch": batch, "input_px": size, "samples_per_s": rate})
        print(f"train {name:10s} batch {batch:4d} {size:4d} px: {rate:9.1f} samples/s", flush=True)
        del step
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def foss_frame_rates(device: torch.device, amp, dry_run: bool) -> list[dict]:
    from agelab.config import from_mapping
    from agelab.training.foss_training import FossModelConfig

    settings = {**foss_model_settings("paper"), **(TINY_FOSS if dry_run else {})}
    torch.manual_seed(0)
    model = from_mapping(FossModelConfig, settings, where="foss.model").build().to(device).eval()
    width, height = (160, 120) if dry_run else (640, 480)
    frame = torch.rand(1, 3, height, width, device=device)
    frames = 2 if dry_run else 50
    rows = []
    for k in (1, 3, 10, 20):
        with torch.no_grad(), torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            for _ in range(1 if dry_run else 5):
                model(frame, k)
            _sync(device)
            start = time.perf_counter()
            for _ in range(frames):
                model(frame, k)
            _sync(device)
        fps = frames / (time.perf_counter() - start)
        rows.append(
            {
                "k": k,
                "frame": f"{width}x{height}",
                "frames_per_s": fps,
                "paper_t4_frames_per_s": PAPER_T4_FPS[k],
            }
        )
        print(f"foss K={k:2d}: {fps:7.1f} frames/s (paper, Tesla T4: {PAPER_T4_FPS[k]})", flush=True)
    return rows


class _JpegFaces(torch.utils.data.Dataset):
    """UTKFace JPEGs decoded and resized per item (the ages from the file names), or random images when no
    folder is given (dry run without the data)."""

    def __init__(self, files: list[Path], size: int):
        self.files, self.size = files, size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        from PIL import Image

        with Image.open(self.files[index]) as image:
            pixels = np.asarray(image.convert("RGB").resize((self.size, self.size)), dtype=np.uint8)
        age = float(self.files[index].name.split("_", 1)[0])
        return torch.from_numpy(pixels.copy()).permute(2, 0, 1), min(age, 80.0)


def utkface_epoch(device: torch.device, amp, folder: Path | None, dry_run: bool, workers: int) -> dict:
    from agelab.losses.age import age_distance_loss
    from agelab.models.alexnet import appearance_subnet
    from agelab.training.optimizers import adam

    size, batch = (64, 8) if dry_run else (227, 128)
    files = sorted(folder.glob("*.jpg")) if folder and folder.is_dir() else []
    files = [f for f in files if f.name.split("_", 1)[0].isdigit()]
    if dry_run:
        files = files[:16]
    if not files:
        print(f"utkface epoch: no UTKFace JPEGs at {folder}: skipped", flush=True)
        return {"skipped": f"no UTKFace JPEGs at {folder}"}
    loader = torch.utils.data.DataLoader(
        _JpegFaces(files, size),
        batch_size=batch,
        shuffle=True,
        num_workers=0 if dry_run else workers,
        pin_memory=device.type == "cuda",
        drop_last=False,
    )
    torch.manual_seed(0)
    model = appearance_subnet(0, 80).train().to(device)
    optimizer = adam(model.parameters(), lr=1e-5)
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 and device.type == "cuda" else None
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1) * 255
    start = time.perf_counter()
    seen = 0
    for pixels, ages in loader:
        images = (pixels.to(device, non_blocking=True).float() - mean) / std
        ages = ages.to(device).float()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            loss = age_distance_loss(model(images).float(), ages, 0, 0.2)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        seen += len(ages)
    _sync(device)
    seconds = time.perf_counter() - start
    print(f"utkface epoch: {seen} images in {seconds:.1f} s, {seen / seconds:.1f} images/s", flush=True)
    return {
        "images": seen,
        "seconds": seconds,
        "images_per_s": seen / seconds,
        "input_px": size,
        "batch": batch,
    }


def markdown(results: dict) -> str:
    lines = [
        f"GPU suite: {results['device']}, torch {results['torch']}, AMP {results['amp']}, "
        f"dry run {results['dry_run']}, {results['wall_s']:.0f} s",
        "",
        "| training (random inputs) | batch | input px | samples/s |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['model']} | {r['batch']} | {r['input_px']} | {r['samples_per_s']:.1f} |"
        for r in results["training"]
    ]
    frame = results["foss_fps"][0]["frame"] if results["foss_fps"] else "?"
    lines += ["", f"| FOSS K | frames/s ({frame}) | paper, Tesla T4 (640x480) |", "|---|---|---|"]
    lines += [
        f"| {r['k']} | {r['frames_per_s']:.1f} | {r['paper_t4_frames_per_s']} |" for r in results["foss_fps"]
    ]
    epoch = results["utkface_epoch"]
    lines += [""]
    if "skipped" in epoch:
        lines += [f"UTKFace epoch: skipped ({epoch['skipped']})."]
    else:
        lines += [
            f"UTKFace appearance epoch: {epoch['images']} JPEGs at {epoch['input_px']} px, "
            f"batch {epoch['batch']}: {epoch['seconds']:.1f} s, {epoch['images_per_s']:.0f} images/s "
            "(decoding included)."
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU, float32")
    parser.add_argument("--utkface", type=Path, default=Path("../shared/datasets/utkface/UTKFace"))
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    if args.dry_run:
        device, amp = torch.device("cpu"), None
    elif torch.cuda.is_available():
        device, amp = torch.device("cuda"), torch.float16
        torch.backends.cudnn.benchmark = True
    else:
        raise SystemExit("gpu_suite: no CUDA device (use --dry-run to check the script on the CPU)")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()
    print(f"gpu suite on {name}, torch {torch.__version__}", flush=True)
    start = time.perf_counter()
    results = {
        "device": name,
        "torch": torch.__version__,
        "amp": str(amp).removeprefix("torch.") if amp else "off",
        "dry_run": args.dry_run,
        "training": training_throughput(device, amp, args.dry_run),
        "foss_fps": foss_frame_rates(device, amp, args.dry_run),
        "utkface_epoch": utkface_epoch(device, amp, args.utkface, args.dry_run, args.workers),
    }
    results["wall_s"] = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_suite.json").write_text(json.dumps(results, indent=2))
    (args.out / "gpu_suite.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
