"""``kedro run --pipelines=foss``: multi-person detection and age estimation (Yoshimura & Ogata)."""

from agelab.pipelines.foss.pipeline import create_pipeline

__all__ = ["create_pipeline"]
