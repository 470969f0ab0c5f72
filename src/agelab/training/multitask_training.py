"""HPS and SPS (Savov et al. §3.3) trained and evaluated: their configuration (``parameters_<hps|sps>.yml``),
the network built on the pre-trained 3D subnet, Adam with L2 on the age branch and Adagrad for κ, Eq. 12's
joint objective, the best epoch by validation MAE, test-split predictions. The multitask pipeline's nodes
and the compare pipeline both call it."""

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
from agelab.evaluation.age_predictions import predict_test_ages, report_metrics
from agelab.evaluation.metrics import mean_absolute_error
from agelab.experiments.tracking import EpochLogger, log_defaults, log_training_data, training_data_name
from agelab.faces.crop_transforms import AugmentConfig
from agelab.losses.age import expected_age
from agelab.losses.multitask import MultiTaskObjective
from agelab.losses.reconstruction import FitObjective, FitWeights
from agelab.models.bundle import ModelBundle
from agelab.models.multitask import STITCH_NAMES, BothOutputs, hps_net, sps_net
from agelab.morphable.camera import Camera
from agelab.morphable.choice import MorphableModelConfig, load_morphable_model
from agelab.training.checkpoints import data_digest, file_digest, state_digest, training_fingerprint
from agelab.training.engine import TrainConfig, fit, seed_everything
from agelab.training.optimizers import CompositeOptimizer, adam
from agelab.training.reconstruction_data import (
    FaceReconstructionDataset,
    landmark_weights,
    split_with_landmarks,
)

logger = logging.getLogger(__name__)


SHARING = ("hps", "sps")


@dataclasses.dataclass(frozen=True)
class MultiTaskModelConfig:
    min_age: int = 0
    max_age: int = 80
    kappa_same: float = 0.5  # SPS: κ_AA = κ_BB at initialisation, κ_AB = κ_BA = 1 − κ_AA
    dropout: float = 0.5  # AlexNet fc6/fc7 dropout of the age branch (SPS)
    age_dropout: float = 0.5  # dropout on the final age layer (the paper: 0.7)
    pretrained_weights: str | None = None  # torchvision AlexNet state dict for the age branch (SPS)
    age_branch_init: str = (
        "recon3d"  # SPS, without pretrained_weights: recon3d (the 3D subnet's AlexNet) | random
    )


@dataclasses.dataclass(frozen=True)
class MultiTaskConfig:
    """``parameters_<hps|sps>.yml``."""

    sharing: str = "sps"
    model: MultiTaskModelConfig = dataclasses.field(default_factory=MultiTaskModelConfig)
    w: float | None = 0.3  # Eq. 12: weight of the age loss (the paper's best for HPS); None: L_fit + L_dist
    lambda_dist: float = 0.2  # Eq. 11
    age_l2: float = 1e-5  # L2 regularisation, on the age branch only
    kappa_learning_rate: float = 0.01  # Adagrad, for κ only
    kappa_lr_decay: bool = False  # true: κ's rate follows the training schedule's step decay too
    loss: FitWeights = dataclasses.field(default_factory=FitWeights)
    landmark_faces: str = "detected"
    # the appearance subnet's policy (conf/base/globals.yml: augment), so the models compared share it
    augment: AugmentConfig = dataclasses.field(default_factory=AugmentConfig)
    training: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    show_progress: bool = True


def multitask_config(params: dict[str, Any]) -> MultiTaskConfig:
    """``parameters_<hps|sps>.yml``, checked (unknown keys and sharing modes refused)."""
    config = from_mapping(MultiTaskConfig, params, where="multi-task parameters")
    if config.sharing not in SHARING:
        raise ConfigError(f"sharing is '{config.sharing}'; choose one of {SHARING}")
    return config


