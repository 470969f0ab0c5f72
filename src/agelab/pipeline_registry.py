"""Project pipelines. Each model pipeline is registered with the chain it needs, so
``kedro run --pipelines=appearance`` on a fresh clone runs data → appearance and ``--pipelines=sps`` (the
default, the main job) data → recon3d → SPS.

Pipelines are imported explicitly rather than with ``find_pipelines``: Kedro 1.7 loads only the
pipeline named on the command line there, and the composed entries need their parts.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from agelab.config import ConfigError
from agelab.pipelines import appearance, compare, data, foss, multitask, recon3d
from agelab.pipelines.compare.plan import load_plan
from agelab.pipelines.configured_parameters import configured_parameters


def register_pipelines() -> dict[str, Pipeline]:
    data_pipeline = data.create_pipeline()
    appearance_pipeline = _appearance_pipeline()
    recon3d_pipeline = recon3d.create_pipeline(_cross_evaluate("recon3d"))
    sps = data_pipeline + recon3d_pipeline + multitask.create_pipeline("sps")
    return {
        "__default__": sps,  # the main job, as `make run`
        "data": data_pipeline,
        "appearance": data_pipeline + appearance_pipeline,
        "appearance_only": appearance_pipeline,  # on an existing model input
        "recon3d": data_pipeline + recon3d_pipeline,
        "recon3d_only": recon3d_pipeline,
        "hps": data_pipeline + recon3d_pipeline + multitask.create_pipeline("hps"),
        "sps": sps,
        "hps_only": multitask.create_pipeline("hps"),  # on an existing model input and 3D subnet
        "sps_only": multitask.create_pipeline("sps"),
        "compare": data_pipeline + recon3d_pipeline + _compare_pipeline(),
        "compare_only": _compare_pipeline(),  # on an existing model input and 3D subnet
        "foss": data_pipeline + foss.create_pipeline(),
        "foss_only": foss.create_pipeline(),  # on an existing model input
    }


def _cross_evaluate(section: str) -> tuple[str, ...]:
    """The cross-dataset sets ``<section>.cross_evaluate`` names (a set it cannot read fails when the run
    starts, with the config error)."""
    params = configured_parameters().get(section) or {}
    return tuple(str(n) for n in params.get("cross_evaluate") or ())


def _appearance_pipeline() -> Pipeline:
    return appearance.create_pipeline(_cross_evaluate("appearance"))


def _compare_pipeline() -> Pipeline:
    """The compare pipeline as configured; a configuration error becomes a one-node pipeline that raises
    it when compare is run, so the other pipelines stay usable."""
    try:
        config, plan = load_plan()
    except ConfigError as exc:
        message = str(exc)

        def report_configuration_error(_compare: dict) -> None:
            raise ConfigError(message)

        return Pipeline(
            [node(report_configuration_error, "params:compare", None, name="compare_configuration")]
        )
    return compare.create_pipeline(config, plan)
