"""``kedro run --pipelines=appearance`` (registered together with the data pipeline it needs).

With ``appearance.cross_evaluate`` naming sets of ``appearance.cross_datasets`` (the real-photo environment:
``[fgnet]``), each set is read, analysed and cleaned as a test set (namespace ``appearance_cross_<name>``:
the data pipeline's reading nodes on that set's ``data`` settings) and the trained model is scored on every
face of it; the model card reports them beside the test split.
"""

from __future__ import annotations

import functools
import warnings

from kedro.pipeline import Pipeline, node, pipeline

from agelab.pipelines.appearance import nodes
from agelab.pipelines.data.pipeline import RAW_DATASETS, reading_pipeline
from agelab.preprocessing.cross_dataset import as_test_set


def _bind(func, **kwargs):
    return functools.update_wrapper(functools.partial(func, **kwargs), func)


def cross_dataset_pipeline(name: str) -> Pipeline:
    """Score ``appearance_model`` on every face of the cross-dataset set ``name``."""
    parts = Pipeline(
        [
            node(
                _bind(nodes.cross_dataset_data_parameters, name=name),
                ["params:data", "params:appearance"],
                "data_params",
                name="configure_data",
            ),
            reading_pipeline("data_params"),
            node(as_test_set, ["clean_faces", "data_params"], "test_faces", name="as_test_set"),
            node(
                _bind(nodes.evaluate_appearance_cross_dataset, name=name),
                ["appearance_model", "test_faces", "model_input_faces", "params:appearance"],
                ["predictions", "report", "metrics"],
                name="evaluate",
            ),
        ]
    )
    free = parts.inputs()
    shared = {"face_cache", "appearance_model", "model_input_faces", *[f"raw_{d}" for d in RAW_DATASETS]}
    return pipeline(
        parts,
        namespace=f"appearance_cross_{name}",
        inputs={n for n in shared if n in free},
        parameters={n for n in free if n.startswith("params:")},
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
