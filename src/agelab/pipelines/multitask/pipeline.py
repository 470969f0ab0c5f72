"""One pipeline shape for both kinds of sharing; ``create_pipeline("sps")`` reads ``params:sps`` and writes
``sps_*`` datasets, ``create_pipeline("hps")`` the ``hps_*`` ones."""

from kedro.pipeline import Pipeline, node, pipeline

from agelab.pipelines.multitask import nodes
from agelab.training.multitask_training import SHARING


def create_pipeline(sharing: str = "sps", **kwargs) -> Pipeline:
    if sharing not in SHARING:
        raise ValueError(f"sharing must be one of {SHARING}")
    s = sharing
    return pipeline(
        [
            node(
                nodes.train_multitask_model,
                [
                    "model_input_faces",
                    "recon3d_model",
                    f"{s}_checkpoints",
                    "params:data",
                    "params:recon3d",
                    f"params:{s}",
                ],
                [f"{s}_model", f"{s}_history"],
                name=f"train_{s}",
            ),
            node(
                nodes.evaluate_multitask_model,
                [f"{s}_model", "model_input_faces", f"params:{s}"],
                [f"{s}_predictions", f"{s}_report", f"{s}_metrics"],
                name=f"evaluate_{s}",
            ),
            node(
                nodes.plot_multitask,
                [f"{s}_predictions", f"{s}_history"],
                [f"{s}_predicted_vs_true", f"{s}_learning_curves", f"{s}_kappa_curves"],
                name=f"plot_{s}",
            ),
            node(
                nodes.write_multitask_model_card,
                [f"{s}_model", "model_input_faces", f"{s}_report", f"{s}_history", f"params:{s}"],
                f"{s}_model_card",
                name=f"write_{s}_model_card",
            ),
            node(nodes.pass_model, f"{s}_model", f"{s}_mlflow_model", name=f"log_{s}_model"),
        ],
        tags=s,
    )
