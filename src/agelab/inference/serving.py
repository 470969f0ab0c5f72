"""Trained models as MLflow pyfunc models: ``mlflow models serve -m runs:/<id>/model`` answers HTTP
requests with the age of every face in the posted images.

The model's one artifact is the agelab bundle file (architecture, weights, crop settings), so the very
file ``agelab predict`` reads is what the server runs. Request: a DataFrame with one column ``image``,
each value an encoded image file (JPEG, PNG, …) — base64 in JSON, as MLflow sends binary columns::

    {"dataframe_split": {"columns": ["image"], "data": [["/9j/4AAQ..."]]}}

Response: one row per face (``image`` = the row of the request it came from, ``face`` = −1 where an
image has no face or could not be decoded; ``error`` says why), the same columns ``agelab predict``
writes. Detection settings can be changed per request through MLflow ``params`` (see
:data:`PARAMS`).
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from agelab.inference.face_ages import DetectionOptions, FaceAgeEstimator
from agelab.models.bundle import BUNDLE_ARTIFACT, ModelBundle
from agelab.preprocessing.images import MAX_PIXELS, decode_rgb

FACE_COLUMNS = [
    ("image", "long"),
    ("face", "long"),
    ("box_x0", "double"),
    ("box_y0", "double"),
    ("box_x1", "double"),
    ("box_y1", "double"),
    ("detector_score", "double"),
    ("age", "double"),
    ("age_std", "double"),
    ("age_low_50", "double"),
    ("age_high_50", "double"),
    ("age_low_80", "double"),
    ("age_high_80", "double"),
    ("male_probability", "double"),
    ("error", "string"),
]
# per-request settings: (name, MLflow type, default); None defaults mean "the model's own"
PARAMS = [
    ("min_score", "double", DetectionOptions.min_score),
    ("upsample", "long", DetectionOptions.upsample),
    ("score_threshold", "double", -1.0),  # FOSS; negative = the model's (paper 0.2)
]
REQUIREMENTS = [
    "torch",
    "torchvision",
    "dlib-bin",
    "face-recognition-models",
    "pillow",
    "pandas",
    "numpy",
    "scikit-image",
]


def decode_image(value: Any, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """An encoded image file (bytes, or base64 text) → (H, W, 3) uint8 RGB; ValueError if it is not one
    (:func:`agelab.preprocessing.images.decode_rgb`: corrupt, truncated, over ``max_pixels``, ...)."""
    if isinstance(value, str):
        try:
            value = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not base64: {exc}") from exc
    if not isinstance(value, bytes | bytearray):
        raise ValueError(f"expected encoded image bytes, got {type(value).__name__}")
    return decode_rgb(bytes(value), f"image of {len(value)} bytes", max_pixels)


def _options(params: dict[str, Any] | None) -> DetectionOptions:
    params = params or {}
    threshold = params.get("score_threshold", -1.0)
    return DetectionOptions(
        min_score=float(params.get("min_score", DetectionOptions.min_score)),
        upsample=int(params.get("upsample", DetectionOptions.upsample)),
        score_threshold=None if threshold is None or threshold < 0 else float(threshold),
    )


def face_table(
    estimator: FaceAgeEstimator,
    images: list[Any],
    options: DetectionOptions | None = None,
    max_pixels: int = MAX_PIXELS,
) -> pd.DataFrame:
    """The response table for a list of encoded images (see the module docstring); ``options`` apply to
    this call only (requests with different params may be served concurrently). An image that cannot be
    decoded or has more than ``max_pixels`` pixels gets one row with its error."""
    rows: list[dict[str, Any]] = []
    decoded: dict[int, np.ndarray] = {}
    for k, value in enumerate(images):
        try:
            decoded[k] = decode_image(value, max_pixels)
        except ValueError as exc:
            rows.append({"image": k, "face": -1, "error": str(exc)})
    faces = dict(zip(decoded, estimator.estimate(list(decoded.values()), options), strict=True))
    for k, found in faces.items():
        if not found:
            rows.append({"image": k, "face": -1, "error": ""})
        for j, f in enumerate(found):
            rows.append(
                {
                    "image": k,
                    "face": j,
                    **dict(zip(("box_x0", "box_y0", "box_x1", "box_y1"), map(float, f.box), strict=True)),
                    "detector_score": f.score,
                    "age": f.age,
                    "age_std": f.age_std,
                    "age_low_50": f.age_low_50,
                    "age_high_50": f.age_high_50,
                    "age_low_80": f.age_low_80,
                    "age_high_80": f.age_high_80,
                    "male_probability": f.male_probability,
                    "error": "",
                }
            )
    table = pd.DataFrame(rows, columns=[name for name, _ in FACE_COLUMNS])
    table = table.sort_values(["image", "face"], kind="stable").reset_index(drop=True)
    for name, kind in FACE_COLUMNS:
        table[name] = table[name].astype({"long": "int64", "double": "float64", "string": "object"}[kind])
    table["error"] = table["error"].fillna("")
    return table


SERVE_MAX_IMAGES = 64
"""Default of ``AGELAB_SERVE_MAX_IMAGES``: the most images one request may hold (more: HTTP 400)."""
SERVE_MAX_PIXELS = 40_000_000
"""Default of ``AGELAB_SERVE_MAX_PIXELS``: larger images are answered with an error row (40 M ≈ 7,300²)."""


def serving_limit(name: str, default: int) -> int:
    """A positive integer limit from the environment of the serving process (``AGELAB_SERVE_…``)."""
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name}={raw!r}: expected a positive whole number")
    return value


class AgeOfFacesModel(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc wrapper of an agelab bundle: encoded images in, one row per face out. Limits, read
    from the serving process's environment when the model loads: ``AGELAB_SERVE_MAX_IMAGES`` images per
    request and ``AGELAB_SERVE_MAX_PIXELS`` pixels per image (docs/serving.md)."""

    def load_context(self, context) -> None:
        import agelab.models  # noqa: F401  (registers every architecture a bundle may name)

        self.bundle = ModelBundle.load(context.artifacts["bundle"])
        self.estimator = FaceAgeEstimator(self.bundle)
        self.max_images = serving_limit("AGELAB_SERVE_MAX_IMAGES", SERVE_MAX_IMAGES)
        self.max_pixels = serving_limit("AGELAB_SERVE_MAX_PIXELS", SERVE_MAX_PIXELS)

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

        if "image" not in model_input:
            raise MlflowException(
                f"expected a column 'image', got {list(model_input.columns)}", INVALID_PARAMETER_VALUE
            )
        if len(model_input) > self.max_images:
            raise MlflowException(
                f"{len(model_input)} images in one request: at most {self.max_images} "
                "(AGELAB_SERVE_MAX_IMAGES)",
                INVALID_PARAMETER_VALUE,
            )
        return face_table(
            self.estimator,
            list(model_input["image"]),
            _options(params),
            self.max_pixels,
        )


