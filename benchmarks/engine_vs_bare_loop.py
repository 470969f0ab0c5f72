"""One training epoch of the engine against a bare PyTorch loop: same model, data, batch size, loss.

    .venv/bin/python benchmarks/engine_vs_bare_loop.py [--images 640] [--batch-size 32] [--image-size 112]

Data: synthetic 128 px crops made in memory (the data pipeline's format), the training transform
(random crop, flip, colour jitter), the appearance subnet and its Eq. 11 loss. Each contender runs one
warm-up epoch, then is timed over ``--repeats`` epochs; prints samples/s and the ratio.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
from torch.utils.data import DataLoader, Dataset

from agelab.faces.crop_transforms import build_transform
from agelab.losses.age import age_distance_loss
from agelab.models.alexnet import appearance_subnet
from agelab.training.engine import TrainConfig, make_loader, train_one_epoch


class RandomCrops(Dataset):
    def __init__(self, n: int, image_size: int):
        generator = torch.Generator().manual_seed(0)
        self.images = torch.randint(0, 256, (n, 3, 128, 128), dtype=torch.uint8, generator=generator)
        self.ages = torch.randint(0, 81, (n,), generator=generator).float()
        self.transform = build_transform(image_size, train=True)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.ages[i]


def loss_fn(logits, ages):
    return age_distance_loss(logits, ages, 0, 0.2)


def bare_epoch(model, optimizer, dataset, batch_size, seed) -> float:
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        generator=torch.Generator().manual_seed(seed),
    )
    model.train()
    start, seen = time.perf_counter(), 0
    for images, ages in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), ages)
        loss.backward()
        optimizer.step()
        seen += len(images)
    return seen / (time.perf_counter() - start)


def engine_epoch(model, optimizer, dataset, config, epoch, groups) -> float:
    loader = make_loader(dataset, config, train=True, epoch=epoch, age_groups=groups)
    return train_one_epoch(
        model, loss_fn, optimizer, loader, torch.device("cpu"), epoch, show_progress=False
    )["samples_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=640)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(
        f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"{args.images} images, batch {args.batch_size}, {args.image_size} px, appearance subnet"
    )
    dataset = RandomCrops(args.images, args.image_size)
    groups = (torch.arange(args.images) % 5).tolist()
    config = TrainConfig(batch_size=args.batch_size)
    rates = {"bare": [], "engine": []}
    for name in ("bare", "engine", "bare", "engine"):  # interleaved, so drift hits both alike
        torch.manual_seed(0)
        model = appearance_subnet(0, 80)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        for epoch in range(args.repeats + 1):
            rate = (
                bare_epoch(model, optimizer, dataset, args.batch_size, epoch)
                if name == "bare"
                else engine_epoch(model, optimizer, dataset, config, epoch, groups)
            )
            if epoch > 0:
                rates[name].append(rate)
    bare = sum(rates["bare"]) / len(rates["bare"])
    engine = sum(rates["engine"]) / len(rates["engine"])
    print(
        f"bare loop: {bare:.1f} samples/s  engine: {engine:.1f} samples/s  engine/bare = {engine / bare:.3f}"
    )


if __name__ == "__main__":
    main()
