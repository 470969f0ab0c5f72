"""``kedro run --pipelines=data``."""

from kedro.pipeline import Pipeline, node, pipeline

from agelab.pipelines.data import nodes

RAW_DATASETS = (
    "synthetic",
    "wiki",
    "imdb",
    "utkface",
    "agedb",
    "clap2016",
    "megaage_asian",
    "fgnet",
    "wider_face",
    "images_of_groups",
)


#: the nodes that read, analyse and clean a dataset: what a cross-dataset evaluation set runs of this pipeline
READING_NODES = (
    "render_synthetic_face_set",
    "build_face_index",
    "analyse_face_images",
    "clean_face_index",
)


def reading_pipeline(parameters: str) -> Pipeline:
    """:data:`READING_NODES` on the ``data`` settings at ``parameters`` (those of an evaluation set)."""
    return create_pipeline(parameters).only_nodes(*READING_NODES)


def create_pipeline(parameters: str = "params:data", **kwargs) -> Pipeline:
    """``parameters``: where the nodes read ``data`` settings (the cross-dataset evaluation of the compare
    pipeline feeds its own, derived ones)."""
    return pipeline(
        [
            node(
                nodes.render_synthetic_face_set,
                parameters,
                "raw_synthetic",
                name="render_synthetic_face_set",
            ),
            node(
                nodes.build_face_index,
                {"params": parameters, **{k: f"raw_{k}" for k in RAW_DATASETS}},
                ["face_index", "read_report"],
                name="build_face_index",
            ),
            node(
                nodes.analyse_face_images,
                ["face_index", "face_cache", parameters],
                "face_analysis",
                name="analyse_face_images",
            ),
            node(
                nodes.clean_face_index,
                ["face_index", "face_analysis", parameters],
                ["clean_faces", "cleaning_report"],
                name="clean_face_index",
            ),
            node(
                nodes.split_face_index,
                ["clean_faces", parameters],
                ["model_input_faces", "split_report"],
                name="split_face_index",
            ),
            node(
                nodes.plot_sample_grid,
                ["model_input_faces", "face_cache", parameters],
                "sample_grid",
                name="plot_sample_grid",
            ),
            node(
                nodes.summarise_data,
                ["read_report", "cleaning_report", "split_report"],
                ["data_report", "data_metrics"],
                name="summarise_data",
            ),
        ],
        tags="data",
    )
