"""Project pipelines. Each model pipeline is registered with the chain it needs, so
``kedro run --pipeline=appearance`` on a fresh clone runs data → appearance."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    found = find_pipelines(raise_errors=True)
    data = found["data"]
    pipelines = {
        "data": data,
        "appearance": data + found["appearance"],
        "appearance_only": found["appearance"],  # on an existing model input
    }
    pipelines["__default__"] = pipelines["data"]
    return pipelines
