"""The FOSS pipeline's configuration (``parameters_foss.yml: foss``; Yoshimura & Ogata §4.2): the detection
and group sets, the synthetic scenes, the model and image making (:mod:`agelab.training.foss_training`), the
two training stages (and the optional age pre-training on face crops), the §4.2 annotation of the
single-face age images, the evaluation protocol (K = 20 at test time) and the baselines. Kedro hands it
over as a dict; :func:`foss_config` makes it frozen dataclasses, so a misspelt key fails with its name."""

from __future__ import annotations

import dataclasses
from typing import Any

from agelab.config import ConfigError, from_mapping
from agelab.detection.holdout import HoldoutConfig
from agelab.detection.tiling import grid_for_scale
from agelab.synthetic.scenes import SceneSetConfig
from agelab.training.engine import TrainConfig
from agelab.training.foss_age_pretraining import AgePretrainingConfig
from agelab.training.foss_training import (
    ANNOTATION_LAYOUTS,
    DataConfig,
    FossModelConfig,
    FossTrainingConfig,
)

#: the embedded multi-face scenes' name in ``foss.detection_sets`` / ``foss.group_sets``
SYNTHETIC = "synthetic_scenes"


@dataclasses.dataclass(frozen=True)
class AnnotationConfig:
    """§4.2: how the trained detector boxes the single-face age images."""

    score_threshold: float = 0.2
    k: int = 20
    nms_iou: float | None = 0.5  # duplicates of one face count once (None: raw CenterNet peaks)
    # each image is shown to the detector at this fraction of each side of a black canvas (1: as it is). A
    # detector that learnt faces from group photos misses a face filling the whole picture; at 1/3 the face
    # is as large as in a 3 x 3 tiling-augmentation scene. The boxes are given in the image's own pixels.
    image_scale: float = 1.0
    # canvas: each image alone on the black canvas, one detector pass per image; grid: 1/image_scale x
    # 1/image_scale images side by side in one picture, one pass per grid (9 x fewer at 1/3), each image
    # owning the detections centred on it (agelab.detection.tiling.images_in_grid)
    layout: str = "canvas"

    def __post_init__(self) -> None:
        if not 0 < self.image_scale <= 1:
            raise ConfigError(f"foss.annotation.image_scale must be in (0, 1], got {self.image_scale}")
        if self.layout not in ANNOTATION_LAYOUTS:
            raise ConfigError(f"foss.annotation.layout must be 'canvas' or 'grid', got {self.layout!r}")
        if self.layout == "grid":
            try:
                grid_for_scale(self.image_scale)
            except ValueError as exc:
                raise ConfigError(f"foss.annotation: layout 'grid' needs image_scale 1/g: {exc}") from exc


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """§4.3–4.4: the test-time protocol."""

    k: int = 20  # paper: K = 20 age crops at test time
    detection_k: int = 100  # heatmap peaks scored by detection AP (the detector alone; not capped at K)
    nms_iou: float | None = 0.5
    single_face_age_range: tuple[float, float] = (21.0, 60.0)  # UTKFace protocol of Table 5
    # scenes of g x g single-face test images, each face scored in the scene and alone
    # (agelab.evaluation.tiled_faces); e.g. [2, 3]. () skips them
    tiled_grids: tuple[int, ...] = ()
    tiled_seed: int = 0

    def __post_init__(self) -> None:
        if any(grid < 1 for grid in self.tiled_grids):
            raise ValueError(f"foss.evaluation.tiled_grids must be 1 or more, got {list(self.tiled_grids)}")


@dataclasses.dataclass(frozen=True)
class BaselineConfig:
    """dlib's HOG detector as the two-model baseline's face finder."""

    dlib_upsample: int = 1  # small faces: dlib's HOG window is 80 px without up-sampling
    dlib_min_score: float = -0.5  # below dlib's own 0 threshold, for the precision-recall curve
    # more detectors scored beside FOSS on the same photos, "<hog|mmod>:<up-sampling>" (e.g. hog:0, mmod:0)
    extra_detectors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for spec in self.extra_detectors:
            detector_spec(spec)


def detector_spec(spec: str) -> tuple[str, int]:
    """``"hog:1"`` → ("hog", 1); a clear error for anything else."""
    kind, _, upsample = spec.partition(":")
    if kind not in ("hog", "mmod") or not upsample.isdigit():
        raise ValueError(
            f"foss.baselines.extra_detectors: {spec!r} is not '<hog|mmod>:<up-sampling>' (e.g. 'hog:0')"
        )
    return kind, int(upsample)


def detector_label(spec: str) -> str:
    kind, upsample = detector_spec(spec)
    return f"dlib {'HOG' if kind == 'hog' else 'MMOD CNN'}, up-sampling {upsample}"


@dataclasses.dataclass(frozen=True)
class FossConfig:
    """``parameters_foss.yml: foss``."""

    detection_sets: tuple[str, ...] = (SYNTHETIC,)
    group_sets: tuple[str, ...] = (SYNTHETIC,)
    # a detection set read without a val file gets its own val and test photos (agelab.detection.holdout)
    holdout: HoldoutConfig = dataclasses.field(default_factory=HoldoutConfig)
    scenes: SceneSetConfig = dataclasses.field(default_factory=SceneSetConfig)
    workers: int | str = "auto"
    model: FossModelConfig = dataclasses.field(default_factory=FossModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    detector_training: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    annotation: AnnotationConfig = dataclasses.field(default_factory=AnnotationConfig)
    # the age sub-network on single face crops before the joined stage (off at engine.epochs 0)
    age_pretraining: AgePretrainingConfig = dataclasses.field(default_factory=AgePretrainingConfig)
    training: FossTrainingConfig = dataclasses.field(default_factory=FossTrainingConfig)
    evaluation: EvaluationConfig = dataclasses.field(default_factory=EvaluationConfig)
    baselines: BaselineConfig = dataclasses.field(default_factory=BaselineConfig)
    show_progress: bool = True

    def __post_init__(self) -> None:
        model = self.model
        if self.age_pretraining.enabled and model.intermediate_feature and not model.project_feature:
            raise ConfigError(
                "foss.age_pretraining needs foss.model.project_feature: true — the joined model starts at "
                "the pre-trained age network's outputs only through a zeroed projection of the detector's "
                "feature"
            )


def foss_config(params: dict[str, Any]) -> FossConfig:
    """``parameters_foss.yml: foss``, checked (unknown keys refused)."""
    return from_mapping(FossConfig, params, where="foss")
