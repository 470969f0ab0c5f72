"""The experiment plan of Savov et al. §5 as data: which model is trained with which seed and which
parameter values (Tables 2, 3, 4), and how each run's parameters derive from the model's own.

Everything is configuration (``parameters_compare.yml: compare``); this module only expands it. A sweep
point whose value equals the model's configured value at the sweep seed *is* that repeated run, so it
is reused rather than trained twice.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from agelab.config import ConfigError, from_mapping

MODELS = ("appearance", "hps", "sps")


@dataclasses.dataclass(frozen=True)
class Sweep:
    """One parameter of one model over a list of values (Table 2: HPS over w; Table 3: SPS over κ)."""

    model: str
    parameter: str  # dotted key into the model's parameters, e.g. "w" or "model.kappa_same"
    values: tuple[float, ...] = ()
    label: str = ""  # column header in the report; default: the parameter


@dataclasses.dataclass(frozen=True)
class GroupAnalysis:
    """§5.3: the pose / expression-extremeness groups (Figs. 3, 4) and examples (Fig. 5)."""

    groups: int = 5
    reference: str = "appearance"
    model: str = "sps"
    examples: int = 6  # most improved extreme faces shown with both predictions (Fig. 5)
    samples_per_group: int = 6  # faces per row of the group sample grids (Figs. 3a, 4a)


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """``parameters_compare.yml: compare``."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # or a count: 5 = (0, 1, 2, 3, 4)
    models: tuple[str, ...] = MODELS
    overrides: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # model -> nested keys
    sweeps: dict[str, Sweep] = dataclasses.field(default_factory=dict)
    sweep_seed: int = 0
    alpha: float = 0.05
    groups: GroupAnalysis = dataclasses.field(default_factory=GroupAnalysis)
    cross_datasets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # name -> data keys
    cross_evaluate: tuple[str, ...] = ()  # which of cross_datasets Table 5 evaluates
    cross_models: tuple[str, ...] = ("appearance", "sps")
    # the appearance runs' starting weights: "recon3d" = the 3D subnet's AlexNet, the start HPS and SPS
    # have without ImageNet weights (so the comparison measures sharing, not initialisation);
    # "configured" = parameters_appearance.yml's model.pretrained_weights (e.g. ImageNet, as the paper)
    appearance_init: str = "recon3d"
    keep_checkpoints: bool = False  # keep each finished run's epoch checkpoints (not only its model)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One training run: ``name`` is a Kedro namespace (letters, digits, underscores)."""

    name: str
    model: str
    seed: int
    sweep: str = ""  # the sweep it belongs to; "" for a repeated-training run only
    sweep_value: float | None = None


@dataclasses.dataclass(frozen=True)
class Plan:
    variants: tuple[Variant, ...]
    sweep_points: dict[str, tuple[tuple[float, str], ...]]  # sweep -> (value, variant name) in order

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    def repeated(self, model: str) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if v.model == model and not v.sweep)


def compare_config(params: Mapping[str, Any] | None) -> CompareConfig:
    """``seeds`` may be a count (``--params compare.seeds=5`` means seeds 0..4: Kedro's ``--params`` splits
    on commas, so a list cannot be given there). ``sweeps: null`` means no sweep runs."""
    params = dict(params or {})
    if "sweeps" in params and params["sweeps"] is None:
        # an environment's `sweeps: {}` cannot clear the base's under Kedro's soft merge; `null` can
        params["sweeps"] = {}
    if isinstance(params.get("seeds"), int) and not isinstance(params["seeds"], bool):
        if params["seeds"] < 1:
            raise ConfigError(f"compare.seeds is {params['seeds']}; give a positive count or a list of seeds")
        params["seeds"] = list(range(params["seeds"]))
    config = from_mapping(CompareConfig, params, where="parameters 'compare'")
    for model in (*config.models, *config.overrides, *config.cross_models):
        if model not in MODELS:
            raise ConfigError(f"compare: unknown model '{model}'; choose from {MODELS}")
    for name, sweep in config.sweeps.items():
        if sweep.model not in MODELS:
            raise ConfigError(f"compare.sweeps.{name}.model is '{sweep.model}'; choose from {MODELS}")
        if not sweep.values:
            raise ConfigError(f"compare.sweeps.{name}.values is empty")
    if config.appearance_init not in ("recon3d", "configured"):
        raise ConfigError(
            f"compare.appearance_init is '{config.appearance_init}'; choose recon3d or configured"
        )
    for name in config.cross_evaluate:
        if name not in config.cross_datasets:
            raise ConfigError(
                f"compare.cross_evaluate names '{name}', which compare.cross_datasets does not define "
                f"(defined: {sorted(config.cross_datasets)})"
            )
        if not re.fullmatch(r"\w+", name):
            raise ConfigError(f"compare.cross_datasets name '{name}': use letters, digits and underscores")
    if len(set(config.seeds)) != len(config.seeds):
        raise ConfigError(f"compare.seeds repeats a seed: {list(config.seeds)}")
    for needed in (config.groups.reference, config.groups.model, *config.cross_models):
        if needed not in config.models:
            raise ConfigError(f"compare needs the '{needed}' runs; add it to compare.models")
    return config


