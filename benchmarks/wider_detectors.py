"""dlib's face detectors on the held-out photos of the shared WIDER FACE subset: the bar the FOSS detector
trained on that subset must clear (FOSS-on-real-photos issue: recall@0.5 on faces >= 16 px at least twice
dlib HOG's with up-sampling 1; AP@0.5 on faces >= 32 px >= 0.8).

    .venv/bin/python benchmarks/wider_detectors.py [--root ../shared/datasets/wider_face_train_subset] \\
        [--detectors hog:0 hog:1 mmod:0 foss:data/real/06_models/foss/face_detector.pt] [--json out.json]

``foss:<path>`` scores a trained FOSS face detector (the ``foss.detector`` bundle the FOSS pipeline's
``train_face_detector`` node writes) exactly as ``evaluate_foss_model`` does: its top 100 heatmap peaks,
duplicates above IoU 0.5 suppressed — so a detector can be judged before the age stages are trained.

The photos are the held-out test split of ``agelab.detection.holdout`` with the FOSS pipeline's defaults
(20 % of each event's photos, seed 0), scored with the WIDER FACE protocol
(``agelab.evaluation.detection``: VOC matching at IoU 0.5, invalid faces ignored, every detection scored down
to dlib score -0.5 for the precision-recall curve). Prints AP and recall overall, by face height, and the
recall of faces >= 16 px (large and medium together), with images/s.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from agelab.detection.holdout import HoldoutConfig, evaluation_split, split_if_unsplit
from agelab.evaluation.face_predictors import detector_faces, dlib_faces
from agelab.evaluation.multi_person import (
    DetectionTruth,
    detection_average_precision,
    detection_truth_from_index,
)
from agelab.models.bundle import ModelBundle
from agelab.readers.wider_face import read_wider_face
from agelab.training.foss_config import detector_label, detector_spec

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared/datasets/wider_face_train_subset"


def held_out_truths(root: Path) -> list[DetectionTruth]:
    """The held-out photos of the subset at ``root`` (the FOSS pipeline's default split) with their faces."""
    index = split_if_unsplit(read_wider_face(root).index, HoldoutConfig())
    return detection_truth_from_index(index[index["split_hint"] == evaluation_split(index)])


def recall_at_least_16px(result: dict) -> float:
    """Recall of the faces >= 16 px high: the large and medium buckets' recalls weighted by their faces."""
    sizes = [result["by_size"][name] for name in ("large", "medium")]
    faces = sum(size["faces"] for size in sizes)
    return sum(size["recall"] * size["faces"] for size in sizes if size["faces"]) / faces


def predictor(spec: str, min_score: float) -> tuple[str, Callable]:
    """``hog:<n>`` / ``mmod:<n>`` (dlib) or ``foss:<bundle path>`` → (row label, image → faces)."""
    kind, _, path = spec.partition(":")
    if kind == "foss":
        detector = ModelBundle.load(path).build().eval()
        return f"FOSS detector ({path})", detector_faces(detector, k=100, device="cpu", nms_iou=0.5)
    kind, upsample = detector_spec(spec)
    return detector_label(spec), dlib_faces(upsample, min_score, detector=kind)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--detectors", nargs="+", default=["hog:0", "hog:1", "mmod:0"])
    parser.add_argument("--min-score", type=float, default=-0.5)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N held-out photos")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    truths = held_out_truths(args.root)[: args.limit]
    faces = sum(len(t.boxes) for t in truths)
    print(f"{args.root}: {len(truths)} held-out photos, {faces} faces")
    print(
        "| detector | AP@0.5 | recall | recall ≥ 16 px | AP ≥ 32 px | recall ≥ 32 px | AP 16–32 px "
        "| images/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for spec in args.detectors:
        label, predict = predictor(spec, args.min_score)
        start = time.perf_counter()
        result = detection_average_precision(predict, truths, show_progress=True, label=spec)
        seconds = time.perf_counter() - start
        r = {
            "detector": label,
            "ap": result["ap"],
            "recall": result["recall"],
            "recall_16px_and_up": recall_at_least_16px(result),
            "by_size": result["by_size"],
            "images": result["images"],
            "images_per_s": result["images"] / seconds,
        }
        rows.append(r)
        large, medium = r["by_size"]["large"], r["by_size"]["medium"]
        print(  # each detector's row as soon as it is done: MMOD on a CPU takes seconds per photo
            f"| {r['detector']} | {r['ap']:.3f} | {r['recall']:.3f} | {r['recall_16px_and_up']:.3f} | "
            f"{large['ap']:.3f} | {large['recall']:.3f} | {medium['ap']:.3f} | {r['images_per_s']:.2f} |",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
