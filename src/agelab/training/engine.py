"""The training engine every model shares (torchvision ``references`` style).

``fit`` reads like torchvision's ``references/classification/train.py``: ``build_training`` (device,
optimiser, schedule, checkpoint folder), ``resume_training``, then ``train_one_epoch``, ``evaluate`` and
``save_epoch`` per epoch. It keeps the model that is best on the validation split (never the test split),
checkpoints every epoch and resumes from the last checkpoint. With ``ema_decay`` it validates, keeps and
returns an exponential moving average of the weights (updated after every optimiser step) instead of the
raw weights.
Each epoch's randomness (batch order, augmentation, dropout) is seeded from ``(seed, epoch)``, so a run
resumed after an interruption ends with exactly the weights of an uninterrupted one. Mixed precision is
used on CUDA; under ``torchrun`` the model is wrapped in DistributedDataParallel and every rank takes its
share of the batches.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset

from agelab.config import ConfigError
from agelab.device import resolve_device
from agelab.parallel import progress_bar
from agelab.training.allocator import retain_freed_memory
from agelab.training.checkpoints import (
    BEST,
    LAST,
    checkpoint_folder,
    fingerprint_key,
    load_checkpoint,
    save_checkpoint,
)
from agelab.training.distributed import DistributedContext, all_reduce_mean, init_distributed
from agelab.training.optimizers import adam
from agelab.training.samplers import AgeGroupAlternatingBatchSampler

logger = logging.getLogger(__name__)

Targets = torch.Tensor | Mapping[str, torch.Tensor]
LossFn = Callable[[torch.Tensor, Targets], torch.Tensor]
PredictFn = Callable[[nn.Module, torch.Tensor], torch.Tensor]
MetricFn = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class TrainConfig:
    """``parameters_<model>.yml: training``. The paper's appearance settings are Adam, lr 1e-5, batch 5,
    step decay, L2 0.01 (``conf/paper``); the base configuration is sized for a 2-core CPU."""

    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-4
    weight_decay: float = 0.0  # L2 regularisation through the optimizer
    lr_step_size: int = 10  # step decay every this many epochs
    lr_gamma: float = 0.1
    lr_milestones: tuple[int, ...] | None = None  # decay at these epochs instead (MultiStepLR)
    seed: int = 0
    device: str = "auto"  # auto = cuda if present, else cpu
    amp: bool = True  # mixed precision (float16 + grad scaling) on CUDA; ignored on CPU
    workers: int = 0  # DataLoader worker processes
    alternate_age_groups: bool = True  # batches alternate the five age groups (§4)
    max_batches_per_epoch: int | None = None  # cap for smoke runs
    # > 0: the model validated, kept and returned is the moving average w_ema <- d * w_ema + (1 - d) * w of
    # the weights (and BatchNorm statistics) after each optimiser step, d = ema_decay; 0: the raw weights.
    # Per-epoch logs of the weights themselves (SPS's κ curves) follow the raw weights being trained.
    ema_decay: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"training.ema_decay must be in [0, 1), got {self.ema_decay}")

    def resume_key(self) -> dict[str, Any]:
        """Settings a checkpoint must share to be resumed (epochs may grow; workers may change). A setting
        added later is left out at its default, so checkpoints made before it still resume."""
        key = dataclasses.asdict(self)
        for name in ("epochs", "workers", "device"):
            key.pop(name)
        if not self.ema_decay:
            key.pop("ema_decay")
        return key


@dataclass
class FitResult:
    model: nn.Module
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    best_metric: float = float("inf")
    resumed_from_epoch: int | None = None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 100_003 + epoch


def make_loader(
    dataset: Dataset,
    config: TrainConfig,
    *,
    train: bool,
    epoch: int = 0,
    age_groups: Sequence[int] | None = None,
    context: DistributedContext | None = None,
) -> DataLoader:
    """One epoch of batches: age-group alternating (or shuffled) for training, in order for evaluation;
    under DDP each rank takes every ``world_size``-th batch."""
    context = context or DistributedContext()
    generator = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch))
    if not train:
        return DataLoader(dataset, batch_size=config.batch_size, shuffle=False, num_workers=config.workers)
    if config.alternate_age_groups and age_groups is not None:
        sampler = AgeGroupAlternatingBatchSampler(
            age_groups, config.batch_size, seed=config.seed, drop_last=True
        )
        sampler.set_epoch(epoch)
        batches = list(sampler)
    else:
        order = torch.randperm(len(dataset), generator=generator).tolist()
        batches = [
            order[i : i + config.batch_size]
            for i in range(0, len(order) - config.batch_size + 1, config.batch_size)
        ]
    batches = batches[context.rank :: context.world_size]
    if config.max_batches_per_epoch:
        batches = batches[: config.max_batches_per_epoch]
    return DataLoader(dataset, batch_sampler=batches, num_workers=config.workers, generator=generator)


def train_one_epoch(
    model: nn.Module,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    loader: DataLoader,
    device: torch.device,
    epoch: int,
    *,
    scaler: torch.amp.GradScaler | None = None,
    show_progress: bool = True,
    after_step: Callable[[], None] | None = None,
) -> dict[str, float]:
    """One pass over ``loader``; returns the mean loss and the throughput in samples per second.
    ``after_step`` runs after each optimiser step (the weight average's update)."""
    model.train()
    total_loss, seen = 0.0, 0
    use_amp = scaler is not None
    bar = progress_bar(loader, desc=f"epoch {epoch}", unit="batch", disable=not show_progress, leave=False)
    start = time.perf_counter()
    for images, targets in bar:
        images = images.to(device, non_blocking=True)
        targets = to_device(targets, device)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
            loss = loss_fn(model(images), targets)
        stepped = True
        if use_amp:
            scaler.scale(loss).backward()
            scale = scaler.get_scale()
            scaler.step(optimizer)
            scaler.update()
            stepped = scaler.get_scale() >= scale  # it drops only when inf/NaN gradients skipped the step
        else:
            loss.backward()
            optimizer.step()
        if after_step is not None and stepped:
            after_step()
        total_loss += loss.item() * len(images)
        seen += len(images)
        elapsed = time.perf_counter() - start
        bar.set_postfix(
            loss=f"{total_loss / seen:.3f}", samples_per_s=f"{seen / max(elapsed, 1e-9):.1f}", refresh=False
        )
    elapsed = time.perf_counter() - start
    return {"train_loss": total_loss / max(seen, 1), "samples_per_s": seen / max(elapsed, 1e-9)}


def to_device(targets: Targets, device: torch.device) -> Targets:
    """Move a target tensor, or each tensor of a dict of them, to ``device``."""
    if isinstance(targets, Mapping):
        return {key: value.to(device, non_blocking=True) for key, value in targets.items()}
    return targets.to(device, non_blocking=True)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    predict_fn: PredictFn,
    loader: DataLoader,
    device: torch.device,
    *,
    target_key: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and targets over ``loader`` (model in eval mode). Where targets are dicts, the entry
    ``target_key`` is the one the metric compares with."""
    model.eval()
    predictions, targets = [], []
    for images, target in loader:
        predictions.append(predict_fn(model, images.to(device)).float().cpu())
        targets.append((target[target_key] if isinstance(target, Mapping) else target).float())
    return torch.cat(predictions).numpy(), torch.cat(targets).numpy()


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


@dataclass
class TrainingSetup:
    """What :func:`build_training` makes: the device and process group, the optimiser, its schedule, the
    gradient scaler (mixed precision on CUDA) and the checkpoint folder of this run."""

    model: nn.Module
    device: torch.device
    context: DistributedContext
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler | None
    checkpoints: Path | None
    ema: torch.optim.swa_utils.AveragedModel | None = None

    @property
    def evaluated(self) -> nn.Module:
        """The model validated and kept: the weight average where there is one, else the model."""
        return self.ema.module if self.ema is not None else _unwrap(self.model)


def weight_average(model: nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    """The exponential moving average of ``model``'s weights and floating-point buffers (``decay`` > 0), or
    None. Its first update copies the weights; each later one is w_ema <- decay * w_ema + (1 - decay) * w.
    Integer buffers (BatchNorm's ``num_batches_tracked``) are counts, not estimates: copied as they are."""
    if not decay:
        return None

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], _: torch.Tensor) -> None:
        # AveragedModel groups the tensors by device and dtype: one dtype per call
        if torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(averaged, current, 1.0 - decay)
        else:
            torch._foreach_copy_(averaged, current)

    return torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=update, use_buffers=True)


