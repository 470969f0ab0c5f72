"""Project hooks (registered in ``settings.HOOKS``)."""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl

_config_loader: Any = None


class ProjectConfigHook:
    """Keeps the config loader of the run being started (with its ``--env`` and ``--params``) for the
    pipeline registry: Kedro creates the context before it builds the pipelines, and the compare
    pipeline's shape (seeds, sweeps, cross-dataset sets) comes from configuration."""

    @hook_impl
    def after_context_created(self, context) -> None:
        global _config_loader
        _config_loader = context.config_loader


def current_config_loader() -> Any:
    """The config loader of the current run, or ``None`` outside a Kedro run."""
    return _config_loader
