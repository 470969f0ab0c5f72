"""Savov et al. §5.3 on the comparison's runs: does the joint model's gain over the reference grow with
pose and expression extremeness?

Each test face gets the 3D subnet's pose and expression extremeness (:mod:`agelab.evaluation.extremeness`:
max |ω_i| and ‖δ‖₂; on the synthetic set also those of its rendering parameters), is paired with both
models' seed-averaged absolute errors (:func:`agelab.experiments.tables.per_image_errors`), and the faces
are cut per metric into equally sized groups with the paired test of the models' difference per group
(Figs. 3b, 4b), next to one overall paired test, sample faces per group (Figs. 3a, 4a) and the most
improved extreme faces (Fig. 5). The same groups on a cross-dataset set (never trained on) ask whether the
gain carries over to faces from another source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from agelab.evaluation.comparison_plots import group_bars, group_samples, improved_examples
from agelab.evaluation.extremeness import (
    equal_groups,
    expression_extremeness,
    group_differences,
    pose_extremeness,
)
from agelab.evaluation.reconstruction_predictions import predict_codes, rendering_truth
from agelab.evaluation.significance import compare_paired
from agelab.experiments.grid import GroupAnalysis
from agelab.experiments.tables import per_image_errors, per_seed_paired_tests, runs_by_model
from agelab.models.bundle import ModelBundle
from agelab.morphable.model import MorphableParams
from agelab.training.engine import TrainConfig

METRICS = ("pose", "expression")


def face_extremeness(recon3d: ModelBundle, faces: pd.DataFrame, config: TrainConfig) -> pd.DataFrame:
    """Per face: pose and expression extremeness from the 3D subnet's ω and δ (``pose_predicted``,
    ``expression_predicted``), and from the rendering ground truth where every face has one (the synthetic
    set: ``pose_true``, ``expression_true``)."""
    z, _ = predict_codes(recon3d, faces, config)
    params = MorphableParams.from_vector(torch.as_tensor(z))
    frame = pd.DataFrame(
        {
            "image_path": faces["image_path"].to_numpy(),
            "crop_path": faces["crop_path"].to_numpy(),
            "pose_predicted": pose_extremeness(params.omega.numpy()),
            "expression_predicted": expression_extremeness(params.delta.numpy()),
        }
    )
    truth = rendering_truth(faces)
    if truth is not None:
        frame["pose_true"] = pose_extremeness(np.stack(truth["omega"].to_numpy()))
        frame["expression_true"] = expression_extremeness(np.stack(truth["delta"].to_numpy()))
    return frame


def paired_faces(extremeness: pd.DataFrame, reference: pd.DataFrame, model: pd.DataFrame) -> pd.DataFrame:
    """One row per face both models predicted: its extremeness, and the reference's (``_ref``) and the
    joint model's (``_mod``) seed-averaged prediction and absolute error (:func:`per_image_errors`)."""
    return extremeness.merge(
        reference[["image_path", "true_age", "predicted_age", "absolute_error"]], on="image_path"
    ).merge(
        model[["image_path", "predicted_age", "absolute_error"]], on="image_path", suffixes=("_ref", "_mod")
    )


def group_tables(faces: pd.DataFrame, n_groups: int) -> pd.DataFrame:
    """§5.3: per extremeness column (``pose_predicted``, ``expression_true``, …) ``n_groups`` equally sized
    groups, least extreme first, with both models' MAE and the paired test of their difference
    (:func:`~agelab.evaluation.extremeness.group_differences`), labelled by ``metric`` and ``source``."""
    tables = []
    for column in [c for c in faces.columns if c.startswith(("pose_", "expression_"))]:
        table = group_differences(
            faces[column].to_numpy(), faces["absolute_error_ref"], faces["absolute_error_mod"], n_groups
        )
        metric, source = column.split("_")
        table.insert(0, "source", source)
        table.insert(0, "metric", metric)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def group_figures(groups: pd.DataFrame, reference: str, model: str, where: str = "") -> list[Figure]:
    """Figs. 3b and 4b: both models' MAE per pose and per expression group (the 3D subnet's estimates);
    ``where`` is appended to the metric's name (e.g. a cross-dataset set's)."""
    figures = []
    for metric in METRICS:
        table = groups[(groups["metric"] == metric) & (groups["source"] == "predicted")]
        figures.append(
            group_bars(table, metric=f"{metric} extremeness{where}", reference=reference, model=model)
        )
    return figures


