"""The compare pipeline's shape depends on configuration (how many seeds, which sweep values, which
cross-dataset sets), so the pipeline registry reads ``parameters_compare.yml`` before Kedro builds the
run. :class:`agelab.hooks.ProjectConfigHook` hands it the config loader of the run being started (with
``--env`` and ``--params``); without one (``kedro registry list``, tests) the registry reads ``conf/``
itself with ``KEDRO_ENV`` or the default run environment.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from kedro.config import OmegaConfigLoader

from agelab.experiments.grid import MODELS, CompareConfig, Plan, compare_config, plan_runs
from agelab.hooks import current_config_loader


def _parameters() -> dict[str, Any]:
    loader = current_config_loader()
    if loader is not None:
        return dict(loader["parameters"])
    from agelab.settings import CONFIG_LOADER_ARGS

    conf = Path.cwd() / "conf"
    if not conf.is_dir():
        return {}
    with warnings.catch_warnings():  # the resolver re-registration notice of a second loader
        warnings.simplefilter("ignore", UserWarning)
        loader = OmegaConfigLoader(str(conf), env=os.environ.get("KEDRO_ENV"), **CONFIG_LOADER_ARGS)
        return dict(loader["parameters"])


def load_plan() -> tuple[CompareConfig, Plan]:
    params = _parameters()
    config = compare_config(params.get("compare"))
    return config, plan_runs(config, {m: params.get(m, {}) for m in MODELS})
