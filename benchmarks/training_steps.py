"""One training step (forward, loss, backward, optimizer step) of each model, on random inputs of the sizes
a configuration names, on any device, with optional mixed precision. Shared by ``machine_peak.py`` and
``gpu_suite.py`` (speed does not depend on the pixels, so random images stand in for face crops).

* appearance subnet, HPS, SPS: the real losses (Eq. 11; Eq. 12 with L_fit on the procedural model);
* FOSS: the joined network (detector, both connections, age network) at the sizes given, with a surrogate
  loss (the mean square of every output that carries a gradient): the network's cost is what is measured,
  not the target encoding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import torch

Step = Callable[[], None]


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Mixed precision for ``dtype`` (float16 / bfloat16) or nothing (``None``)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def _stepper(
    model, loss_of, optimizer, device: torch.device, amp: torch.dtype | None, fused: bool = True
) -> Step:
    if not fused:  # PyTorch's default Adam (the single-tensor loop on the CPU), as before optimizers.adam
        for group in optimizer.param_groups:
            if "fused" in group:
                group["fused"] = None
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 and device.type == "cuda" else None

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, amp):
            loss = loss_of(model)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()

    return step


def appearance_step(
    batch: int,
    size: int,
    device: torch.device,
    amp: torch.dtype | None = None,
    channels_last: bool = False,
    fused: bool = True,
    compiled: bool = False,
) -> Step:
    from agelab.losses.age import age_distance_loss
    from agelab.models.alexnet import appearance_subnet
    from agelab.training.optimizers import adam

    model = appearance_subnet(0, 80).train().to(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    optimizer = adam(model.parameters(), lr=1e-5)
    images = torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=memory_format)
    ages = torch.randint(0, 81, (batch,), device=device).float()
    forward = torch.compile(model) if compiled else model
    return _stepper(
        forward, lambda m: age_distance_loss(m(images).float(), ages, 0, 0.2), optimizer, device, amp, fused
    )


def multitask_step(
    sharing: str,
    batch: int,
    size: int,
    device: torch.device,
    amp: torch.dtype | None = None,
    fused: bool = True,
    compiled: bool = False,
) -> Step:
    from agelab.losses.multitask import MultiTaskObjective
    from agelab.losses.reconstruction import FitObjective, FitWeights
    from agelab.models.multitask import BothOutputs, hps_net, sps_net
    from agelab.morphable.camera import Camera
    from agelab.morphable.procedural import build_procedural_model
    from agelab.training.multitask_training import MultiTaskConfig, make_optimizer

    net = (sps_net if sharing == "sps" else hps_net)(0, 80, recon3d={"translation": [0.0, 0.0, 900.0]})
    model = BothOutputs(net).train().to(device)
    optimizer = make_optimizer(net, MultiTaskConfig(sharing=sharing))
    objective = MultiTaskObjective(
        FitObjective(build_procedural_model().model, Camera.for_image(size), FitWeights()),
        w=None,
        min_age=0,
        lambda_dist=0.2,
    )
    images = torch.randn(batch, 3, size, size, device=device)
    centre = torch.tensor([size / 2, size / 2], device=device)
    targets = {
        "image": torch.rand(batch, 3, size, size, device=device),
        "landmarks": centre + torch.randn(batch, 68, 2, device=device) * size / 6,
        "landmark_weight": torch.ones(batch, device=device),
        "age": torch.randint(0, 81, (batch,), device=device).float(),
    }

    def loss_of(m) -> torch.Tensor:
        logits, z = m(images)
        return objective((logits.float(), z.float()), targets)

    return _stepper(torch.compile(model) if compiled else model, loss_of, optimizer, device, amp, fused)


def foss_model_settings(environment: str) -> dict:
    """``foss.model`` of ``conf/<environment>/parameters_foss.yml`` over ``conf/base``'s, without the initial
    weight files (random initialisation: speed does not depend on the weights)."""
    import yaml

    settings: dict = {}
    for env in dict.fromkeys(("base", environment)):
        path = Path("conf") / env / "parameters_foss.yml"
        if path.is_file():
            settings.update(((yaml.safe_load(path.read_text()) or {}).get("foss") or {}).get("model") or {})
    return {key: value for key, value in settings.items() if not key.endswith("_weights")}


def foss_step(
    batch: int,
    size: int,
    device: torch.device,
    amp: torch.dtype | None = None,
    environment: str = "base",
    k: int = 4,
    fused: bool = True,
    **overrides,
) -> Step:
    from agelab.config import from_mapping
    from agelab.training.foss_training import FossModelConfig
    from agelab.training.optimizers import adam

    settings = {**foss_model_settings(environment), **overrides}
    model = from_mapping(FossModelConfig, settings, where="foss.model").build().train().to(device)
    optimizer = adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    images = torch.rand(batch, 3, size, size, device=device)

    def loss_of(m) -> torch.Tensor:
        output = m(images, k=k)
        tensors = [*vars(output).values(), *vars(output.detector).values()]
        return sum(t.float().square().mean() for t in tensors if torch.is_tensor(t) and t.requires_grad)

    return _stepper(model, loss_of, optimizer, device, amp, fused)