def build_training(
    model: nn.Module,
    config: TrainConfig,
    *,
    checkpoint_dir: str | Path | None = None,
    fingerprint: Mapping[str, Any] | None = None,
    make_optimizer: Callable[[nn.Module, TrainConfig], torch.optim.Optimizer] | None = None,
) -> TrainingSetup:
    """Device, ``torchrun`` process group, seeded initial state, optimiser, schedule, scaler, and the
    checkpoint sub-folder named by ``fingerprint`` and the training settings (so a run resumes only its
    own checkpoints). On glibc, freed memory stays in the process for the next step
    (:func:`agelab.training.allocator.retain_freed_memory`)."""
    retain_freed_memory()
    device = resolve_device(config.device)
    context = init_distributed(device)
    if device.type == "cuda" and context.enabled:
        device = torch.device("cuda", context.local_rank)
    if context.enabled:
        logger.info(
            "distributed training: rank %d of %d on %s (%s); each rank takes every %d-th batch",
            context.rank,
            context.world_size,
            device,
            torch.distributed.get_backend(),
            context.world_size,
        )
    seed_everything(config.seed)
    model.to(device)
    optimizer = (make_optimizer or default_optimizer)(model, config)
    directory = Path(checkpoint_dir) if checkpoint_dir else None
    if directory and fingerprint is not None:
        full = {**fingerprint, "training": config.resume_key()}
        # every rank resumes the same folder; only rank 0 writes its fingerprint and says what changed
        directory = (
            checkpoint_folder(directory, full) if context.is_main else directory / fingerprint_key(full)
        )
    return TrainingSetup(
        model=model,
        device=device,
        context=context,
        optimizer=optimizer,
        scheduler=make_scheduler(optimizer, config),
        scaler=torch.amp.GradScaler("cuda") if device.type == "cuda" and config.amp else None,
        checkpoints=directory,
        ema=weight_average(model, config.ema_decay),
    )


