"""``kedro run --pipelines=compare`` (registered with the data and recon3d pipelines it needs).

One modular pipeline per training run, namespaced ``compare.<run>`` (``compare.sps_seed1``,
``compare.hps_w_0p7``): configure → train (a child MLflow run) → evaluate. One per cross-dataset set,
``compare.cross_<name>``: the data pipeline's reading, analysis and cleaning nodes on that set's
parameters, then every cross-model run evaluated on it. Then the tables, the §5.3 groups and the report.
Which runs exist is configuration (``parameters_compare.yml``), read by :mod:`.plan`.
"""

from __future__ import annotations

import warnings

from kedro.pipeline import Pipeline, node

from agelab.experiments.grid import CompareConfig, Plan
from agelab.pipelines.compare import nodes
from agelab.pipelines.cross_dataset import bind as _bind
from agelab.pipelines.data.pipeline import RAW_DATASETS, reading_pipeline
from agelab.preprocessing.cross_dataset import as_test_set

SHARED_INPUTS = {"model_input_faces", "recon3d_model", "face_cache"}


def _namespaced(parts: list, namespace: str, inputs: set[str], **kwargs) -> Pipeline:
    """``parts`` under ``namespace``, keeping the project's parameters and the shared ``inputs`` (those
    the parts use) under their own names."""
    plain = Pipeline(parts)
    free = plain.inputs()
    return Pipeline(
        plain,
        namespace=namespace,
        inputs={name for name in inputs if name in free},
        parameters={name for name in free if name.startswith("params:")},
        **kwargs,
    )


def _run_pipeline(variant) -> Pipeline:
    return _namespaced(
        [
            node(
                _bind(nodes.run_parameters_of, variant=variant),
                "checked_runs",
                "run_parameters",
                name="configure",
            ),
            node(
                _bind(nodes.train_variant, variant=variant),
                [
                    "model_input_faces",
                    "recon3d_model",
                    "checkpoints",
                    "run_parameters",
                    "params:compare",
                    "params:data",
                    "params:recon3d",
                ],
                "model",
                name="train",
            ),
            node(
                _bind(nodes.evaluate_variant, variant=variant),
                ["model", "model_input_faces", "run_parameters"],
                ["predictions", "summary"],
                name="evaluate",
            ),
        ],
        variant.name,
        {"model_input_faces", "recon3d_model", "checkpoints", "checked_runs"},
    )


def _cross_pipeline(name: str, models: tuple[str, ...], groups: bool) -> Pipeline:
    """``groups``: also §5.3's pose/expression groups on this set (the reference and the joint model are
    both among ``models``)."""
    reading = reading_pipeline("data_params")
    grouping = [
        node(
            nodes.predict_extremeness,
            ["recon3d_model", "test_faces", "params:recon3d"],
            "extremeness",
            name="predict_extremeness",
        ),
        node(
            _bind(nodes.analyse_cross_groups, name=name),
            ["extremeness", "predictions", "params:compare"],
            ["group_results", "pose_groups_plot", "expression_groups_plot"],
            name="analyse_groups",
        ),
    ]
    return _namespaced(
        [
            node(
                _bind(nodes.cross_data_parameters, name=name),
                ["params:data", "params:compare"],
                "data_params",
                name="configure_data",
            ),
            reading,
            node(as_test_set, ["clean_faces", "data_params"], "test_faces", name="as_test_set"),
            node(
                _bind(nodes.evaluate_cross_dataset, variants=models),
                ["test_faces", "params:compare", *[f"{m}.model" for m in models]],
                "predictions",
                name="evaluate",
            ),
            *(grouping if groups else []),
        ],
        f"cross_{name}",
        {
            "face_cache",
            "recon3d_model",
            *[f"raw_{d}" for d in RAW_DATASETS if d != "synthetic"],
            *[f"{m}.model" for m in models],
        },
    )


def create_pipeline(config: CompareConfig, plan: Plan, **kwargs) -> Pipeline:
    # the analysis nodes name the runs' namespaced outputs ("sps_seed0.summary") on purpose
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="One or more dataset names contain", category=UserWarning)
        return _create_pipeline(config, plan)


def _create_pipeline(config: CompareConfig, plan: Plan) -> Pipeline:
    runs = [_run_pipeline(v) for v in plan.variants]
    reference = [v.name for v in plan.repeated(config.groups.reference)]
    joint = [v.name for v in plan.repeated(config.groups.model)]
    cross_models = tuple(v.name for m in config.cross_models for v in plan.repeated(m))
    grouped = {config.groups.reference, config.groups.model} <= set(config.cross_models)
    cross = [_cross_pipeline(name, cross_models, grouped) for name in config.cross_evaluate]
    cross_groups = [f"cross_{name}.group_results" for name in config.cross_evaluate] if grouped else []
    models = tuple(dict.fromkeys(v.model for v in plan.variants))
    analysis = [
        node(
            _bind(nodes.check_runs, models=models, variants=tuple(plan.variants)),
            ["params:compare", *[f"params:{m}" for m in models]],
            "checked_runs",
            name="check_runs",
        ),
        node(
            nodes.tabulate_runs,
            ["params:compare", *[f"{v.name}.summary" for v in plan.variants]],
            ["runs", "table4", "pairwise_tests", "sweep_results"],
            name="tabulate_runs",
        ),
        node(
            nodes.predict_extremeness,
            ["recon3d_model", "model_input_faces", "params:recon3d"],
            "extremeness",
            name="predict_extremeness",
        ),
        node(
            _bind(nodes.analyse_groups, n_reference=len(reference)),
            [
                "extremeness",
                "params:compare",
                "face_cache",
                *[f"{n}.predictions" for n in reference],
                *[f"{n}.predictions" for n in joint],
            ],
            [
                "group_results",
                "paired_test",
                "pose_groups_plot",
                "expression_groups_plot",
                "pose_group_samples",
                "expression_group_samples",
                "improved_examples",
            ],
            name="analyse_groups",
        ),
        node(
            _bind(nodes.tabulate_cross_datasets, names=config.cross_evaluate),
            ["params:compare", *[f"cross_{name}.predictions" for name in config.cross_evaluate]],
            "table5",
            name="tabulate_cross_datasets",
        ),
        node(
            _bind(nodes.write_report, cross_names=config.cross_evaluate if grouped else ()),
            [
                "params:compare",
                "runs",
                "table4",
                "pairwise_tests",
                "sweep_results",
                "group_results",
                "paired_test",
                "table5",
                *cross_groups,
            ],
            ["report", "metrics"],
            name="write_report",
        ),
    ]
    return _namespaced(
        [*runs, *cross, *analysis],
        "compare",
        {*SHARED_INPUTS, *[f"raw_{d}" for d in RAW_DATASETS]},
        tags="compare",
    )
