"""Project pipelines. Each model pipeline is registered with the chain it needs, so
``kedro run --pipeline=appearance`` on a fresh clone runs data → appearance and ``--pipeline=sps`` (the
default, the main job) data → recon3d → SPS.

Pipelines are imported explicitly rather than with ``find_pipelines``: Kedro 1.7 loads only the
pipeline named on the command line there, and the composed entries need their parts.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from agelab.pipelines import appearance, data, multitask, recon3d


def register_pipelines() -> dict[str, Pipeline]:
    data_pipeline = data.create_pipeline()
    appearance_pipeline = appearance.create_pipeline()
    recon3d_pipeline = recon3d.create_pipeline()
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
    }
