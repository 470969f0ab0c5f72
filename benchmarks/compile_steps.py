"""Does ``torch.compile`` pay back its compile time here? One training step (forward, loss, backward,
fused Adam) of the appearance subnet and SPS, eager and compiled (TorchInductor), the same model, batch and
sizes as ``machine_peak.py``: the compile time (the first steps) and the steady step time after it.

    .venv/bin/python benchmarks/compile_steps.py [--models appearance sps] [--steps 6] [--threads 2]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
from training_steps import appearance_step, multitask_step


def _time(step, warmup: int, steps: int) -> tuple[float, float]:
    """Seconds of the ``warmup`` first steps (compilation happens there) and the mean of ``steps`` after."""
    start = time.perf_counter()
    for _ in range(warmup):
        step()
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return first, (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="*", default=["appearance", "sps"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} threads")
    print("| model | path | first 2 steps (s) | steady s/step | samples/s |")
    print("|---|---|---|---|---|")
    for name in args.models:
        for compiled in (False, True):
            torch.manual_seed(0)
            if name == "appearance":
                step = appearance_step(args.batch, args.size, device, compiled=compiled)
            else:
                step = multitask_step(name, args.batch, args.size, device, compiled=compiled)
            first, steady = _time(step, 2, args.steps)
            path = "torch.compile" if compiled else "eager"
            print(f"| {name} | {path} | {first:.1f} | {steady:.3f} | {args.batch / steady:.1f} |", flush=True)


if __name__ == "__main__":
    main()
