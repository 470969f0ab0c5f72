"""``agelab predict`` on real group photos: the FOSS model (one network detects every face and ages it)
beside dlib's HOG detector + the appearance subnet, on the held-out WIDER FACE photos (the shared subset's
photos are 640 px on their long side, as published there): the FOSS-on-real-photos issue's speed table.

    .venv/bin/python benchmarks/group_photo_speed.py \\
        --foss data/real/06_models/foss/foss_net.pt \\
        --appearance data/real/06_models/appearance/appearance_subnet.pt \\
        [--root ../shared/datasets/wider_face_train_subset] [--limit 0] [--repeats 2]

The photos are the held-out test split of ``agelab.detection.holdout`` (the FOSS pipeline's defaults, as in
``benchmarks/wider_detectors.py``), read where they lie (never copied or changed). Each side is the
``agelab predict`` command itself, run as a subprocess with its default thresholds (the operating point a
user gets); its own timer starts after the model is loaded and warmed up. The sides alternate
``--repeats`` times and the best run of each is reported. Beside images/s and faces/s: recall@0.5 of the
true faces (all, and those >= 16 px high), so a fast side that finds few faces is seen as such.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from predict_vs_age_and_gender import run_agelab
from wider_detectors import DEFAULT_ROOT, held_out_truths, recall_at_least_16px

from agelab.evaluation.detection import ImageDetections, wider_face_evaluation
from agelab.evaluation.multi_person import DetectionTruth

BOX = ["box_x0", "box_y0", "box_x1", "box_y1"]


def detection_figures(table: pd.DataFrame, truths: list[DetectionTruth]) -> dict:
    """Recall@0.5 (WIDER protocol) of the faces ``agelab predict`` reported, overall and >= 16 px."""
    faces = table[table["face"] >= 0]
    by_file = {path: group for path, group in faces.groupby("file")}
    images = []
    for truth in truths:
        found = by_file.get(truth.path)
        boxes = np.zeros((0, 4)) if found is None else found[BOX].to_numpy(np.float64)
        scores = np.zeros(0) if found is None else found["detector_score"].to_numpy(np.float64)
        images.append(ImageDetections(boxes, scores, truth.boxes, truth.ignore))
    result = wider_face_evaluation(images)
    found = round(result["recall"] * result["faces"])  # true faces matched at IoU >= 0.5 (ignore boxes aside)
    return {
        "recall": result["recall"],
        "recall_16px": recall_at_least_16px(result),
        "faces": len(faces),
        "true_faces": found,
        "precision": found / len(faces) if len(faces) else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--foss", required=True, help="FOSS model file (kedro run --pipelines=foss)")
    parser.add_argument("--appearance", required=True, help="appearance subnet model file, with dlib HOG")
    parser.add_argument("--upsample", type=int, default=1, help="dlib HOG up-sampling (default 1)")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--limit", type=int, default=0, help="first N held-out photos only (0: all)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    truths = held_out_truths(args.root)
    truths = truths[: args.limit] if args.limit else truths
    sides = {
        "FOSS (agelab predict, FOSS model)": (args.foss, ()),
        f"dlib HOG up-sampling {args.upsample} + appearance subnet (agelab predict)": (
            args.appearance,
            ("--detector", "hog", "--upsample", str(args.upsample)),
        ),
    }
    paths = [truth.path for truth in truths]
    with tempfile.TemporaryDirectory() as folder:
        runs: dict[str, list[tuple[pd.DataFrame, float]]] = {name: [] for name in sides}
        for _ in range(args.repeats):
            for name, (model, options) in sides.items():
                runs[name].append(run_agelab(model, paths, Path(folder), options))
        best = {name: min(results, key=lambda run: run[1]) for name, results in runs.items()}
        figures = {name: detection_figures(table, truths) for name, (table, _) in best.items()}
    true_faces = sum(len(t.boxes) for t in truths)
    print(
        f"{len(truths)} held-out photos of {args.root} ({true_faces} true faces); "
        f"best of {args.repeats} runs each"
    )
    print(
        "| | faces reported | of them true (precision) | recall@0.5 | recall ≥ 16 px | seconds | images/s "
        "| faces/s | true faces/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (_, seconds) in best.items():
        f = figures[name]
        print(
            f"| {name} | {f['faces']} | {f['true_faces']} ({f['precision']:.2f}) | {f['recall']:.3f} | "
            f"{f['recall_16px']:.3f} | {seconds:.1f} | {len(truths) / seconds:.2f} | "
            f"{f['faces'] / seconds:.1f} | {f['true_faces'] / seconds:.1f} |"
        )


if __name__ == "__main__":
    main()
