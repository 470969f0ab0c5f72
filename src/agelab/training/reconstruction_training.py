"""The 3D face reconstruction subnet (Savov et al. §3.1) trained and evaluated: its configuration
(``parameters_recon3d.yml``), self-supervised training on Eq. 6 (landmarks, photometric L2,1, Tikhonov),
the best epoch by validation landmark error, and its test-split evaluation (landmark error, photometric
error, pose and expression estimates; on the synthetic set, against the rendering truth)."""

from __future__ import annotations

import dataclasses
import logging
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from agelab.config import ConfigError, from_mapping
from agelab.device import resolve_device
from agelab.evaluation.reconstruction import (
    expression_correlations,
    landmark_errors,
    omega_to_euler_degrees,
    pose_errors,
    pose_report,
)
from agelab.evaluation.reconstruction_predictions import predict_codes, rendering_truth
from agelab.experiments.tracking import EpochLogger, log_defaults, log_training_data, training_data_name
from agelab.faces.crop_transforms import AugmentConfig
from agelab.faces.detection import LANDMARKS_48
from agelab.losses.reconstruction import FitObjective, FitWeights
from agelab.models.bundle import ModelBundle
from agelab.models.recon3d import recon3d_subnet
from agelab.morphable.camera import HEAD_TO_CAMERA, Camera
from agelab.morphable.choice import MorphableModelConfig, load_morphable_model
from agelab.morphable.fitting import place_mean_face
from agelab.morphable.image_formation import form_image
from agelab.morphable.model import MorphableModel, MorphableParams
from agelab.morphable.procedural import EXPRESSION_NAMES
from agelab.preprocessing.cross_dataset import check_cross_evaluate
from agelab.training.checkpoints import data_digest, file_digest, training_fingerprint
from agelab.training.engine import TrainConfig, fit, seed_everything
from agelab.training.reconstruction_data import (
    FaceReconstructionDataset,
    crop_landmarks,
    landmark_weights,
    split_with_landmarks,
)

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Recon3DModelConfig:
    pretrained_weights: str | None = None  # a torchvision AlexNet state dict you hold
    dropout: float = 0.0  # AlexNet fc6/fc7 dropout
    ambient: float = 0.8  # initial white ambient light (constant SH band)
    init_std: float = 1e-3  # initial weights of the z layer: predictions start at the mean face


