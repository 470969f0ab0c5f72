"""Kedro project settings."""

import logging
import os
import warnings

from kedro.config import OmegaConfigLoader

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/<env>/ files override single keys of conf/base, not whole top-level sections
    "merge_strategy": {"parameters": "soft", "catalog": "soft"},
    # ${env:NAME, default} reads an environment variable (e.g. AGELAB_UTKFACE_DIR) in any config file
    "custom_resolvers": {"env": lambda name, default=None: os.environ.get(name, default)},
    # kedro-mlflow's pattern, known before its hook adds it (SharedTrackingStoreHook reads it first)
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]},
}

# omegaconf 2.4 deprecates register_new_resolver(), which Kedro's OmegaConfigLoader and kedro-mlflow call
# (kedro/config/omegaconf_config.py, kedro_mlflow/framework/hooks/mlflow_hook.py): a block per resolver on
# every run that nobody but those projects can act on. Dropped until they move to register_resolver().
warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning)

# kedro-mlflow's own pipeline model has no type hints, and MLflow says so when it is imported: nothing a user
# can act on. MLflow resets the warning filters around that check, so the line is dropped where Kedro logs it.
logging.getLogger("py.warnings").addFilter(
    lambda record: "Add type hints to the `predict` method" not in record.getMessage()
)

# kedro-viz's run hook warns on every partial run (--to-nodes, --from-nodes, --namespaces) that it records
# workflow events only for whole runs (kedro-viz issue 2443): advice about kedro-viz's own event file, which
# nothing here reads, on runs these docs ask for. Dropped where it is logged.
logging.getLogger("kedro_viz.integrations.kedro.run_hooks").addFilter(
    lambda record: "Workflow tracking is disabled" not in record.getMessage()
)

# the compare pipeline's shape (seeds, sweeps, cross-dataset sets) is read from the run's configuration
from agelab.hooks import (  # noqa: E402
    ProjectConfigHook,
    SharedTrackingStoreHook,
    TorchrunHook,
    TrainingExperimentHook,
    torchrun_rank,
)

HOOKS = (ProjectConfigHook(), SharedTrackingStoreHook(), TorchrunHook(), TrainingExperimentHook())

# under torchrun only rank 0 tracks the run in MLflow (docs/scale_out.md)
if torchrun_rank() > 0:
    DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow",)
