"""How close does training come to what this machine can do? The measured peak of the operations the models
are made of, and each model's training step as achieved FLOP/s and as a share of that peak.

    .venv/bin/python benchmarks/machine_peak.py [--threads 2] [--batch 32] [--steps 4] [--json out.json]

Peak: the best of several timed runs of a square fp32 GEMM (2048²), the same in bf16 (fast only where the
CPU has bf16 instructions, e.g. ``avx512_bf16`` / AMX; without them PyTorch emulates it), and a 3×3
convolution (64→64 channels, 56², batch 32) forward, the layer type most of the networks' FLOPs are in.

Training steps (forward, loss, backward, optimizer step, at the base configuration's sizes): the appearance
subnet, HPS and SPS at 112 px with the real losses (Eq. 11, Eq. 12 with L_fit), and FOSS's joined network
(conf/base sizes, 256 px detector input, 80×112 crops, K = 4 faces per image) with a surrogate loss (the sum
of its outputs: the network's FLOPs are what is measured, not the target encoding); the appearance subnet
again in channels_last, and, on a CPU with bf16 instructions only, appearance and SPS under bf16 autocast
(training_steps.py builds every step). FLOPs are counted by
``torch.utils.flop_counter.FlopCounterMode`` (matrix products and convolutions, forward and backward;
element-wise work is not counted, so the share of the peak is a lower bound of how busy the cores are).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode
from training_steps import appearance_step, foss_step, multitask_step


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def best_seconds(step: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def gemm_peak(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return 2 * n**3 / best_seconds(lambda: a @ b, repeats)


def conv_peak(repeats: int = 5) -> float:
    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=False)
    x = torch.randn(32, 64, 56, 56)
    flops = 2 * 32 * 64 * 56 * 56 * 64 * 9
    with torch.no_grad():
        return flops / best_seconds(lambda: conv(x), repeats)


def counted_flops(step: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--foss-batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    flags = cpu_flags()
    bf16_native = bool({"avx512_bf16", "amx_bf16"} & flags)
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} "
        f"threads, bf16 instructions: {'yes' if bf16_native else 'no'} "
        f"({', '.join(sorted(f for f in flags if 'avx' in f or 'amx' in f)) or 'none listed'})"
    )
    peaks = {
        "fp32 GEMM 2048²": gemm_peak(torch.float32),
        "bf16 GEMM 2048²": gemm_peak(torch.bfloat16, repeats=2),
        "fp32 conv 3×3 64→64 56² ×32": conv_peak(),
    }
    for name, value in peaks.items():
        print(f"peak  {name:28s} {value / 1e9:8.1f} GFLOP/s")
    reference = max(peaks["fp32 GEMM 2048²"], peaks["fp32 conv 3×3 64→64 56² ×32"])

    cpu = torch.device("cpu")
    steps = {
        "appearance": (appearance_step(args.batch, args.size, cpu), args.batch),
        "appearance, channels_last": (
            appearance_step(args.batch, args.size, cpu, channels_last=True),
            args.batch,
        ),
        "hps": (multitask_step("hps", args.batch, args.size, cpu), args.batch),
        "sps": (multitask_step("sps", args.batch, args.size, cpu), args.batch),
        "foss (joined net)": (foss_step(args.foss_batch, 256, cpu), args.foss_batch),
    }
    if bf16_native:
        steps["appearance, bf16 autocast"] = (
            appearance_step(args.batch, args.size, cpu, torch.bfloat16),
            args.batch,
        )
        steps["sps, bf16 autocast"] = (
            multitask_step("sps", args.batch, args.size, cpu, torch.bfloat16),
            args.batch,
        )
    results = {"threads": args.threads, "bf16_native": bf16_native, "peaks_gflops": {}, "models": {}}
    results["peaks_gflops"] = {k: v / 1e9 for k, v in peaks.items()}
    print(
        f"{'model':26s} {'batch':>5s} {'GFLOP/step':>10s} {'s/step':>7s} {'samples/s':>9s} {'GFLOP/s':>8s} "
        f"{'% peak':>7s}"
    )
    for name, (step, batch) in steps.items():
        flops = counted_flops(step)
        seconds = best_seconds(step, args.steps)
        achieved = flops / seconds
        share = 100 * achieved / reference
        results["models"][name] = {
            "batch": batch,
            "gflop_per_step": flops / 1e9,
            "seconds_per_step": seconds,
            "samples_per_s": batch / seconds,
            "gflops": achieved / 1e9,
            "percent_of_peak": share,
        }
        print(
            f"{name:26s} {batch:5d} {flops / 1e9:10.1f} {seconds:7.3f} {batch / seconds:9.1f} "
            f"{achieved / 1e9:8.1f} {share:6.1f}%"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
