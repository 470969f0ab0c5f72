"""Initial weights from a state-dict file the user holds (nothing is downloaded).

FOSS §4.2 trains CenterNet "from the pre-trained weight" and the age sub-network from "the weight trained with
IMDB-WIKI"; these files carry such weights in. A file that is missing, unreadable or does not fit the module
fails with its path and how many of the module's keys it matched, never with a partial silent load.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

logger = logging.getLogger(__name__)


def load_weights(module: nn.Module, path: str | Path, *, what: str, ignore: tuple[str, ...] = ()) -> None:
    """Load the state dict saved at ``path`` (``torch.load(weights_only=True)``) into ``module``: every key
    must be present with its shape. Keys starting with an ``ignore`` prefix (e.g. an ImageNet classifier)
    and a DistributedDataParallel ``module.`` prefix are dropped first; ``what`` names the parameter in
    errors."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: no file at {path.resolve()}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip or weights_only refusals all mean the same thing here
        raise ValueError(f"{what}: cannot read {path} as a state dict of tensors ({exc})") from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{what}: {path} holds a {type(state).__name__}, not a state dict of tensors")
    state = {k.removeprefix("module."): v for k, v in state.items() if not k.startswith(ignore)}
    expected = module.state_dict()
    wrong_shape = {
        k: (tuple(v.shape), tuple(expected[k].shape))
        for k, v in state.items()
        if k in expected and v.shape != expected[k].shape
    }
    fitting = {k: v for k, v in state.items() if k not in wrong_shape}
    missing, unexpected = module.load_state_dict(fitting, strict=False)  # the module's load hooks run
    if missing or unexpected:
        matched = len(expected) - len(missing)
        absent = [k for k in missing if k not in wrong_shape]
        details = [f"{len(absent)} missing (e.g. {absent[:3]})"] if absent else []
        if unexpected:
            details.append(f"{len(unexpected)} not in the model (e.g. {unexpected[:3]})")
        if wrong_shape:
            key = next(iter(wrong_shape))
            details.append(
                f"{len(wrong_shape)} of another shape (e.g. {key}: file {wrong_shape[key][0]}, "
                f"model {wrong_shape[key][1]})"
            )
        raise ValueError(
            f"{what}: {path} does not fit the {type(module).__name__}: {matched} of its {len(expected)} keys "
            f"matched; {'; '.join(details)}"
        )
    logger.info("%s: %s initialised from %s", what, type(module).__name__, path)
