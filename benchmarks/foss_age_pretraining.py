"""What a face crop costs the FOSS age network: the age pre-training step on crops alone
(``foss.age_pretraining``) beside the joined stage's step (detector pass on the scene + K crops), both at the
real-photo environment's sizes, on real UTKFace images where ../shared/datasets is there.

    .venv/bin/python benchmarks/foss_age_pretraining.py [--batches 8] [--crop-batch 32] [--scene-batch 8]

Prints age-labelled crops per second for each (the joined stage: the scene batch × K crops a step, of which
only the crops matching a face carry an age — the figure is the upper bound with every crop a face), and the
crop data loader's images/s on its own (JPEG decode + roi_align + augmentation, one process).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch
from training_steps import foss_model_settings

from agelab.config import from_mapping
from agelab.losses.foss import FossLossWeights, face_attribute_loss
from agelab.training.foss_age_pretraining import AgePretrainingConfig, FaceCropSet
from agelab.training.foss_data import FaceRecord
from agelab.training.foss_training import FossModelConfig
from agelab.training.optimizers import adam

UTKFACE = Path(__file__).resolve().parents[1].parent / "shared/datasets/utkface/UTKFace"
# conf/real's model (conf/base's with its 448-px detector)
REAL = from_mapping(FossModelConfig, foss_model_settings("real"), where="foss.model")


def _records(n: int) -> list[FaceRecord]:
    paths = sorted(UTKFACE.glob("*.jpg"))[:: max(1, 23_000 // n)][:n]
    if not paths:
        raise SystemExit(f"no UTKFace images under {UTKFACE}")
    # UTKFace's faces fill their aligned 200 px image: the detector's box is about the central 60 %
    return [FaceRecord(str(p), ((40.0, 45.0, 160.0, 175.0),), (30.0,), (1,)) for p in paths]


def _timed(step, batches: int) -> float:
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(batches):
        step()
    return (time.perf_counter() - start) / batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--crop-batch", type=int, default=32)
    parser.add_argument("--scene-batch", type=int, default=8)
    parser.add_argument("--k", type=int, default=9, help="crops per scene in the joined stage (train_k)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, 2 threads")

    records = _records(args.crop_batch * (args.batches + 1))
    crops = FaceCropSet(records, (REAL.crop_height, REAL.crop_width), True, AgePretrainingConfig())
    start = time.perf_counter()
    items = [crops[i] for i in range(len(crops))]
    loading = len(items) / (time.perf_counter() - start)

    weights = FossLossWeights()
    network = REAL.build().age_network().train()
    optimizer = adam(network.parameters(), lr=1e-3)
    batches = [
        (
            torch.stack([c for c, _ in items[i : i + args.crop_batch]]),
            {
                "age": torch.stack([t["age"] for _, t in items[i : i + args.crop_batch]]),
                "gender": torch.stack([t["gender"] for _, t in items[i : i + args.crop_batch]]),
            },
        )
        for i in range(0, len(items) - args.crop_batch + 1, args.crop_batch)
    ]
    position = iter(range(10**9))

    def crop_step() -> None:
        images, targets = batches[next(position) % len(batches)]
        optimizer.zero_grad(set_to_none=True)
        face_attribute_loss(*network(images), targets["age"], targets["gender"], weights)[0].backward()
        optimizer.step()

    crop_seconds = _timed(crop_step, args.batches)

    joined = REAL.build()
    joined.freeze_detector(True)
    joined.train()
    joined_optimizer = adam([p for p in joined.parameters() if p.requires_grad], lr=1e-3)
    scenes = torch.rand(args.scene_batch, 3, REAL.detector_input, REAL.detector_input)

    def joined_step() -> None:
        joined_optimizer.zero_grad(set_to_none=True)
        output = joined(scenes, args.k)
        (output.age_logits.float().logsumexp(-1).mean() + output.gender_logits.float().mean()).backward()
        joined_optimizer.step()

    joined_seconds = _timed(joined_step, args.batches)
    crop_rate = args.crop_batch / crop_seconds
    joined_rate = args.scene_batch * args.k / joined_seconds
    print(f"crop loader (decode + roi_align + augmentation, one process): {loading:.0f} crops/s")
    print(
        f"age pre-training step, batch {args.crop_batch} crops {REAL.crop_height}x{REAL.crop_width}: "
        f"{crop_seconds:.3f} s = {crop_rate:.0f} crops/s"
    )
    print(
        f"joined step, batch {args.scene_batch} scenes {REAL.detector_input} px x K={args.k}: "
        f"{joined_seconds:.3f} s = {joined_rate:.0f} crops/s at most "
        f"({args.scene_batch / joined_seconds:.1f} scenes/s)"
    )
    print(f"pre-training: {crop_rate / joined_rate:.1f} x the crops per second of the joined stage")


if __name__ == "__main__":
    main()
