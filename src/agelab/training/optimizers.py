"""The training optimizers: Adam on PyTorch's fused kernel, and several optimizers stepped as one.

SPS trains κ with Adagrad and everything else with Adam (Savov et al. §3.3). The composite is a
:class:`torch.optim.Optimizer` whose ``param_groups`` are its members' groups (the same dicts), so
learning-rate schedulers, gradient scaling and checkpoints treat it like any other."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def adam(params: Iterable[Any], *, lr: float, weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam (Kingma & Ba; L2 ``weight_decay`` added to the gradient) on PyTorch's fused kernel: one pass over
    each parameter tensor instead of the default's element-wise passes, each with its own full-size
    temporaries (on the CPU PyTorch's default is the single-tensor loop). The update is the same algorithm in
    fp32; on this project's 2-core CPU it takes AlexNet's 57 M parameters from 0.28 s to 0.04 s a step
    (``benchmarks/optimizer_step.py``). ``params`` may be tensors or parameter-group dicts, as for
    :class:`torch.optim.Adam`. A checkpoint saved by the unfused optimizer resumes fused
    (:func:`_stay_fused`)."""
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    optimizer.register_load_state_dict_post_hook(_stay_fused)
    return optimizer


def _stay_fused(optimizer: torch.optim.Optimizer) -> None:
    """After ``load_state_dict``: loading restores each group's saved settings, so a checkpoint of the unfused
    optimizer (``fused: None``) would switch the rest of the training to the slow path. Keep the fused kernel,
    with each step counter where it wants it (a float32 tensor on the parameter's device)."""
    for group in optimizer.param_groups:
        group["fused"], group["foreach"] = True, None
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if "step" in state:
                state["step"] = torch.as_tensor(state["step"], dtype=torch.float32, device=p.device)


class CompositeOptimizer(torch.optim.Optimizer):
    def __init__(self, optimizers: list[torch.optim.Optimizer]):
        if not optimizers:
            raise ValueError("CompositeOptimizer needs at least one optimizer")
        self.optimizers = optimizers
        groups = [group for optimizer in optimizers for group in optimizer.param_groups]
        super().__init__([{"params": group["params"]} for group in groups], defaults={})
        self.param_groups = groups  # the members' own dicts: a scheduler's lr change reaches them

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for optimizer in self.optimizers:
            optimizer.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return {"optimizers": [optimizer.state_dict() for optimizer in self.optimizers]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        states = state_dict["optimizers"]
        if len(states) != len(self.optimizers):
            raise ValueError(
                f"checkpoint holds {len(states)} optimizers, this composite {len(self.optimizers)}"
            )
        for optimizer, state in zip(self.optimizers, states, strict=True):
            optimizer.load_state_dict(state)
        self.param_groups = [group for optimizer in self.optimizers for group in optimizer.param_groups]
