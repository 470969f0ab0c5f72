"""Adam's update on PyTorch's fused kernel against the default one the project used before (on the CPU, the
single-tensor loop): the optimizer step alone over each model's parameters, and the whole training step
(forward, loss, backward, update) of the appearance subnet, HPS and SPS, old and new interleaved round by
round in one process so both see the same machine state. Prints a table (and ``--json``).

    .venv/bin/python benchmarks/optimizer_step.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from training_steps import appearance_step, multitask_step


def _seconds(step, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def optimizer_only(parameters: list[torch.nn.Parameter], fused: bool, repeats: int) -> float:
    """Seconds per Adam update of ``parameters`` with random gradients."""
    for p in parameters:
        p.grad = torch.randn_like(p)
    optimizer = torch.optim.Adam(parameters, lr=1e-5, fused=fused or None)
    optimizer.step()  # creates the moment buffers
    return _seconds(optimizer.step, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (old, new) per model")
    parser.add_argument("--steps", type=int, default=3, help="training steps timed per round")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cpu = torch.device("cpu")

    from agelab.models.alexnet import appearance_subnet

    alexnet = list(appearance_subnet(0, 80).parameters())
    rows: list[dict] = []
    for fused in (False, True):
        seconds = statistics.median(optimizer_only(alexnet, fused, args.steps) for _ in range(args.rounds))
        rows.append({"what": "Adam update, AlexNet (57.3 M parameters)", "fused": fused, "s": seconds})

    makers = {
        "appearance subnet": lambda fused: appearance_step(args.batch, args.size, cpu, fused=fused),
        "HPS": lambda fused: multitask_step("hps", args.batch, args.size, cpu, fused=fused),
        "SPS": lambda fused: multitask_step("sps", args.batch, args.size, cpu, fused=fused),
    }
    for name, make in makers.items():
        steps = {fused: make(fused) for fused in (False, True)}
        for step in steps.values():
            step()  # warm-up: buffers, moment state
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.rounds):
            for fused, step in steps.items():
                times[fused].append(_seconds(step, args.steps))
        for fused in (False, True):
            seconds = statistics.median(times[fused])
            rows.append(
                {
                    "what": f"{name} training step",
                    "fused": fused,
                    "s": seconds,
                    "samples_per_s": args.batch / seconds,
                }
            )
        del steps

    print(f"batch {args.batch}, {args.size} px, {args.threads} threads, median of {args.rounds} rounds")
    print("| what | Adam | s | samples/s |")
    print("|---|---|---|---|")
    for row in rows:
        rate = f"{row['samples_per_s']:.1f}" if "samples_per_s" in row else ""
        print(f"| {row['what']} | {'fused' if row['fused'] else 'default'} | {row['s']:.3f} | {rate} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
