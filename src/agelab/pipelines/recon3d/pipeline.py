"""``kedro run --pipelines=recon3d`` (registered together with the data pipeline it needs).

With ``recon3d.cross_evaluate`` naming sets of ``recon3d.cross_datasets`` (the real-photo environment:
``[fgnet]``), each set is read as a test set (namespace ``recon3d_cross_<name>``) and the trained 3D subnet's
landmarks are scored against the set's annotated points, beside dlib's and the mean face.
"""

from __future__ import annotations

import warnings

from kedro.pipeline import Pipeline, node, pipeline

from agelab.pipelines.cross_dataset import cross_dataset_pipeline as _cross_dataset_pipeline
from agelab.pipelines.recon3d import nodes


def cross_dataset_pipeline(name: str) -> Pipeline:
    """Score ``recon3d_model``'s landmarks on every annotated face of the cross-dataset set ``name``."""
    return _cross_dataset_pipeline(
        name,
        namespace=f"recon3d_cross_{name}",
        configure=nodes.cross_dataset_data_parameters,
        configure_inputs=["params:data", "params:recon3d"],
        evaluate=nodes.evaluate_recon3d_cross_dataset,
        evaluate_inputs=["recon3d_model", "test_faces", "params:recon3d"],
        evaluate_outputs=["predictions", "report", "metrics"],
        after=[
            (
                nodes.plot_recon3d_cross_dataset,
                ["recon3d_model", "test_faces", "predictions", "params:recon3d"],
                "overlays",
                "plot",
            )
        ],
    )


def create_pipeline(cross_evaluate: tuple[str, ...] = (), **kwargs) -> Pipeline:
    with warnings.catch_warnings():  # the namespaced datasets' dotted names
        warnings.filterwarnings("ignore", message="One or more dataset names contain", category=UserWarning)
        return _create_pipeline(cross_evaluate)


def _create_pipeline(cross_evaluate: tuple[str, ...]) -> Pipeline:
    return pipeline(
        [
            node(
                nodes.train_recon3d_subnet,
                ["model_input_faces", "recon3d_checkpoints", "params:data", "params:recon3d"],
                ["recon3d_model", "recon3d_history"],
                name="train_recon3d_subnet",
            ),
            node(
                nodes.evaluate_recon3d_subnet,
                ["recon3d_model", "model_input_faces", "params:recon3d"],
                ["recon3d_predictions", "recon3d_report", "recon3d_metrics"],
                name="evaluate_recon3d_subnet",
            ),
            node(
                nodes.plot_recon3d,
                [
                    "recon3d_model",
                    "model_input_faces",
                    "recon3d_predictions",
                    "recon3d_history",
                    "params:recon3d",
                ],
                ["recon3d_overlays", "recon3d_learning_curves"],
                name="plot_recon3d",
            ),
            *[cross_dataset_pipeline(name) for name in cross_evaluate],
        ],
        tags="recon3d",
    )