def resume_training(setup: TrainingSetup, config: TrainConfig, result: FitResult) -> tuple[int, dict | None]:
    """Load the run's last checkpoint, if it was made with these settings: model, optimiser, schedule and
    scaler state, the history and the best epoch into ``result``. Returns the first epoch still to train
    and the best epoch's weights so far."""
    directory = setup.checkpoints
    if not directory or not (directory / LAST).is_file():
        return 0, None
    state = load_checkpoint(directory / LAST)
    if state.get("resume_key") != config.resume_key():
        logger.warning("checkpoint in %s was made with other settings: training from scratch", directory)
        return 0, None
    setup.model.load_state_dict(state["model"])
    setup.optimizer.load_state_dict(state["optimizer"])
    setup.scheduler.load_state_dict(state["scheduler"])
    if setup.scaler is not None and state.get("scaler"):
        setup.scaler.load_state_dict(state["scaler"])
    if setup.ema is not None:
        setup.ema.load_state_dict(state["ema"])
    result.history, result.best_epoch, result.best_metric = (
        state["history"],
        state["best_epoch"],
        state["best_metric"],
    )
    result.resumed_from_epoch = state["epoch"]
    best_state = load_checkpoint(directory / BEST)["model"] if (directory / BEST).is_file() else None
    logger.info("resuming from %s after epoch %d", directory / LAST, state["epoch"])
    return state["epoch"] + 1, best_state