def most_improved_extremes(faces: pd.DataFrame, n_groups: int, n: int) -> pd.DataFrame:
    """Fig. 5: up to ``n`` faces in the most extreme of ``n_groups`` pose or expression groups (the 3D
    subnet's estimates), largest error reduction (reference − model) first."""
    extreme = np.zeros(len(faces), bool)
    for column in ("pose_predicted", "expression_predicted"):
        extreme |= equal_groups(faces[column].to_numpy(), n_groups) == n_groups - 1
    chosen = faces[extreme].assign(gain=lambda f: f["absolute_error_ref"] - f["absolute_error_mod"])
    chosen = chosen.sort_values("gain", ascending=False).head(n)
    return pd.DataFrame(
        {
            "crop_path": chosen["crop_path"],
            "true_age": chosen["true_age"],
            "predicted_reference": chosen["predicted_age_ref"],
            "predicted_model": chosen["predicted_age_mod"],
        }
    )


def overall_paired_test(
    faces: pd.DataFrame,
    reference_runs: Sequence[pd.DataFrame],
    model_runs: Sequence[pd.DataFrame],
    seeds: Sequence[int],
) -> dict[str, Any]:
    """The paired test of the models' seed-averaged per-image errors on all ``faces``
    (:func:`~agelab.evaluation.significance.compare_paired`), with the number of images, both MAEs and
    ``per_seed``, the same test per seed (:func:`~agelab.experiments.tables.per_seed_paired_tests`)."""
    overall = compare_paired(faces["absolute_error_ref"], faces["absolute_error_mod"]).to_dict()
    overall.update(images=len(faces), mae_reference=float(faces["absolute_error_ref"].mean()))
    overall["mae_model"] = float(faces["absolute_error_mod"].mean())
    overall["per_seed"] = per_seed_paired_tests(reference_runs, model_runs, seeds)
    return overall


def extremeness_group_analysis(
    extremeness: pd.DataFrame,
    reference_runs: Sequence[pd.DataFrame],
    model_runs: Sequence[pd.DataFrame],
    analysis: GroupAnalysis,
    *,
    seeds: Sequence[int],
    load_crop: Callable[[str], np.ndarray],
) -> tuple[pd.DataFrame, dict[str, Any], list[Figure]]:
    """§5.3 on the test set: the group tables (:func:`group_tables`), the overall paired test
    (:func:`overall_paired_test`) and the figures, in order Figs. 3b, 4b (group MAEs), 3a, 4a (sample
    crops per group, from ``load_crop``) and 5 (most improved extreme faces). ``reference_runs`` and
    ``model_runs``: the test predictions of each model's seeded runs, in ``seeds`` order."""
    faces = paired_faces(
        extremeness, per_image_errors(list(reference_runs)), per_image_errors(list(model_runs))
    )
    overall = overall_paired_test(faces, reference_runs, model_runs, seeds)
    groups = group_tables(faces, analysis.groups)
    figures = group_figures(groups, analysis.reference, analysis.model)
    for metric in METRICS:
        column = f"{metric}_predicted"
        figures.append(
            group_samples(
                faces.assign(metric=faces[column]),
                equal_groups(faces[column].to_numpy(), analysis.groups),
                load_crop,
                per_group=analysis.samples_per_group,
                metric=f"{metric} extremeness",
            )
        )
    figures.append(
        improved_examples(
            most_improved_extremes(faces, analysis.groups, analysis.examples),
            load_crop,
            reference=analysis.reference,
            model=analysis.model,
        )
    )
    return groups, overall, figures


def cross_dataset_group_analysis(
    extremeness: pd.DataFrame, predictions: pd.DataFrame, analysis: GroupAnalysis, *, name: str
) -> tuple[pd.DataFrame, Figure, Figure]:
    """§5.3's pose and expression groups on the cross-dataset set ``name``: its faces' extremeness from
    the 3D subnet, both models' errors averaged over their seeds per face (``predictions`` in long format,
    columns ``variant`` and ``model``); the group tables and Figs. 3b, 4b for that set."""
    by_model = runs_by_model(predictions)
    faces = paired_faces(
        extremeness,
        per_image_errors(by_model[analysis.reference]),
        per_image_errors(by_model[analysis.model]),
    )
    groups = group_tables(faces, analysis.groups)
    pose, expression = group_figures(groups, analysis.reference, analysis.model, where=f" ({name})")
    return groups, pose, expression
