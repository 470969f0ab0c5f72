"""Trained models by name: a bundle file or an MLflow model URI (``runs:/…``, ``models:/…``, a run id) →
the :class:`~agelab.models.bundle.ModelBundle` it holds."""

from __future__ import annotations

import re
from pathlib import Path

from agelab.models.bundle import BUNDLE_ARTIFACT, ModelBundle

RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class ModelNotFoundError(FileNotFoundError):
    """No model where one was named (no file, no MLflow run or model, or not one agelab wrote)."""


def load_bundle(model: str) -> ModelBundle:
    """``model``: a bundle file (``data/06_models/.../*.pt``), an MLflow run id, ``runs:/<id>/model`` or
    ``models:/<name>/<version>`` (an agelab pyfunc model,
    :mod:`agelab.inference.serving`, whose artifact is the bundle file)."""
    path = Path(model)
    if path.is_file():
        return ModelBundle.load(path)
    uri = f"runs:/{model}/model" if RUN_ID.match(model) else model
    if not uri.startswith(("runs:/", "models:/")):
        raise ModelNotFoundError(
            f"no model at '{path.resolve()}': give a model file (data/06_models/.../*.pt), "
            "an MLflow run id, runs:/<run id>/model or models:/<name>/<version>"
        )
    import mlflow

    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except Exception as exc:
        raise ModelNotFoundError(
            f"no MLflow model at {uri} (tracking URI {mlflow.get_tracking_uri()}): {exc}"
        ) from exc
    bundle_file = local / "artifacts" / BUNDLE_ARTIFACT
    if not bundle_file.is_file():
        raise ModelNotFoundError(f"{uri} was not logged by agelab (no artifacts/{BUNDLE_ARTIFACT} in it)")
    return ModelBundle.load(bundle_file)