@dataclasses.dataclass(frozen=True)
class Recon3DConfig:
    """``parameters_recon3d.yml: recon3d``."""

    morphable_model: MorphableModelConfig = dataclasses.field(default_factory=MorphableModelConfig)
    model: Recon3DModelConfig = dataclasses.field(default_factory=Recon3DModelConfig)
    loss: FitWeights = dataclasses.field(default_factory=FitWeights)
    image_size: int = 112
    focal_per_size: float = 5.0  # nominal pinhole focal length, in units of the input size
    flip: bool = True  # mirror training faces (landmarks mirrored with them)
    rigid_epochs: int = 2  # first epochs fit pose and light on the mean shape (identity, expression at 0)
    landmark_faces: str = "detected"  # detected: landmark term only where dlib's detector found the face
    # the 3D subnet learns no age: its batches are shuffled, not alternated over age groups (§4)
    training: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(alternate_age_groups=False))
    overlay_faces: int = 8  # faces in the Fig. 2 overlay
    # sets with hand-annotated 68-point landmarks the trained subnet is checked against (conf/real: [fgnet]);
    # names of cross_datasets (conf/base/globals.yml)
    cross_evaluate: tuple[str, ...] = ()
    cross_datasets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    show_progress: bool = True

    def __post_init__(self) -> None:
        check_cross_evaluate(self.cross_evaluate, self.cross_datasets, where="recon3d")

    def training_settings(self) -> dict[str, Any]:
        """Every setting that changes what training learns: all but :data:`EVALUATION_ONLY`."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in EVALUATION_ONLY}


#: settings that act after training (evaluation only): changing them keeps a run's checkpoints
EVALUATION_ONLY = ("cross_evaluate", "cross_datasets")


def recon3d_config(params: dict[str, Any]) -> Recon3DConfig:
    return from_mapping(Recon3DConfig, params, where="recon3d")


def _crop_size(data_params: dict[str, Any]) -> int:
    return int(data_params.get("processing", {}).get("crop_size", 128))


def _camera(config: Recon3DConfig) -> Camera:
    return Camera.for_image(config.image_size, config.focal_per_size)


def train_recon3d_subnet(
    model_input: pd.DataFrame, checkpoint_dir: Path, data_params: dict[str, Any], params: dict[str, Any]
) -> tuple[ModelBundle, list[dict]]:
    """Pre-train the 3D subnet on L_fit (Eq. 6) with dlib landmarks; keep the epoch with the lowest
    validation landmark error; checkpoint every epoch."""
    config = recon3d_config(params)
    log_defaults("recon3d", config, params)
    crop_size = _crop_size(data_params)
    morphable = load_morphable_model(config.morphable_model)
    camera = _camera(config)
    train_faces, val_faces = (
        split_with_landmarks(model_input, "train"),
        split_with_landmarks(model_input, "val"),
    )
    log_training_data(train_faces, training_data_name(data_params, "train"))
    train_set = FaceReconstructionDataset(
        train_faces,
        crop_size=crop_size,
        image_size=config.image_size,
        augment=AugmentConfig(flip=config.flip, random_crop=False, colour_jitter=0.0),
        landmark_weights=landmark_weights(train_faces, config.landmark_faces),
    )
    val_set = FaceReconstructionDataset(val_faces, crop_size=crop_size, image_size=config.image_size)
    # the mean face placed where the average training face is: the subnet's starting face centre
    centre = morphable.mean_shape[morphable.landmark_indices[list(LANDMARKS_48)]].mean(0)
    tau = place_mean_face(morphable, camera, train_set.landmarks).mean(0)
    translation = tau + centre * HEAD_TO_CAMERA
    kwargs = {
        **dataclasses.asdict(config.model),
        "translation": [round(float(t), 3) for t in translation],
        "rotation_centre": [round(float(c), 3) for c in centre],
    }
    seed_everything(config.training.seed)  # the initial weights too: a run is reproducible from its settings
    model = recon3d_subnet(**kwargs)
    objective = FitObjective(morphable, camera, config.loss)
    fingerprint = training_fingerprint(
        data_digest(model_input),
        {
            **config.training_settings(),
            "model": kwargs,
            "morphable_model": {"name": morphable.name, "vertices": morphable.n_vertices},
            "crop_size": crop_size,
        },
        initial_weights={"backbone": file_digest(config.model.pretrained_weights)},
    )
    log = EpochLogger("recon3d", "val_landmark_error_px", partial(_loss_terms, objective))
    result = fit(
        model,
        objective,
        lambda net, images: objective.project_landmarks(net(images)),
        lambda predicted, target: float(landmark_errors(predicted, target).mean()),
        train_set,
        val_set,
        config.training,
        checkpoint_dir=checkpoint_dir,
        fingerprint=fingerprint,
        on_epoch_end=log,
        on_epoch_start=lambda epoch: setattr(objective, "rigid", epoch < config.rigid_epochs),
        show_progress=config.show_progress,
        target_key="landmarks",
    )
    if result.resumed_from_epoch is not None:
        objective.take_running_means()  # nothing trained this run before the resumed epoch
    log.replay(result.history, result.resumed_from_epoch)
    bundle = ModelBundle(
        architecture="recon3d_subnet",
        kwargs=kwargs,
        state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()},
        crop_size=crop_size,
        crop_margin=float(data_params.get("processing", {}).get("crop_margin", 0.2)),
        image_size=config.image_size,
        info={
            "morphable_model": morphable.name,
            "morphable_vertices": morphable.n_vertices,
            "focal_per_size": config.focal_per_size,
            "best_epoch": result.best_epoch,
            "best_val_landmark_error_px": result.best_metric,
            "device": str(resolve_device(config.training.device)),
            "datasets": data_params.get("datasets", []),
        },
    )
    return bundle, result.history


def _loss_terms(objective: FitObjective) -> dict[str, float]:
    """Per epoch: the running means of Eq. 6's terms (the total is the engine's train_loss)."""
    return {f"train_{k}": v for k, v in objective.take_running_means().items() if k != "total"}


def _predict(
    bundle: ModelBundle, faces: pd.DataFrame, config: Recon3DConfig
) -> tuple[np.ndarray, np.ndarray]:
    return predict_codes(bundle, faces, config.training)


def bundle_morphable_model(bundle: ModelBundle, config: Recon3DConfig) -> MorphableModel:
    morphable = load_morphable_model(config.morphable_model)
    if morphable.name != bundle.info.get("morphable_model"):
        raise ConfigError(
            f"the 3D subnet was trained with the {bundle.info.get('morphable_model')} morphable model, "
            f"recon3d.morphable_model now gives {morphable.name}"
        )
    return morphable


def fit_landmarks(
    bundle: ModelBundle, faces: pd.DataFrame, config: Recon3DConfig, morphable: MorphableModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Codes z, dlib's landmarks, the fit's projected landmarks and the mean face's (placed where the
    training faces are on average), all ``(F, 68, 2)`` in the network input's pixels."""
    camera = Camera.for_image(bundle.image_size, bundle.info.get("focal_per_size", config.focal_per_size))
    z, dlib_landmarks = _predict(bundle, faces, config)
    with torch.no_grad():
        projected = form_image(
            morphable, MorphableParams.from_vector(torch.as_tensor(z)), camera
        ).landmarks.numpy()
        untrained = recon3d_subnet(**bundle.kwargs)
        mean_face = untrained.decode(torch.zeros(len(z), untrained.z_offset.numel()))
        baseline = form_image(morphable, MorphableParams.from_vector(mean_face), camera).landmarks.numpy()
    return z, dlib_landmarks, projected, baseline


