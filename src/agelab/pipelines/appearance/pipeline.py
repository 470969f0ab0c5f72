"""``kedro run --pipelines=appearance`` (registered together with the data pipeline it needs).

With ``appearance.cross_evaluate`` naming sets of ``appearance.cross_datasets`` (the real-photo environment:
``[fgnet]``), each set is read, analysed and cleaned as a test set (namespace ``appearance_cross_<name>``:
the data pipeline's reading nodes on that set's ``data`` settings) and the trained model is scored on every
face of it; the model card reports them beside the test split.
"""

from __future__ import annotations

import warnings

from kedro.pipeline import Pipeline, node, pipeline

from agelab.pipelines.appearance import nodes
from agelab.pipelines.cross_dataset import cross_dataset_pipeline as _cross_dataset_pipeline


def cross_dataset_pipeline(name: str) -> Pipeline:
    """Score ``appearance_model`` on every face of the cross-dataset set ``name``."""
    return _cross_dataset_pipeline(
        name,
        namespace=f"appearance_cross_{name}",
        configure=nodes.cross_dataset_data_parameters,
        configure_inputs=["params:data", "params:appearance"],
        evaluate=nodes.evaluate_appearance_cross_dataset,
        evaluate_inputs=["appearance_model", "test_faces", "model_input_faces", "params:appearance"],
        evaluate_outputs=["predictions", "report", "metrics"],
    )


def create_pipeline(cross_evaluate: tuple[str, ...] = (), **kwargs) -> Pipeline:
    # the model card node names the cross-dataset sets' namespaced reports ("appearance_cross_fgnet.report")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="One or more dataset names contain", category=UserWarning)
        return _create_pipeline(cross_evaluate)


def _create_pipeline(cross_evaluate: tuple[str, ...]) -> Pipeline:
    cross = [cross_dataset_pipeline(name) for name in cross_evaluate]
    return pipeline(
        [
            node(
                nodes.train_appearance_subnet,
                ["model_input_faces", "appearance_checkpoints", "params:data", "params:appearance"],
                ["appearance_model", "appearance_history"],
                name="train_appearance_subnet",
            ),
            node(
                nodes.evaluate_appearance_subnet,
                ["appearance_model", "model_input_faces", "params:appearance"],
                ["appearance_predictions", "appearance_report", "appearance_metrics"],
                name="evaluate_appearance_subnet",
            ),
            node(
                nodes.plot_appearance,
                ["appearance_predictions", "appearance_history"],
                ["appearance_predicted_vs_true", "appearance_learning_curves"],
                name="plot_appearance",
            ),
            node(
                nodes.write_model_card,
                [
                    "appearance_model",
                    "model_input_faces",
                    "appearance_report",
                    "appearance_history",
                    "params:appearance",
                    *[f"appearance_cross_{name}.report" for name in cross_evaluate],
                ],
                "appearance_model_card",
                name="write_appearance_model_card",
            ),
            node(
                nodes.pass_model, "appearance_model", "appearance_mlflow_model", name="log_appearance_model"
            ),
            *cross,
        ],
        tags="appearance",
    )