def save_epoch(
    setup: TrainingSetup, config: TrainConfig, result: FitResult, epoch: int, best_state: dict | None
) -> None:
    """Checkpoint the end of ``epoch``: the best weights when this epoch is the best so far, and the whole
    state to resume from (both written atomically)."""
    directory = setup.checkpoints
    if not directory or not setup.context.is_main:
        return
    if result.best_epoch == epoch:
        save_checkpoint(
            {"model": best_state, "epoch": epoch, "val_metric": result.best_metric}, directory / BEST
        )
    save_checkpoint(
        {
            "model": _unwrap(setup.model).state_dict(),
            "optimizer": setup.optimizer.state_dict(),
            "scheduler": setup.scheduler.state_dict(),
            "scaler": setup.scaler.state_dict() if setup.scaler else None,
            "ema": setup.ema.state_dict() if setup.ema is not None else None,
            "epoch": epoch,
            "config": dataclasses.asdict(config),
            "resume_key": config.resume_key(),
            "history": result.history,
            "best_epoch": result.best_epoch,
            "best_metric": result.best_metric,
        },
        directory / LAST,
    )


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    predict_fn: PredictFn,
    metric_fn: MetricFn,
    train_set: Dataset,
    val_set: Dataset,
    config: TrainConfig,
    *,
    checkpoint_dir: str | Path | None = None,
    fingerprint: Mapping[str, Any] | None = None,
    age_groups: Sequence[int] | None = None,
    make_optimizer: Callable[[nn.Module, TrainConfig], torch.optim.Optimizer] | None = None,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    on_epoch_start: Callable[[int], None] | None = None,
    show_progress: bool = True,
    target_key: str | None = None,
) -> FitResult:
    """Train ``model`` and return it with the weights of its best validation epoch (lower metric = better):
    :func:`build_training`, :func:`resume_training`, then per epoch :func:`train_one_epoch`,
    :func:`evaluate` and :func:`save_epoch`.

    Targets may be tensors or dicts of tensors (a loss that needs the image and its landmarks);
    ``target_key`` names the entry the validation metric is computed against. With a ``fingerprint``
    (:func:`~agelab.training.checkpoints.training_fingerprint`) the checkpoints go to the sub-folder of
    ``checkpoint_dir`` named by it and these training settings: a run resumes only its own checkpoints."""
    setup = build_training(
        model, config, checkpoint_dir=checkpoint_dir, fingerprint=fingerprint, make_optimizer=make_optimizer
    )
    result = FitResult(model)
    start_epoch, best_state = resume_training(setup, config, result)
    context, device = setup.context, setup.device
    train_model = DistributedDataParallel(model) if context.enabled else model
    for epoch in range(start_epoch, config.epochs):
        seed_everything(_epoch_seed(config.seed, epoch))
        if on_epoch_start is not None:
            on_epoch_start(epoch)  # e.g. a curriculum stage, which must follow the epoch on resume
        loader = make_loader(
            train_set, config, train=True, epoch=epoch, age_groups=age_groups, context=context
        )
        metrics = train_one_epoch(
            train_model,
            loss_fn,
            setup.optimizer,
            loader,
            device,
            epoch,
            scaler=setup.scaler,
            show_progress=show_progress and context.is_main,
            after_step=(lambda: setup.ema.update_parameters(model)) if setup.ema is not None else None,
        )
        setup.scheduler.step()
        predictions, targets = evaluate(
            setup.evaluated,
            predict_fn,
            make_loader(val_set, config, train=False),
            device,
            target_key=target_key,
        )
        metrics["train_loss"] = all_reduce_mean(metrics["train_loss"], context)
        metrics["val_metric"] = float(metric_fn(predictions, targets))
        metrics["learning_rate"] = setup.optimizer.param_groups[0]["lr"]
        metrics["epoch"] = epoch
        result.history.append(metrics)
        if on_epoch_end is not None and context.is_main:
            on_epoch_end(epoch, metrics)  # may add entries (e.g. κ): they are checkpointed with the history
        improved = metrics["val_metric"] < result.best_metric
        if improved:
            result.best_metric, result.best_epoch = metrics["val_metric"], epoch
            best_state = copy.deepcopy(setup.evaluated.state_dict())
        save_epoch(setup, config, result, epoch, best_state)
        logger.info(
            "epoch %d: train loss %.4f, val %.4f, %.1f samples/s%s",
            epoch,
            metrics["train_loss"],
            metrics["val_metric"],
            metrics["samples_per_s"],
            " (best)" if improved else "",
        )
    if best_state is not None:
        model.load_state_dict(best_state)
    return result


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig
) -> torch.optim.lr_scheduler.LambdaLR:
    """Step decay: the rate × ``lr_gamma`` every ``lr_step_size`` epochs, or at each of ``lr_milestones``
    (StepLR / MultiStepLR in closed form). A parameter group marked ``constant_lr`` keeps its own rate
    (SPS's κ under Adagrad, unless configured otherwise)."""
    if config.lr_milestones:
        milestones = sorted(config.lr_milestones)

        def decay(epoch: int) -> float:
            return config.lr_gamma ** bisect.bisect_right(milestones, epoch)
    else:
        if config.lr_step_size < 1:
            raise ValueError(f"lr_step_size must be at least 1, got {config.lr_step_size}")

        def decay(epoch: int) -> float:
            return config.lr_gamma ** (epoch // config.lr_step_size)

    lambdas = [(lambda _: 1.0) if group.get("constant_lr") else decay for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambdas)


def default_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    return adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
