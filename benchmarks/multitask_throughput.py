"""Training throughput (samples/s) of the appearance subnet, HPS and SPS: the training engine's epoch loop
(forward, loss, backward, optimizer step) on face-sized inputs, as the pipelines train them.

    .venv/bin/python benchmarks/multitask_throughput.py [--batch 32] [--steps 8] [--device cpu|cuda] [--amp]
    .venv/bin/python benchmarks/multitask_throughput.py --old-path   # before the speed issue, to compare

``--old-path`` trains as the project did before the speed issue: PyTorch's default Adam (on the CPU, the
single-tensor loop) and glibc's default allocator settings; without it, as the engine does now (fused Adam,
:func:`agelab.training.allocator.retain_freed_memory`). The allocator setting is process-wide, so the two
paths run as two processes, one after the other.

Random images stand in for crops (speed does not depend on content); the 3D losses use the built-in
procedural model (9,000 vertices).
"""

from __future__ import annotations

import argparse
import platform

import torch
from torch.utils.data import DataLoader, Dataset

from agelab.losses.age import age_distance_loss
from agelab.losses.multitask import MultiTaskObjective
from agelab.losses.reconstruction import FitObjective, FitWeights
from agelab.models.alexnet import appearance_subnet
from agelab.models.multitask import BothOutputs, hps_net, sps_net
from agelab.morphable.camera import Camera
from agelab.morphable.procedural import build_procedural_model
from agelab.training.allocator import retain_freed_memory
from agelab.training.engine import train_one_epoch
from agelab.training.multitask_training import MultiTaskConfig, make_optimizer
from agelab.training.optimizers import adam


def _targets(batch: int, size: int) -> dict[str, torch.Tensor]:
    centre = torch.tensor([size / 2, size / 2])
    landmarks = centre + torch.randn(batch, 68, 2) * size / 6
    return {
        "image": torch.rand(batch, 3, size, size),
        "landmarks": landmarks,
        "landmark_weight": torch.ones(batch),
        "age": torch.randint(0, 81, (batch,)).float(),
    }


class _RepeatedBatch(Dataset):
    """``batches`` copies of one batch of samples: speed does not depend on content."""

    def __init__(self, batch: int, size: int, batches: int):
        self.images = torch.randn(batch, 3, size, size)
        self.targets = _targets(batch, size)
        self.length = batch * batches

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        i = index % len(self.images)
        return self.images[i], {k: v[i] for k, v in self.targets.items()}


def measure(
    name: str, batch: int, size: int, steps: int, device: torch.device, amp: bool, old_path: bool = False
) -> float:
    """Samples/s of the training engine's own epoch loop (:func:`train_one_epoch`) after a warm-up epoch."""
    torch.manual_seed(0)
    if name == "appearance":
        model = appearance_subnet(0, 80)
        optimizer = adam(model.parameters(), lr=1e-4)

        def loss_fn(logits: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
            return age_distance_loss(logits.float(), targets["age"], 0, 0.2)
    else:
        net = (sps_net if name == "sps" else hps_net)(0, 80, recon3d={"translation": [0.0, 0.0, 900.0]})
        model = BothOutputs(net)
        optimizer = make_optimizer(net, MultiTaskConfig(sharing=name))
        fit = FitObjective(build_procedural_model().model, Camera.for_image(size), FitWeights())
        loss_fn = MultiTaskObjective(fit, w=0.3, min_age=0, lambda_dist=0.2)
    if old_path:
        for group in optimizer.param_groups:
            if "fused" in group:
                group["fused"] = None  # PyTorch's default (the single-tensor loop on the CPU)
    model.to(device)
    scaler = torch.amp.GradScaler("cuda") if amp and device.type == "cuda" else None
    rate = 0.0
    for epoch, batches in enumerate((2, steps)):  # warm-up epoch, then the timed one
        loader = DataLoader(_RepeatedBatch(batch, size, batches), batch_size=batch)
        rate = train_one_epoch(
            model, loss_fn, optimizer, loader, device, epoch, scaler=scaler, show_progress=False
        )["samples_per_s"]
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true", help="float16 autocast + grad scaling (CUDA)")
    parser.add_argument(
        "--old-path", action="store_true", help="PyTorch's default Adam, glibc's default allocator"
    )
    args = parser.parse_args()
    if not args.old_path:
        retain_freed_memory()
    device = torch.device(args.device)
    label = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()
    print(
        f"{label}, torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
        f"{args.size} px, amp {args.amp and device.type == 'cuda'}, "
        + ("old path (default Adam, default allocator)" if args.old_path else "fused Adam, freed memory kept")
    )
    rates = {
        name: measure(name, args.batch, args.size, args.steps, device, args.amp, args.old_path)
        for name in ("appearance", "hps", "sps")
    }
    for name, rate in rates.items():
        print(f"{name:10s} {rate:8.1f} samples/s   cost × {rates['appearance'] / rate:4.2f} of appearance")


if __name__ == "__main__":
    main()
