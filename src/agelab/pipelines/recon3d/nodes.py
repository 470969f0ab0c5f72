"""Thin nodes over :mod:`agelab.training.reconstruction_training`: train and evaluate the 3D subnet, score
it on cross-dataset sets with annotated landmarks, plot the fits."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from agelab.config import ConfigError
from agelab.evaluation.plots import learning_curves, reconstruction_overlays
from agelab.evaluation.reconstruction import (
    normalised_landmark_errors,
    omega_to_euler_degrees,
    yaw_bins,
)
from agelab.evaluation.reconstruction_predictions import predict_codes
from agelab.faces.landmark_schemes import correspondence_for
from agelab.models.bundle import ModelBundle
from agelab.morphable.camera import Camera
from agelab.morphable.choice import load_morphable_model
from agelab.morphable.model import MorphableParams
from agelab.preprocessing.cross_dataset import cross_dataset_parameters
from agelab.training.reconstruction_data import (
    FaceReconstructionDataset,
    crop_landmarks,
    has_landmarks,
    split_with_landmarks,
)
from agelab.training.reconstruction_training import (
    bundle_morphable_model,
    evaluate_recon3d_subnet,
    fit_landmarks,
    flat_metrics,
    formation_numpy,
    recon3d_config,
    train_recon3d_subnet,
)

logger = logging.getLogger(__name__)

__all__ = [
    "cross_dataset_data_parameters",
    "evaluate_recon3d_cross_dataset",
    "evaluate_recon3d_subnet",
    "plot_recon3d",
    "plot_recon3d_cross_dataset",
    "train_recon3d_subnet",
]


def cross_dataset_data_parameters(data_params: dict[str, Any], params: dict[str, Any], *, name: str) -> dict:
    """``data`` settings of the cross-dataset set ``name`` (:func:`cross_dataset_parameters`)."""
    overrides = recon3d_config(params).cross_datasets[name]
    return cross_dataset_parameters(data_params, overrides, where=f"recon3d.cross_datasets.{name}")


def _annotated_errors(
    faces: pd.DataFrame, annotated: np.ndarray, predicted: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Normalised errors per face of each ``predicted`` set (iBUG 68) against the faces' ``annotated``
    points, each face through its dataset's markup (:func:`correspondence_for`)."""
    errors = {who: np.zeros(len(faces)) for who in predicted}
    datasets = faces["dataset"].to_numpy()
    for dataset in np.unique(datasets):
        rows = datasets == dataset
        scheme = correspondence_for(str(dataset))
        for who, points in predicted.items():
            errors[who][rows] = normalised_landmark_errors(points[rows], annotated[rows], scheme)
    return errors


def evaluate_recon3d_cross_dataset(
    bundle: ModelBundle, test_faces: pd.DataFrame, params: dict[str, Any], *, name: str
) -> tuple[pd.DataFrame, dict, dict]:
    """The 3D subnet's landmarks against a set's hand-annotated points (FG-NET's), never trained on: the
    normalised mean error over the points the set's markup shares with iBUG's 68
    (:mod:`agelab.faces.landmark_schemes`; 22 for FG-NET), divided by the annotated outer-eye-corner
    distance, beside dlib's landmarks and the mean face."""
    config = recon3d_config(params)
    morphable = bundle_morphable_model(bundle, config)
    faces = test_faces[has_landmarks(test_faces, "landmarks_68") & has_landmarks(test_faces, "landmarks")]
    if faces.empty:
        raise ConfigError(
            f"recon3d.cross_datasets.{name}: no face has both annotated 68-point landmarks and dlib's; "
            "the landmark check needs a dataset that ships its points (FG-NET's .pts, the synthetic set)"
        )
    z, dlib_landmarks, projected, baseline = fit_landmarks(bundle, faces, config, morphable)
    annotated = crop_landmarks(faces, "landmarks", bundle.crop_size, bundle.image_size, dlib=False)
    errors = _annotated_errors(
        faces, annotated, {"recon3d": projected, "dlib": dlib_landmarks, "mean_face": baseline}
    )
    euler = omega_to_euler_degrees(MorphableParams.from_vector(torch.as_tensor(z)).omega.numpy())
    predictions = pd.DataFrame(
        {
            "image_path": faces["image_path"].to_numpy(),
            "crop_path": faces["crop_path"].to_numpy(),
            "dataset": faces["dataset"].to_numpy(),
            "age": faces["age"].to_numpy(),
            "yaw": euler[:, 0],
            "pitch": euler[:, 1],
            "roll": euler[:, 2],
            **{f"nme_{who}": e for who, e in errors.items()},
        }
    )
    schemes = {correspondence_for(str(d)) for d in predictions["dataset"].unique()}
    report = {
        "dataset": name,
        "faces": len(faces),
        "faces_without_annotation": int(len(test_faces) - len(faces)),
        "markups": {s.name: len(s.ibug) for s in sorted(schemes, key=lambda s: s.name)},
        "normaliser": "distance between the annotated outer eye corners",
        **{f"nme_{who}": float(e.mean()) for who, e in errors.items()},
        **{f"nme_{who}_median": float(np.median(e)) for who, e in errors.items()},
        "recon3d_beats_mean_face": float((errors["recon3d"] < errors["mean_face"]).mean()),
        "by_abs_yaw": {
            label: {
                "faces": int(part.sum()),
                **{f"nme_{who}": float(e[part].mean()) for who, e in errors.items()},
            }
            for label, part in yaw_bins(euler[:, 0]).items()  # the fit's yaw: no pose ground truth here
            if part.any()
        },
        "input_size_px": bundle.image_size,
    }
    logger.info(
        "3D subnet on %s's annotated landmarks (%d faces): NME %.3f (dlib %.3f, mean face %.3f)",
        name,
        len(faces),
        report["nme_recon3d"],
        report["nme_dlib"],
        report["nme_mean_face"],
    )
    return predictions, report, flat_metrics(report, f"{name}_")


