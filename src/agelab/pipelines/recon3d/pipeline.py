"""``kedro run --pipelines=recon3d`` (registered together with the data pipeline it needs)."""

from kedro.pipeline import Pipeline, node, pipeline

from agelab.pipelines.recon3d import nodes


def create_pipeline(**kwargs) -> Pipeline:
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
        ],
        tags="recon3d",
    )
