"""``kedro run --pipelines=recon3d``: self-supervised pre-training of the 3D face reconstruction subnet."""

from agelab.pipelines.recon3d.pipeline import create_pipeline

__all__ = ["create_pipeline"]