def _token(value: Any) -> str:
    return re.sub(r"[^0-9A-Za-z]", "_", str(value).replace(".", "p").replace("-", "m"))


def plan_runs(config: CompareConfig, model_params: Mapping[str, Mapping[str, Any]]) -> Plan:
    """Every run the comparison needs. ``model_params``: the models' own parameters (``params:sps`` …),
    used to recognise sweep points that equal a repeated run."""
    variants = [
        Variant(f"{model}_seed{seed}", model, seed) for model in config.models for seed in config.seeds
    ]
    sweep_points: dict[str, tuple[tuple[float, str], ...]] = {}
    for sweep_name, sweep in config.sweeps.items():
        points = []
        for value in sweep.values:
            try:
                configured = get_dotted(
                    run_parameters(model_params.get(sweep.model, {}), config, Variant("", sweep.model, 0)),
                    sweep.parameter,
                    where=f"compare.sweeps.{sweep_name}.parameter",
                )
            except ConfigError:  # not configured explicitly: always a run of its own
                configured = None
            if sweep.model in config.models and config.sweep_seed in config.seeds and configured == value:
                name = f"{sweep.model}_seed{config.sweep_seed}"
            else:
                name = f"{sweep_name}_{_token(value)}"
                variants.append(Variant(name, sweep.model, config.sweep_seed, sweep_name, value))
            points.append((value, name))
        sweep_points[sweep_name] = tuple(points)
    return Plan(tuple(variants), sweep_points)


def run_parameters(base: Mapping[str, Any], config: CompareConfig, variant: Variant) -> dict[str, Any]:
    """The model's parameters for one run: ``compare.overrides[model]`` (nested like the model's own
    parameters), then the sweep value, then ``training.seed``. The model's configuration parser checks
    the result (:func:`agelab.experiments.variant_runs.checked_run_parameters`)."""
    params = merge_overrides(
        base, config.overrides.get(variant.model, {}), where=f"compare.overrides.{variant.model}"
    )
    if variant.sweep:
        sweep = config.sweeps[variant.sweep]
        set_dotted(params, sweep.parameter, variant.sweep_value, where=f"compare.sweeps.{variant.sweep}")
    set_dotted(params, "training.seed", variant.seed, where="compare.seeds")
    return params


def get_dotted(params: Mapping[str, Any], key: str, *, where: str) -> Any:
    node: Any = params
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(f"{where}: '{key}' is not a parameter of this model")
        node = node[part]
    return node


def set_dotted(params: dict[str, Any], key: str, value: Any, *, where: str) -> None:
    """Set ``a.b.c`` in nested ``params``, creating missing levels (the model's own configuration
    parser, run on the result, rejects keys it does not know)."""
    parts = key.split(".")
    node: Any = params
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{where}: '{key}' goes through '{part}', which is not a section")
    node[parts[-1]] = value


def merge_overrides(base: Mapping[str, Any], overrides: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """``base`` with nested ``overrides`` applied key by key (a section replaces no sibling keys)."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = merge_overrides(merged[key], value, where=f"{where}.{key}")
        else:
            merged[key] = copy.deepcopy(value)
    return merged
