"""A cross-dataset set as a namespaced Kedro pipeline: one set of ``cross_datasets``
(``conf/base/globals.yml``) read, analysed and cleaned as a test set by the data pipeline's reading nodes,
then scored by a trained model.

The appearance pipeline scores its age estimates this way (``appearance_cross_<name>``) and the recon3d
pipeline its landmarks against a set's annotated points (``recon3d_cross_<name>``). Both read the same faces
through the same face cache, so a set is analysed once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from kedro.pipeline import Pipeline, node, pipeline

from agelab.pipelines.data.pipeline import RAW_DATASETS, reading_pipeline
from agelab.preprocessing.cross_dataset import as_test_set


def bind(func: Callable, **kwargs) -> Callable:
    """``func`` with keyword arguments fixed, keeping its name (the name kedro-viz shows)."""
    return functools.update_wrapper(functools.partial(func, **kwargs), func)


def cross_dataset_pipeline(
    name: str,
    *,
    namespace: str,
    configure: Callable,
    configure_inputs: list[str],
    evaluate: Callable,
    evaluate_inputs: list[str],
    evaluate_outputs: list[str],
    after: Sequence[tuple[Callable, list[str], str | list[str], str]] = (),
) -> Pipeline:
    """``configure(*configure_inputs, name=name)`` gives the set's ``data`` parameters; the reading nodes make
    ``clean_faces`` from them; every face becomes a test face (``test_faces``); then
    ``evaluate(*evaluate_inputs, name=name)`` writes ``evaluate_outputs``, all inside ``namespace``.
    ``evaluate_inputs`` name ``test_faces`` and datasets from outside the namespace (the trained model, the
    model input); parameters, the face cache and the raw datasets are shared with the project. ``after``
    holds further ``(func, inputs, outputs, node name)`` inside the namespace (plots of the evaluation), each
    ``func`` also given ``name=name``."""
    parts = Pipeline(
        [
            node(bind(configure, name=name), configure_inputs, "data_params", name="configure_data"),
            reading_pipeline("data_params"),
            node(as_test_set, ["clean_faces", "data_params"], "test_faces", name="as_test_set"),
            node(bind(evaluate, name=name), evaluate_inputs, evaluate_outputs, name="evaluate"),
            *[node(bind(f, name=name), i, o, name=n) for f, i, o, n in after],
        ]
    )
    free = parts.inputs()
    outside = [*evaluate_inputs, *[i for _, inputs, _, _ in after for i in inputs]]
    shared = {"face_cache", *[f"raw_{d}" for d in RAW_DATASETS], *outside} - {"test_faces", *evaluate_outputs}
    return pipeline(
        parts,
        namespace=namespace,
        inputs={n for n in shared if n in free and not n.startswith("params:")},
        parameters={n for n in free if n.startswith("params:")},
    )