def plot_recon3d_cross_dataset(
    bundle: ModelBundle,
    test_faces: pd.DataFrame,
    predictions: pd.DataFrame,
    params: dict[str, Any],
    *,
    name: str,
) -> Figure:
    """Fig. 2-style overlays on faces of a set never trained on, from the fit's best to its worst (by
    normalised error), with the annotated, fitted and dlib landmarks drawn on each face."""
    config = recon3d_config(params)
    morphable = bundle_morphable_model(bundle, config)
    camera = Camera.for_image(bundle.image_size, bundle.info.get("focal_per_size", config.focal_per_size))
    ranked = predictions.sort_values("nme_recon3d")
    count = min(config.overlay_faces, len(ranked))
    chosen = ranked.iloc[np.linspace(0, len(ranked) - 1, count).astype(int)]
    faces = test_faces.set_index("crop_path").loc[chosen["crop_path"]].reset_index()
    z, dlib_landmarks, projected, _ = fit_landmarks(bundle, faces, config, morphable)
    annotated = crop_landmarks(faces, "landmarks", bundle.crop_size, bundle.image_size, dlib=False)
    schemes = [correspondence_for(str(d)) for d in faces["dataset"]]
    crops = FaceReconstructionDataset(faces, crop_size=bundle.crop_size, image_size=bundle.image_size)
    start, end = crops.start, crops.start + bundle.image_size
    images = [crops.crops.image(i)[:, start:end, start:end].permute(1, 2, 0).numpy() for i in range(count)]
    pixels, depths, colours = formation_numpy(morphable, z, camera)
    return reconstruction_overlays(
        images,
        pixels,
        depths,
        colours,
        morphable.triangles.numpy(),
        titles=[f"age {row.age:.0f}, NME {row.nme_recon3d:.3f}" for row in chosen.itertuples()],
        title=f"3D subnet on {name} (never trained on), best to worst fit",
        landmarks={  # the points the set's markup shares with iBUG's, per face
            "annotated": [a[list(m.annotated)] for a, m in zip(annotated, schemes, strict=True)],
            "3D fit": [p[list(m.ibug)] for p, m in zip(projected, schemes, strict=True)],
            "dlib": [d[list(m.ibug)] for d, m in zip(dlib_landmarks, schemes, strict=True)],
        },
    )


def plot_recon3d(
    bundle: ModelBundle,
    model_input: pd.DataFrame,
    predictions: pd.DataFrame,
    history: list[dict],
    params: dict[str, Any],
) -> tuple[Figure, Figure]:
    """Fig. 2-style overlays for test faces spread over the predicted yaw, and the learning curves."""
    config = recon3d_config(params)
    morphable = load_morphable_model(config.morphable_model)
    camera = Camera.for_image(bundle.image_size, bundle.info.get("focal_per_size", config.focal_per_size))
    count = min(config.overlay_faces, len(predictions))
    by_yaw = predictions.sort_values("yaw")
    chosen = by_yaw["crop_path"].iloc[np.linspace(0, len(by_yaw) - 1, count).astype(int)].tolist()
    faces = split_with_landmarks(model_input, "test").set_index("crop_path").loc[chosen].reset_index()
    z, _ = predict_codes(bundle, faces, config.training)
    crops = FaceReconstructionDataset(faces, crop_size=bundle.crop_size, image_size=bundle.image_size)
    start, end = crops.start, crops.start + bundle.image_size
    images = [crops.crops.image(i)[:, start:end, start:end].permute(1, 2, 0).numpy() for i in range(count)]
    pixels, depths, colours = formation_numpy(morphable, z, camera)
    stand_in = " (built-in stand-in for BFM 2017)" if morphable.name == "procedural" else ""
    overlay = reconstruction_overlays(
        images,
        pixels,
        depths,
        colours,
        morphable.triangles.numpy(),
        titles=[f"yaw {y:+.0f}°" for y in by_yaw.set_index("crop_path").loc[chosen, "yaw"]],
        title=f"3D subnet reconstructions on test faces{stand_in}",
    )
    return overlay, learning_curves(history, metric_name="validation landmark error (px)")
