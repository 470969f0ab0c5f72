"""Run by ``test_torchrun.py`` under ``torchrun --nproc_per_node=2`` (not a test module): both FOSS training
stages on a tiny model and a handful of written images; each rank saves its final weights to ``argv[1]``."""

import logging
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from agelab.losses.foss import FossLossWeights
from agelab.training.engine import TrainConfig
from agelab.training.foss_data import FaceRecord, Source
from agelab.training.foss_training import (
    DataConfig,
    FossModelConfig,
    FossTrainingConfig,
    train_face_detector,
    train_multi_person_model,
)

MODEL = FossModelConfig(
    detector_width=0.25,
    head_conv=8,
    deformable=False,
    detector_input=64,
    age_width=0.25,
    crop_width=32,
    crop_height=48,
    intermediate_channels=8,
    head_channels=16,
    top_k=3,
)
ENGINE = TrainConfig(epochs=1, batch_size=2, learning_rate=1e-3, device="cpu", max_batches_per_epoch=2)


def _records(folder: Path, name: str, count: int, faces: int, age: float) -> list[FaceRecord]:
    rng = np.random.default_rng(len(name))
    records = []
    for i in range(count):
        path = folder / f"{name}_{i}.png"
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
        boxes = tuple((4.0 + 20 * f, 8.0, 20.0 + 20 * f, 28.0) for f in range(faces))
        records.append(FaceRecord(str(path), boxes, (age,) * faces, (1,) * faces))
    return records


def main(out: Path) -> None:
    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(1)
    rank = int(__import__("os").environ["RANK"])
    images = out / "images"
    images.mkdir(exist_ok=True)
    scenes = _records(images, "scene", 8, 3, float("nan"))  # 2 batches a rank: DDP checks at the 2nd
    ages = _records(images, "age", 8, 1, 30.0)
    data = DataConfig(canvas=64, tile_choices=(1, 4))
    detector, _ = train_face_detector(
        scenes, scenes[:2], MODEL, data, ENGINE, FossLossWeights(), show_progress=False
    )
    states = {"detector": detector.state_dict()}
    for end_to_end in (False, True):
        model, _ = train_multi_person_model(
            detector,
            [Source("ages", ages, tiled=True)],
            Source("detection", scenes, tiled=False),
            ages[:2],
            MODEL,
            data,
            FossTrainingConfig(train_k=2, end_to_end=end_to_end, engine=ENGINE),
            show_progress=False,
        )
        states[f"foss_end_to_end_{end_to_end}"] = model.state_dict()
    torch.save(states, out / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()
    print(f"rank {rank} finished", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
