"""The appearance subnet (Savov et al. §3.2) trained and evaluated: its configuration
(``parameters_appearance.yml``), Eq. 11's loss over the ages m..M, the best epoch by validation MAE, the
age-interval temperature, test-split predictions. The appearance pipeline's nodes and the compare
pipeline both call it."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from agelab.config import ConfigError, from_mapping
from agelab.device import resolve_device
from agelab.evaluation.age_predictions import age_log_probabilities, predict_test_ages, report_metrics
from agelab.evaluation.metrics import mean_absolute_error
from agelab.experiments.tracking import EpochLogger, log_defaults, log_training_data, training_data_name
from agelab.faces.crop_transforms import AugmentConfig, build_transform
from agelab.losses.age import age_distance_loss, expected_age
from agelab.models.age_distribution import fit_temperature
from agelab.models.alexnet import appearance_subnet
from agelab.models.bundle import ModelBundle
from agelab.preprocessing.cross_dataset import check_cross_evaluate
from agelab.training.checkpoints import data_digest, file_digest, training_fingerprint
from agelab.training.data import FaceCropDataset
from agelab.training.engine import TrainConfig, fit, seed_everything

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class AppearanceModelConfig:
    min_age: int = 0
    max_age: int = 80
    pretrained_weights: str | None = None
    dropout: float = 0.5
    head_dropout: float = 0.0
    backbone: str = "alexnet"  # the paper's; or resnet18, resnet34, mobilenet_v3_large, mobilenet_v3_small


@dataclasses.dataclass(frozen=True)
class AppearanceConfig:
    """``parameters_appearance.yml: appearance``."""

    model: AppearanceModelConfig = dataclasses.field(default_factory=AppearanceModelConfig)
    lambda_dist: float = 0.2
    label_sigma: float = 0.0  # > 0: DLDL's Gaussian label distribution instead of Eq. 11's one-hot ỹ
    image_size: int = 112
    augment: AugmentConfig = dataclasses.field(default_factory=AugmentConfig)
    training: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    test_time_flip: bool = False  # average each face's and its mirror's age distributions
    calibrate_intervals: bool = True  # fit the age intervals' temperature on the validation split
    # datasets never trained on, scored after training (e.g. [fgnet]): names of cross_datasets
    cross_evaluate: tuple[str, ...] = ()
    cross_datasets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # name -> data keys
    show_progress: bool = True

    def __post_init__(self) -> None:
        check_cross_evaluate(self.cross_evaluate, self.cross_datasets, where="appearance")
        if self.label_sigma < 0:
            raise ConfigError(
                f"appearance.label_sigma must be 0 (one-hot) or positive, got {self.label_sigma}"
            )

    def training_settings(self) -> dict[str, Any]:
        """Every setting that changes what training learns: all but :data:`EVALUATION_ONLY`, which act after
        training (flip averaging, interval calibration, cross-dataset scoring) and so keep a run's
        checkpoints."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in EVALUATION_ONLY}


#: settings that act after training (evaluation only): changing them keeps a run's checkpoints
EVALUATION_ONLY = ("test_time_flip", "calibrate_intervals", "cross_evaluate", "cross_datasets")


def appearance_config(params: dict[str, Any]) -> AppearanceConfig:
    """``parameters_appearance.yml: appearance``, checked (unknown keys refused)."""
    return from_mapping(AppearanceConfig, params, where="appearance")


def split_faces(faces: pd.DataFrame, name: str) -> pd.DataFrame:
    part = faces[faces["split"] == name]
    if part.empty:
        raise ConfigError(f"model input has no '{name}' faces; check the data pipeline's split settings")
    return part


def train_appearance_subnet(
    model_input: pd.DataFrame, checkpoint_dir: Path, data_params: dict[str, Any], params: dict[str, Any]
) -> tuple[ModelBundle, list[dict]]:
    """Train the appearance subnet (Eq. 11 loss, best epoch on validation MAE), checkpointing every epoch."""
    config = appearance_config(params)
    log_defaults("appearance", config, params)
    m, big_m = config.model.min_age, config.model.max_age
    train_faces, val_faces = split_faces(model_input, "train"), split_faces(model_input, "val")
    log_training_data(train_faces, training_data_name(data_params, "train"))
    train_set = FaceCropDataset(train_faces, build_transform(config.image_size, True, config.augment))
    val_set = FaceCropDataset(val_faces, build_transform(config.image_size, False))
    seed_everything(config.training.seed)  # the initial weights too, whatever ran before in this process
    model = appearance_subnet(
        m,
        big_m,
        **{k: v for k, v in dataclasses.asdict(config.model).items() if k not in ("min_age", "max_age")},
    )
    fingerprint = training_fingerprint(
        data_digest(model_input),
        config.training_settings(),
        initial_weights={"backbone": file_digest(config.model.pretrained_weights)},
    )
    live = EpochLogger("appearance", "val_mae")
    result = fit(
        model,
        appearance_loss(config),
        partial(_predict, min_age=m),
        mean_absolute_error,
        train_set,
        val_set,
        config.training,
        checkpoint_dir=checkpoint_dir,
        fingerprint=fingerprint,
        age_groups=train_faces["age_group"].tolist(),
        on_epoch_end=live,
        show_progress=config.show_progress,
    )
    live.replay(result.history, result.resumed_from_epoch)
    processing = data_params.get("processing", {})
    bundle = ModelBundle(
        architecture="appearance_subnet",
        kwargs=dataclasses.asdict(config.model),
        state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()},
        crop_size=int(processing.get("crop_size", 128)),
        crop_margin=float(processing.get("crop_margin", 0.2)),
        crop_align=bool(processing.get("crop_align", False)),
        image_size=config.image_size,
        info={
            "best_epoch": result.best_epoch,
            "best_val_mae": result.best_metric,
            "device": str(resolve_device(config.training.device)),
            "datasets": data_params.get("datasets", []),
        },
        test_time_flip=config.test_time_flip,
    )
    if config.calibrate_intervals:
        log_probs, val_ages = age_log_probabilities(bundle, val_faces, config.training)
        bundle.temperature = fit_temperature(log_probs, val_ages, m)
        logger.info("appearance subnet: age-interval temperature %.3f (validation split)", bundle.temperature)
    return bundle, result.history


def appearance_loss(config: AppearanceConfig) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The training loss ``loss(logits, ages)`` of ``config``: Eq. 11 over its ages, its λ_dist, and its
    label distribution (``label_sigma``; 0 = the paper's one-hot)."""
    return partial(
        age_distance_loss,
        min_age=config.model.min_age,
        lambda_dist=config.lambda_dist,
        label_sigma=config.label_sigma,
    )


def _predict(model: torch.nn.Module, images: torch.Tensor, *, min_age: int) -> torch.Tensor:
    return expected_age(model(images), min_age)


def evaluate_appearance_subnet(
    bundle: ModelBundle, model_input: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict, dict]:
    """Test-split predictions (true, predicted, distribution std), the evaluation report and its
    headline numbers as MLflow metrics."""
    config = appearance_config(params)
    predictions, report = predict_test_ages(
        bundle,
        split_faces(model_input, "test"),
        split_faces(model_input, "train")["age"].to_numpy(),
        config.training,
    )
    logger.info(
        "appearance subnet: test MAE %.2f (median baseline %.2f)",
        report["mae"],
        report["median_baseline_mae"],
    )
    return predictions, report, report_metrics(report)