def bundle_metadata(bundle: ModelBundle) -> dict[str, Any]:
    """What inference needs besides the network: crop framing, input size, age range, architecture."""
    return {
        "agelab_architecture": bundle.architecture,
        "agelab_kwargs": bundle.kwargs,
        "crop_size": bundle.crop_size,
        "crop_margin": bundle.crop_margin,
        "crop_align": bundle.crop_align,
        "image_size": bundle.image_size,
    }


def signature():
    """Input: one binary column ``image``; output: :data:`FACE_COLUMNS`; params: :data:`PARAMS`."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    return ModelSignature(
        inputs=Schema([ColSpec("binary", "image")]),
        outputs=Schema([ColSpec(kind, name) for name, kind in FACE_COLUMNS]),
        params=ParamSchema([ParamSpec(name, kind, default) for name, kind, default in PARAMS]),
    )


def pinned_requirements() -> list[str]:
    """The serving dependencies at the versions installed here (agelab itself must be installed where
    the model is served: ``pip install -e .`` of this project, then ``--env-manager local``)."""
    pins = []
    for name in ["mlflow", *REQUIREMENTS]:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def example_image_bytes(size: int = 96) -> bytes:
    """A small mid-grey JPEG: the input example logged with every model (no face in it, so the logged
    example output shows the "no face" row)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (128, 128, 128)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def log_pyfunc_model(
    bundle: ModelBundle,
    name: str = "model",
    registered_model_name: str | None = None,
    example_image: bytes | None = b"",
):
    """Log ``bundle`` to the active MLflow run as a pyfunc model (:class:`AgeOfFacesModel`) with a
    signature, pinned requirements and an input example (``example_image``; default: a small grey JPEG,
    None: no example); returns MLflow's ModelInfo."""
    if example_image == b"":
        example_image = example_image_bytes()
    example = None if example_image is None else pd.DataFrame({"image": [example_image]})
    pyfunc_logger = logging.getLogger("mlflow.pyfunc")
    pyfunc_logger.addFilter(_no_cloudpickle_notice)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / BUNDLE_ARTIFACT
        bundle.save(path)
        try:
            return mlflow.pyfunc.log_model(
                name=name,
                python_model=AgeOfFacesModel(),
                artifacts={"bundle": str(path)},
                signature=signature(),
                input_example=example,
                pip_requirements=pinned_requirements(),
                registered_model_name=registered_model_name,
                metadata=bundle_metadata(bundle),
            )
        finally:
            pyfunc_logger.removeFilter(_no_cloudpickle_notice)


def _no_cloudpickle_notice(record: logging.LogRecord) -> bool:
    """MLflow 3 warns on every ``log_model(python_model=<object>)`` that the object is pickled: our
    :class:`AgeOfFacesModel` holds no state (the bundle is a separate artifact), so the notice is dropped
    while agelab logs its own model."""
    return "Passing a Python object as `python_model`" not in record.getMessage()
