"""Data pipeline: embedded synthetic set → face index → per-image analysis → cleaning → split."""

from agelab.pipelines.data.pipeline import create_pipeline

__all__ = ["create_pipeline"]