def _build(config: MultiTaskConfig, recon3d: ModelBundle) -> torch.nn.Module:
    kwargs = _architecture_kwargs(config, recon3d)
    net = sps_net(**kwargs) if config.sharing == "sps" else hps_net(**kwargs)
    branch = net.branch_a if config.sharing == "sps" else net.recon3d
    branch.load_state_dict(recon3d.state_dict)  # the pre-trained 3D subnet (§5.2)
    if config.sharing == "sps" and not config.model.pretrained_weights:
        if config.model.age_branch_init == "recon3d":
            # the paper starts B from ImageNet weights; without them, the face-trained AlexNet of the
            # 3D subnet is the nearest pre-trained start (random init learns age far slower)
            net.branch_b.backbone.load_state_dict(net.branch_a.backbone.state_dict())
        elif config.model.age_branch_init != "random":
            raise ConfigError(
                f"model.age_branch_init is '{config.model.age_branch_init}'; choose 'recon3d' or 'random'"
            )
    return net


def _architecture_kwargs(config: MultiTaskConfig, recon3d: ModelBundle) -> dict[str, Any]:
    m = config.model
    kwargs: dict[str, Any] = {
        "min_age": m.min_age,
        "max_age": m.max_age,
        "recon3d": recon3d.kwargs,
        "age_dropout": m.age_dropout,
        "pretrained_weights": m.pretrained_weights,
    }
    if config.sharing == "sps":
        kwargs.update(kappa_same=m.kappa_same, dropout=m.dropout)
    return kwargs


def make_optimizer(net: torch.nn.Module, config: MultiTaskConfig) -> CompositeOptimizer:
    """Adam for the network with L2 on the age branch only; Adagrad for κ (SPS)."""
    age = {id(p) for p in net.age_parameters()}
    kappa = {id(p) for p in net.kappa_parameters()}
    rest = [p for p in net.parameters() if id(p) not in age and id(p) not in kappa]
    network = adam(
        [
            {"params": rest, "weight_decay": 0.0},
            {"params": net.age_parameters(), "weight_decay": config.age_l2},
        ],
        lr=config.training.learning_rate,
    )
    optimizers: list[torch.optim.Optimizer] = [network]
    if kappa:
        adagrad = torch.optim.Adagrad(net.kappa_parameters(), lr=config.kappa_learning_rate)
        for group in adagrad.param_groups:  # the age/3D schedule's decay reaches κ only if configured
            group["constant_lr"] = not config.kappa_lr_decay
        optimizers.append(adagrad)
    return CompositeOptimizer(optimizers)


