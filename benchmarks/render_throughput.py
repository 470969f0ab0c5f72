"""Synthetic face rendering throughput, in-process per stage and through the face-set writer.

.venv/bin/python benchmarks/render_throughput.py [--faces 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from agelab.morphable.procedural import build_procedural_model
from agelab.synthetic.face_set import FaceSetConfig, render_face_set
from agelab.synthetic.render import render_face
from agelab.synthetic.spec import sample_face_specs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, default=200)
    args = parser.parse_args()
    start = time.perf_counter()
    build_procedural_model()
    print(f"procedural model build: {time.perf_counter() - start:.2f} s (once per process)")
    specs = sample_face_specs(50, seed=0)
    start = time.perf_counter()
    for spec in specs:
        render_face(spec)
    per_face_ms = (time.perf_counter() - start) / len(specs) * 1000
    print(f"render_face, 128 px, 2x supersampling: {per_face_ms:.0f} ms/face")
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            render_face_set(FaceSetConfig(n_faces=args.faces), tmp, workers=workers, show_progress=False)
            elapsed = time.perf_counter() - start
        print(
            f"face-set writer, {args.faces} faces, workers={workers}: {elapsed:.1f} s, "
            f"{args.faces / elapsed:.1f} faces/s (includes worker start-up)"
        )


if __name__ == "__main__":
    main()
