"""``kedro run --pipelines=compare``: Savov et al. §5 — repeated training, sweeps, significance tests,
pose/expression groups and cross-dataset evaluation."""

from agelab.pipelines.compare.pipeline import create_pipeline

__all__ = ["create_pipeline"]
