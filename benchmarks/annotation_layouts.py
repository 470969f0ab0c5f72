"""§4.2's boxing of single-face age images by a trained FOSS detector: the two layouts of
``foss.annotation.layout`` side by side on the same UTKFace images — agreement and speed.

    .venv/bin/python benchmarks/annotation_layouts.py --detector data/real/06_models/foss/face_detector.pt \\
        [--images 450] [--scale 0.333]

``canvas`` shows each image alone at the centre of a black canvas 1/scale its size (one detector pass per
image); ``grid`` shows 1/scale × 1/scale images side by side (one pass per grid). Both are scored as training
images (used only with exactly one face). Prints images/s, how many images each uses, how often the two
agree on using an image, and the IoU of the two boxes where both use it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torchvision.ops import box_iou

from agelab.models.bundle import ModelBundle
from agelab.training.foss_training import annotate_single_face_images

DEFAULT_UTKFACE = Path(__file__).resolve().parents[1].parent / "shared/datasets/utkface/UTKFace"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--detector", type=Path, required=True, help="a foss.detector bundle (face_detector.pt)"
    )
    parser.add_argument("--utkface", type=Path, default=DEFAULT_UTKFACE)
    parser.add_argument("--images", type=int, default=450, help="every n-th image of the sorted folder")
    parser.add_argument("--scale", type=float, default=0.333)
    args = parser.parse_args()
    torch.set_num_threads(2)
    paths = sorted(str(p) for p in args.utkface.glob("*.jpg"))
    paths = paths[:: max(1, len(paths) // args.images)][: args.images]
    faces = pd.DataFrame({"image_path": paths, "split": "train", "age": np.nan, "gender": -1})
    detector = ModelBundle.load(args.detector).build()
    print(f"{len(paths)} UTKFace images from {args.utkface}, image scale {args.scale}, torch threads 2")
    tables = {}
    for layout in ("canvas", "grid"):
        start = time.perf_counter()
        table, report = annotate_single_face_images(
            detector, faces, device="cpu", show_progress=False, image_scale=args.scale, layout=layout
        )
        seconds = time.perf_counter() - start
        tables[layout] = table
        print(
            f"{layout}: {len(table) / seconds:.1f} images/s, used {report['used']} of {report['images']}, "
            f"excluded {report['excluded_by_reason']}"
        )
    canvas, grid = tables["canvas"], tables["grid"]
    agree = (canvas["foss_use"] == grid["foss_use"]).mean()
    both = canvas["foss_use"] & grid["foss_use"]
    columns = ["foss_box_x0", "foss_box_y0", "foss_box_x1", "foss_box_y1"]
    ious = np.diag(
        box_iou(
            torch.tensor(canvas.loc[both, columns].to_numpy()),
            torch.tensor(grid.loc[both, columns].to_numpy()),
        ).numpy()
    )
    boxes = (
        f"median {np.median(ious):.3f}, mean {ious.mean():.3f}, share >= 0.7: {(ious >= 0.7).mean():.1%}"
        if len(ious)
        else "none"
    )
    print(
        f"same use/not-use verdict: {agree:.1%}; used by both: {int(both.sum())}; "
        f"box IoU where both use: {boxes}"
    )


if __name__ == "__main__":
    main()
