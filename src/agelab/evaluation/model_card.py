"""Model card written with every trained model (Markdown): what it was trained on, how well it does
where age models usually fail (children, the elderly), how faces must be cropped, and how fast it ran."""

from __future__ import annotations

import datetime as dt
import platform
from typing import Any

import numpy as np
import pandas as pd


def _table(rows: list[list[Any]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def model_card(
    *,
    name: str,
    faces: pd.DataFrame,
    report: dict,
    history: list[dict],
    training: dict,
    crop: dict,
    device: str,
    stand_in_model: bool,
) -> str:
    """Markdown model card. ``faces`` is the model-input table (with ``split``), ``report`` the test
    evaluation from :func:`agelab.evaluation.metrics.age_report`."""
    train = faces[faces["split"] == "train"]
    decades = (np.floor(train["age"] / 10) * 10).astype(int).value_counts().sort_index()
    kinds = faces["age_kind"].value_counts().to_dict() if "age_kind" in faces else {}
    datasets = faces["dataset"].value_counts().to_dict() if "dataset" in faces else {}
    speed = np.median([h["samples_per_s"] for h in history]) if history else float("nan")
    by_decade = report.get("mae_by_decade", {})
    extremes = [k for k in by_decade if k.startswith(("00", "70", "80", "90", "100"))]
    sections = [
        f"# Model card: {name}",
        f"Trained {dt.date.today().isoformat()} on {platform.node() or 'this machine'} ({device}).",
        "## Intended use\nAge estimation from a single face crop. Research use; not for decisions about "
        "individuals. Datasets used for training carry their own (mostly non-commercial) licences.",
        "## Training data\n"
        + _table([[k, v] for k, v in datasets.items()], ["dataset", "faces"])
        + f"\n\nSplits: {faces['split'].value_counts().to_dict()}. Age labels: {kinds} "
        "(real = documented age, apparent = annotators' estimate, group = an age range).\n\n"
        "Training ages by decade:\n\n"
        + _table([[f"{d}-{d + 9}", n] for d, n in decades.items()], ["ages", "faces"]),
        "## Results on the test split\n"
        + _table(
            [
                [
                    f"{report['mae']:.2f}",
                    f"{report['median_baseline_mae']:.2f}",
                    f"{report['cs_5']:.3f}",
                    report["count"],
                ]
            ],
            ["MAE", "median baseline MAE", "CS(5)", "faces"],
        )
        + "\n\nMAE by decade of true age (children and the elderly are where age models fail most):\n\n"
        + _table([[k, f"{v['mae']:.2f}", v["count"]] for k, v in by_decade.items()], ["ages", "MAE", "faces"])
        + (f"\n\nWatch: {', '.join(extremes)}." if extremes else ""),
        "## Input\n"
        f"Square crop centred on the face box, {crop['margin']:.0%} margin on every side, resized to "
        f"{crop['size']} px, then the centre {crop['image_size']} px, ImageNet normalisation. Use "
        "`agelab.faces.crops.crop_face` (or `agelab predict`) — a different framing costs accuracy.",
        "## Training\n"
        + _table([[k, v] for k, v in training.items()], ["setting", "value"])
        + f"\n\nThroughput: {speed:.1f} training samples/s (median over epochs) on {device}.",
    ]
    if stand_in_model:
        sections.append(
            "## Caveat\nTrained and tested on the embedded synthetic face set rendered from the "
            "procedural morphable model (a stand-in for BFM 2017). Its figures say whether the "
            "pipeline learns, not how it does on real photographs."
        )
    return "\n\n".join(sections) + "\n"
