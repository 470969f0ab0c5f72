"""``kedro run --pipelines=appearance`` (registered together with the data pipeline it needs)."""

from kedro.pipeline import Pipeline, node, pipeline

from agelab.pipelines.appearance import nodes


def create_pipeline(**kwargs) -> Pipeline:
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
                ],
                "appearance_model_card",
                name="write_appearance_model_card",
            ),
            node(
                nodes.pass_model, "appearance_model", "appearance_mlflow_model", name="log_appearance_model"
            ),
        ],
        tags="appearance",
    )