def train_multitask_model(
    model_input: pd.DataFrame,
    recon3d: ModelBundle,
    checkpoint_dir: Path,
    data_params: dict[str, Any],
    recon3d_params: dict[str, Any],
    params: dict[str, Any],
) -> tuple[ModelBundle, list[dict]]:
    """Train HPS or SPS from the pre-trained 3D subnet on Eq. 12; best epoch by validation MAE."""
    config = multitask_config(params)
    log_defaults(config.sharing, config, params)
    morphable = load_morphable_model(
        from_mapping(MorphableModelConfig, recon3d_params.get("morphable_model"), where="recon3d")
    )
    if morphable.name != recon3d.info.get("morphable_model"):
        raise ConfigError(
            f"the 3D subnet was trained with {recon3d.info.get('morphable_model')}, "
            f"recon3d.morphable_model now gives {morphable.name}: re-run the recon3d pipeline"
        )
    camera = Camera.for_image(recon3d.image_size, recon3d.info.get("focal_per_size", 5.0))
    train_faces, val_faces = (
        split_with_landmarks(model_input, "train"),
        split_with_landmarks(model_input, "val"),
    )
    log_training_data(train_faces, training_data_name(data_params, "train"))
    sizes = {"crop_size": recon3d.crop_size, "image_size": recon3d.image_size}
    train_set = FaceReconstructionDataset(
        train_faces,
        augment=config.augment,
        landmark_weights=landmark_weights(train_faces, config.landmark_faces),
        **sizes,
    )
    val_set = FaceReconstructionDataset(val_faces, **sizes)
    seed_everything(config.training.seed)  # the initial weights too: a run is reproducible from its settings
    net = _build(config, recon3d)
    m = config.model
    objective = MultiTaskObjective(
        FitObjective(morphable, camera, config.loss),
        w=config.w,
        min_age=m.min_age,
        lambda_dist=config.lambda_dist,
    )
    fingerprint = training_fingerprint(
        data_digest(model_input),
        dataclasses.asdict(config),
        initial_weights={
            "recon3d": state_digest(recon3d.state_dict),
            "age_branch": file_digest(config.model.pretrained_weights),
        },
    )
    log = EpochLogger(config.sharing, "val_mae", partial(_epoch_terms, net, objective))
    result = fit(
        BothOutputs(net),
        objective,
        lambda wrapped, images: expected_age(wrapped(images)[0], m.min_age),
        mean_absolute_error,
        train_set,
        val_set,
        config.training,
        checkpoint_dir=checkpoint_dir,
        fingerprint=fingerprint,
        age_groups=train_faces["age_group"].tolist(),
        make_optimizer=lambda wrapped, _: make_optimizer(wrapped.net, config),
        on_epoch_end=log,
        show_progress=config.show_progress,
        target_key="age",
    )
    kwargs = _architecture_kwargs(config, recon3d)
    kwargs["pretrained_weights"] = None  # the weights are in the bundle
    bundle = ModelBundle(
        architecture=f"{config.sharing}_net",
        kwargs=kwargs,
        state_dict={k: v.detach().cpu() for k, v in net.state_dict().items()},
        crop_size=recon3d.crop_size,
        crop_margin=recon3d.crop_margin,
        image_size=recon3d.image_size,
        info={
            "sharing": config.sharing,
            "best_epoch": result.best_epoch,
            "best_val_mae": result.best_metric,
            "morphable_model": morphable.name,
            "device": str(resolve_device(config.training.device)),
            "datasets": data_params.get("datasets", []),
        },
    )
    log.replay(result.history, result.resumed_from_epoch)
    return bundle, result.history


def _epoch_terms(net: torch.nn.Module, objective: MultiTaskObjective) -> dict[str, float]:
    """Per epoch, into the history and MLflow: the running means of the loss terms and every κ entry."""
    terms = {f"train_{k}": v for k, v in objective.take_running_means().items()}
    for i, stitch in enumerate(getattr(net, "stitches", [])):
        k = stitch.kappa.detach().cpu()
        terms.update({f"kappa{i}_{n}": float(k[r, c]) for n, (r, c) in _KAPPA_ENTRIES.items()})
    return terms


_KAPPA_ENTRIES = {"aa": (0, 0), "ab": (0, 1), "ba": (1, 0), "bb": (1, 1)}


def evaluate_multitask_model(
    bundle: ModelBundle, model_input: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict, dict]:
    config = multitask_config(params)
    test_faces = model_input[model_input["split"] == "test"]
    train_ages = model_input.loc[model_input["split"] == "train", "age"].to_numpy()
    predictions, report = predict_test_ages(bundle, test_faces, train_ages, config.training)
    if config.sharing == "sps":
        report["kappa"] = final_kappas(bundle)
    logger.info(
        "%s: test MAE %.2f (median baseline %.2f)",
        config.sharing.upper(),
        report["mae"],
        report["median_baseline_mae"],
    )
    return predictions, report, report_metrics(report)


def final_kappas(bundle: ModelBundle) -> dict[str, Any]:
    """κ of the trained model, by stitch position (for the report)."""
    kappas = {}
    for key, value in bundle.state_dict.items():
        if key.startswith("stitches.") and key.endswith(".kappa"):
            i = int(key.split(".")[1])
            kappas[STITCH_NAMES[i]] = np.round(value.numpy(), 4).tolist()
    return kappas
