"""The compare pipeline's shape depends on configuration (how many seeds, which sweep values, which
cross-dataset sets), so the pipeline registry reads ``parameters_compare.yml`` before Kedro builds the
run. :class:`agelab.hooks.ProjectConfigHook` hands it the config loader of the run being started (with
``--env`` and ``--params``); without one (``kedro registry list``, tests) the registry reads ``conf/``
itself with ``KEDRO_ENV`` or the default run environment.
"""

from __future__ import annotations

from agelab.experiments.grid import MODELS, CompareConfig, Plan, compare_config, plan_runs
from agelab.experiments.variant_runs import parameters_with_defaults
from agelab.pipelines.configured_parameters import configured_parameters


def load_plan() -> tuple[CompareConfig, Plan]:
    params = configured_parameters()
    config = compare_config(params.get("compare"))
    return config, plan_runs(config, {m: parameters_with_defaults(m, params.get(m)) for m in MODELS})
