"""``kedro run --pipelines=sps`` / ``--pipelines=hps``: multi-task age estimation with the 3D subnet."""

from agelab.pipelines.multitask.pipeline import create_pipeline

__all__ = ["create_pipeline"]
