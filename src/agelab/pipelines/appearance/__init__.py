"""Appearance subnet pipeline: train, evaluate, report, log the model."""

from agelab.pipelines.appearance.pipeline import create_pipeline

__all__ = ["create_pipeline"]
