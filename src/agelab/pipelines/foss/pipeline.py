"""``kedro run --pipelines=foss`` (registered with the data pipeline, whose single-face images it uses)."""

from kedro.pipeline import Pipeline, node, pipeline

from agelab.pipelines.foss import nodes

DETECTION_SOURCES = {
    "detection_synthetic_scenes": "raw_synthetic_wider_face",
    "detection_wider_face": "raw_wider_face",
}
GROUP_SOURCES = {
    "groups_synthetic_scenes": "raw_synthetic_images_of_groups",
    "groups_images_of_groups": "raw_images_of_groups",
}


def create_pipeline(**kwargs) -> Pipeline:
    nodes_ = Pipeline(
        [
            node(
                nodes.render_synthetic_scenes,
                "params:foss",
                "synthetic_scenes",
                name="render_synthetic_scenes",
            ),
            node(
                nodes.read_foss_sets,
                {
                    "_rendered": "synthetic_scenes",
                    "params": "params:foss",
                    **DETECTION_SOURCES,
                    **GROUP_SOURCES,
                },
                ["detection_index", "group_index", "read_report"],
                name="read_foss_sets",
            ),
            node(
                nodes.train_detector,
                ["detection_index", "checkpoints", "params:foss"],
                ["detector", "detector_history"],
                name="train_face_detector",
            ),
            node(
                nodes.annotate_age_images,
                ["detector", "model_input_faces", "params:foss"],
                ["age_annotations", "annotation_report"],
                name="annotate_age_images",
            ),
            node(
                nodes.train_foss,
                [
                    "detector",
                    "age_annotations",
                    "detection_index",
                    "checkpoints",
                    "params:foss",
                ],
                ["model", "history"],
                name="train_foss_model",
            ),
            node(nodes.pass_model, "model", "mlflow_model", name="log_foss_model"),
            node(
                nodes.evaluate_foss,
                [
                    "model",
                    "detection_index",
                    "group_index",
                    "age_annotations",
                    "params:foss",
                ],
                ["group_detections", "per_group", "report", "metrics"],
                name="evaluate_foss_model",
            ),
            node(
                nodes.evaluate_baselines,
                [
                    "detection_index",
                    "group_index",
                    "age_annotations",
                    "model_input_faces",
                    "baseline_appearance_model",
                    "params:foss",
                ],
                "baseline_report",
                name="evaluate_foss_baselines",
            ),
            node(
                nodes.write_report,
                [
                    "report",
                    "baseline_report",
                    "annotation_report",
                    "per_group",
                    "read_report",
                ],
                "report_markdown",
                name="write_foss_report",
            ),
            node(
                nodes.plot_group_predictions,
                ["model", "group_index", "detection_index", "params:foss"],
                "group_predictions_plot",
                name="plot_group_predictions",
            ),
        ],
    )
    return pipeline(
        nodes_,
        namespace="foss",  # datasets and nodes are foss.<name>; kedro-viz shows them as one group
        inputs={"model_input_faces", "raw_wider_face", "raw_images_of_groups"},
        parameters={"params:foss"},
        tags="foss",
    )
