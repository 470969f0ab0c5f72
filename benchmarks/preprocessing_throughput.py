"""Per-image analysis throughput (decode, hashes, grayscale test, dlib HOG detection, 68 landmarks, crop)
with 1 and 2 worker processes, on real faces.

    .venv/bin/python benchmarks/preprocessing_throughput.py [--images 600] [--folder PATH/UTKFace]

Prints images/s per worker count and the speed-up. Each run uses a fresh cache folder, so nothing is
served from cache. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from agelab.preprocessing.face_cache import AnalysisConfig, FaceCache, analyse_faces
from agelab.readers import read_dataset

DEFAULT_FOLDER = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "utkface" / "UTKFace"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER, help="a UTKFace-layout folder")
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--detector", default="hog")
    args = parser.parse_args()

    index = read_dataset("utkface", args.folder).index
    index = index.iloc[:: max(1, len(index) // args.images)].head(args.images).reset_index(drop=True)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}"
    )
    print(f"images: {len(index)} from {args.folder} (200x200 JPEG), detector {args.detector}")
    rates = {}
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as tmp:
            config = AnalysisConfig(detector=args.detector, chunk_size=64)
            start = time.perf_counter()
            result = analyse_faces(index, FaceCache(tmp), config, workers=workers, show_progress=False)
            elapsed = time.perf_counter() - start
        rates[workers] = len(index) / elapsed
        print(
            f"workers={workers}: {elapsed:6.1f} s  {rates[workers]:6.1f} images/s  "
            f"faces found {result['face_found'].mean():.1%}"
        )
    if 1 in rates and len(rates) > 1:
        best = max(rates)
        print(f"speed-up {best} vs 1 worker: {rates[best] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
