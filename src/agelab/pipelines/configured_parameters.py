"""The project's parameters as the run being started sees them, for pipelines whose shape depends on
configuration (the compare pipeline's runs, the appearance pipeline's cross-dataset sets).

:class:`agelab.hooks.ProjectConfigHook` hands over the config loader of the run being started (with ``--env``
and ``--params``); without one (``kedro registry list``, tests) ``conf/`` is read with ``KEDRO_ENV`` or the
default run environment.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from kedro.config import OmegaConfigLoader

from agelab.hooks import current_config_loader


def configured_parameters() -> dict[str, Any]:
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
