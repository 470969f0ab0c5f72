"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    """``data`` (ingest, clean, split) is the default until the model pipelines build on it."""
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = pipelines["data"]
    return pipelines