def formation_numpy(morphable: MorphableModel, z: np.ndarray, camera: Camera, chunk: int = 64):
    pixels, depths, colours = [], [], []
    with torch.no_grad():
        for start in range(0, len(z), chunk):
            f = form_image(
                morphable, MorphableParams.from_vector(torch.as_tensor(z[start : start + chunk])), camera
            )
            pixels.append(f.pixels.numpy())
            depths.append(f.points_camera[..., 2].numpy())
            colours.append(f.colours.numpy())
    return np.concatenate(pixels), np.concatenate(depths), np.concatenate(colours)


def evaluate_recon3d_subnet(
    bundle: ModelBundle, model_input: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict, dict]:
    """Test-split landmark reprojection error (vs dlib; vs ground truth where known), pose error and
    expression correlation against the synthetic ground truth, each beside its mean-prediction baseline."""
    config = recon3d_config(params)
    morphable = bundle_morphable_model(bundle, config)
    test_faces = split_with_landmarks(model_input, "test")
    z, dlib_landmarks, projected, baseline_landmarks = fit_landmarks(bundle, test_faces, config, morphable)
    params_pred = MorphableParams.from_vector(torch.as_tensor(z))
    dlib_error = landmark_errors(projected, dlib_landmarks)
    report: dict[str, Any] = {
        "faces": len(test_faces),
        "morphable_model": morphable.name,
        "stand_in_model": morphable.name == "procedural",
        "landmark_error_vs_dlib_px": float(dlib_error.mean()),
        "mean_face_landmark_error_vs_dlib_px": float(
            landmark_errors(baseline_landmarks, dlib_landmarks).mean()
        ),
        "input_size_px": bundle.image_size,
    }
    euler = omega_to_euler_degrees(params_pred.omega.numpy())
    predictions = pd.DataFrame(
        {
            "image_path": test_faces["image_path"].to_numpy(),
            "crop_path": test_faces["crop_path"].to_numpy(),
            "yaw": euler[:, 0],
            "pitch": euler[:, 1],
            "roll": euler[:, 2],
            "landmark_error_vs_dlib_px": dlib_error,
        }
    )
    for i, name in enumerate(EXPRESSION_NAMES):
        predictions[f"expr_{name}"] = params_pred.delta[:, i].numpy()

    truth = rendering_truth(test_faces)
    train_truth = rendering_truth(split_with_landmarks(model_input, "train"))
    if truth is not None and train_truth is not None:
        true_landmarks = crop_landmarks(
            test_faces, "landmarks", bundle.crop_size, bundle.image_size, dlib=False
        )
        true_omega = np.stack(truth["omega"].to_numpy())
        true_delta = np.stack(truth["delta"].to_numpy())
        pose = pose_report(
            params_pred.omega.numpy(),
            true_omega,
            np.stack(train_truth["omega"].to_numpy()),
            truth["yaw"].to_numpy(),
        )
        true_error = landmark_errors(projected, true_landmarks)
        predictions["true_yaw"] = truth["yaw"].to_numpy()
        predictions["pose_error_deg"] = pose_errors(params_pred.omega.numpy(), true_omega)
        predictions["landmark_error_vs_truth_px"] = true_error
        correlations = expression_correlations(params_pred.delta.numpy(), true_delta, list(EXPRESSION_NAMES))
        report.update(
            {
                **pose,
                "landmark_error_vs_truth_px": float(true_error.mean()),
                "dlib_landmark_error_vs_truth_px": float(
                    landmark_errors(dlib_landmarks, true_landmarks).mean()
                ),
                "mean_face_landmark_error_vs_truth_px": float(
                    landmark_errors(baseline_landmarks, true_landmarks).mean()
                ),
                "expression_correlation": correlations,
                "expression_correlation_mean": float(np.nanmean(list(correlations.values()))),
            }
        )
        logger.info(
            "3D subnet: pose error %.1f° (mean-pose baseline %.1f°), "
            "landmark error %.2f px (mean face %.2f px)",
            report["pose_error_deg"],
            report["mean_pose_baseline_deg"],
            report["landmark_error_vs_truth_px"],
            report["mean_face_landmark_error_vs_truth_px"],
        )
    else:
        logger.info(
            "3D subnet: landmark error vs dlib %.2f px (mean face %.2f px); no pose ground truth here",
            report["landmark_error_vs_dlib_px"],
            report["mean_face_landmark_error_vs_dlib_px"],
        )
    return predictions, report, flat_metrics(report, "test_")


def flat_metrics(report: dict, prefix: str) -> dict[str, dict[str, float]]:
    """Every number of the report as an MLflow metric; nested entries joined by dots
    (``test_by_abs_yaw.15-30.pose_error_deg``, ``test_expression_correlation.smile``)."""
    metrics = {}
    for key, value in report.items():
        if isinstance(value, dict):
            metrics.update(flat_metrics(value, f"{prefix}{key}."))
        elif isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value):
            metrics[f"{prefix}{key}"] = {"value": float(value), "step": 0}
    return metrics
