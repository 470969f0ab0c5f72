"""Training-step throughput of the appearance subnet on each backbone ``appearance.model.backbone`` offers,
at the input sizes a user would pick (CPU, the machine's threads):

    .venv/bin/python benchmarks/backbone_steps.py [--steps 4] [--batch 32] [--threads 2]

One step = forward, Eq. 11's loss, backward, Adam, on random images (the step's cost does not depend on the
pixels); two warm-up steps, then the mean of ``--steps``. Prints samples/s per backbone and size.
"""

from __future__ import annotations

import argparse
import time

import torch

from agelab.losses.age import age_distance_loss
from agelab.models.alexnet import appearance_subnet

CASES = (
    ("alexnet", 112),
    ("resnet18", 96),
    ("resnet18", 112),
    ("resnet34", 96),
    ("mobilenet_v3_large", 112),
    ("mobilenet_v3_large", 128),
    ("mobilenet_v3_small", 112),
)


def samples_per_second(backbone: str, size: int, batch: int, steps: int) -> float:
    torch.manual_seed(0)
    model = appearance_subnet(0, 116, backbone=backbone).train()
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    images, ages = torch.randn(batch, 3, size, size), torch.randint(0, 117, (batch,)).float()
    for step in range(steps + 2):
        if step == 2:
            start = time.perf_counter()
        loss = age_distance_loss(model(images), ages, 0, 0.2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"batch {args.batch}, {args.threads} threads, torch {torch.__version__}")
    print("| backbone | input px | samples/s |\n|---|---|---|")
    for backbone, size in CASES:
        print(
            f"| {backbone} | {size} | {samples_per_second(backbone, size, args.batch, args.steps):.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
