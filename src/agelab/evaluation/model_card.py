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
    cross_reports: dict[str, dict] | None = None,
) -> str:
    """Markdown model card. ``faces`` is the model-input table (with ``split``), ``report`` the test
    evaluation from :func:`agelab.evaluation.metrics.age_report`; ``cross_reports`` the same for each
    dataset never trained on (name -> report)."""
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
        *_cross_dataset_section(cross_reports or {}),
        *_interval_section(report, cross_reports or {}),
        "## Input\n"
        + (
            "Face aligned by a similarity transform from dlib's 68 landmarks (eyes, nose tip and mouth "
            f"corners on a fixed template), {crop['margin']:.0%} margin on every side, "
            if crop.get("aligned")
            else f"Square crop centred on the face box, {crop['margin']:.0%} margin on every side, "
            "resized to "
        )
        + f"{crop['size']} px, then the centre {crop['image_size']} px, ImageNet normalisation. Use "
        "`agelab.faces.crops.face_crop` (or `agelab predict`) — a different framing costs accuracy.",
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


def _colour(report: dict, kind: str) -> str:
    part = report.get("mae_by_colour", {}).get(kind)
    return f"{part['mae']:.2f} ({part['count']})" if part else "–"


def _cross_dataset_section(cross_reports: dict[str, dict]) -> list[str]:
    if not cross_reports:
        return []
    rows = [
        [
            name,
            f"{r['mae']:.2f}",
            f"{r['cs_5']:.3f}",
            r["count"],
            _colour(r, "colour"),
            _colour(r, "grayscale"),
        ]
        for name, r in cross_reports.items()
    ]
    header = ["dataset", "MAE", "CS(5)", "faces", "MAE colour (faces)", "MAE black-and-white (faces)"]
    decades = "\n\n".join(
        f"{name}, MAE by decade:\n\n"
        + _table(
            [[k, f"{v['mae']:.2f}", v["count"]] for k, v in r.get("mae_by_decade", {}).items()],
            ["ages", "MAE", "faces"],
        )
        for name, r in cross_reports.items()
    )
    return [
        "## Results on datasets never trained on\nEvery readable face dlib finds, black-and-white photos "
        "included, no cap per age.\n\n" + _table(rows, header) + "\n\n" + decades
    ]


#: how far below its nominal 80 % an interval's coverage may fall before the card warns of it
UNDER_COVERAGE = 0.05


def _interval_section(report: dict, cross_reports: dict[str, dict]) -> list[str]:
    if "interval_coverage_50" not in report:
        return []
    rows = [
        [
            name,
            f"{r['interval_coverage_50']:.1%}",
            f"{r['interval_width_50']:.1f}",
            f"{r['interval_coverage_80']:.1%}",
            f"{r['interval_width_80']:.1f}",
        ]
        for name, r in {"test split": report, **cross_reports}.items()
        if "interval_coverage_50" in r
    ]
    # an interval that holds well under its nominal share of true ages (5 points or more) is named
    short = [
        f"{name} ({r['interval_coverage_80']:.1%} inside the 80 % interval)"
        for name, r in {"the test split": report, **cross_reports}.items()
        if r.get("interval_coverage_80", 0.8) <= 0.8 - UNDER_COVERAGE
    ]
    caveat = (
        "\n\nThe temperature is fitted on faces like the training set's; on "
        + ", ".join(short)
        + " the intervals are too narrow: read them as a lower bound on the uncertainty there."
        if short
        else ""
    )
    return [
        "## Age intervals\nEach face's 50 % and 80 % central interval of the predicted age distribution, "
        f"temperature-scaled on the validation split (T = {report.get('temperature', 1.0):.3f}). Coverage: "
        "the share of faces whose true age lies inside.\n\n"
        + _table(
            rows, ["faces", "50 % coverage", "50 % width (years)", "80 % coverage", "80 % width (years)"]
        )
        + caveat
    ]
