"""The engine on a tiny model: learning, best-on-validation, exact resume after an interruption, DDP."""

import dataclasses
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from torch import nn
from torch.utils.data import TensorDataset

from agelab.config import ConfigError
from agelab.training.checkpoints import BEST, LAST, load_checkpoint
from agelab.training.engine import TrainConfig, fit, weight_average


def tiny_problem(n=96, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = x @ torch.tensor([3.0, -2.0, 1.0, 0.5]) + 40
    return TensorDataset(x, y), (torch.arange(n) % 5).tolist()


def tiny_model():
    torch.manual_seed(123)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 1))


def mse(prediction, target):
    return torch.nn.functional.mse_loss(prediction.squeeze(-1), target)


def predict(model, x):
    return model(x).squeeze(-1)


def mae(p, t):
    return float(np.abs(p - t).mean())


CONFIG = TrainConfig(epochs=6, batch_size=8, learning_rate=0.02, lr_step_size=4, seed=5)


def run(config=CONFIG, checkpoint_dir=None, on_epoch_end=None, on_epoch_start=None):
    train, groups = tiny_problem()
    val, _ = tiny_problem(32, seed=1)
    model = tiny_model()
    result = fit(
        model,
        mse,
        predict,
        mae,
        train,
        val,
        config,
        checkpoint_dir=checkpoint_dir,
        on_epoch_start=on_epoch_start,
        age_groups=groups,
        on_epoch_end=on_epoch_end,
        show_progress=False,
    )
    return model, result


def test_learns_and_keeps_the_best_validation_epoch(tmp_path):
    model, result = run(checkpoint_dir=tmp_path)
    first, best = result.history[0]["val_metric"], result.best_metric
    assert best < 0.5 * first
    assert best == min(h["val_metric"] for h in result.history)
    best_file = load_checkpoint(tmp_path / BEST)
    assert best_file["epoch"] == result.best_epoch
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, best_file["model"][name])  # returned model = best epoch, not last
    assert all(h["samples_per_s"] > 0 for h in result.history)


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_resume_after_interruption_equals_uninterrupted_run(tmp_path, ema_decay):
    config = dataclasses.replace(CONFIG, ema_decay=ema_decay)
    reference, _ = run(config)

    def interrupt(epoch):  # Ctrl-C as epoch 3 starts, after epoch 2's checkpoint
        if epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(config, checkpoint_dir=tmp_path, on_epoch_start=interrupt)
    assert load_checkpoint(tmp_path / LAST)["epoch"] == 2
    resumed, result = run(config, checkpoint_dir=tmp_path)
    assert result.resumed_from_epoch == 2 and len(result.history) == CONFIG.epochs
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_weight_average_is_the_exponential_moving_average_of_weights_and_batchnorm_statistics():
    """w_ema <- d * w_ema + (1 - d) * w after each step, the first step copied: by hand for d = 0.9."""
    model = nn.Sequential(nn.Linear(1, 1, bias=False), nn.BatchNorm1d(1))
    ema = weight_average(model, 0.9)
    expected = [1.0, 0.9 * 1.0 + 0.1 * 3.0, 0.9 * 1.2 + 0.1 * 5.0]  # 1.0, 1.2, 1.58
    for value, want in zip([1.0, 3.0, 5.0], expected, strict=True):
        with torch.no_grad():
            model[0].weight.fill_(value)
            model[1].running_mean.fill_(-value)
            model[1].num_batches_tracked += 1
        ema.update_parameters(model)
        assert ema.module[0].weight.item() == pytest.approx(want)
        assert ema.module[1].running_mean.item() == pytest.approx(-want)
        assert ema.module[1].num_batches_tracked.item() == model[1].num_batches_tracked.item()  # a count
    assert weight_average(model, 0.0) is None
    with pytest.raises(ConfigError, match=r"training\.ema_decay must be in"):
        TrainConfig(ema_decay=1.0)


def test_with_a_weight_average_the_average_is_validated_kept_and_returned(tmp_path):
    """The returned weights are the average's (not the raw last or best weights), and the best epoch's
    recorded validation MAE is that of the returned model."""
    config = dataclasses.replace(CONFIG, ema_decay=0.9)
    raw, _ = run(checkpoint_dir=tmp_path / "raw")
    averaged, result = run(config, checkpoint_dir=tmp_path / "ema")
    val, _ = tiny_problem(32, seed=1)
    averaged.eval()
    with torch.no_grad():
        val_mae = mae(predict(averaged, val.tensors[0]).numpy(), val.tensors[1].numpy())
    assert val_mae == pytest.approx(result.best_metric, rel=1e-5)
    assert not torch.equal(raw[0].weight, averaged[0].weight)
    assert result.best_metric < 0.6 * result.history[0]["val_metric"]  # it learns (lagging the raw weights)
    last = load_checkpoint(tmp_path / "ema" / LAST)
    assert last["ema"]["n_averaged"].item() == CONFIG.epochs * len(tiny_problem()[0]) // CONFIG.batch_size


def test_a_setting_left_at_its_default_keeps_older_checkpoints_resumable():
    assert "ema_decay" not in CONFIG.resume_key()
    assert dataclasses.replace(CONFIG, ema_decay=0.9).resume_key()["ema_decay"] == 0.9


def test_changed_settings_do_not_resume(tmp_path):
    run(checkpoint_dir=tmp_path)
    _, result = run(TrainConfig(**{**CONFIG.__dict__, "learning_rate": 0.01}), checkpoint_dir=tmp_path)
    assert result.resumed_from_epoch is None


def test_lr_milestones_decay_at_each_milestone_instead_of_every_step_size():
    """FOSS §4.2: ×0.1 at epochs 50 and 70 (MultiStepLR), here ×0.5 at 2 and 3 of 5 epochs."""
    config = TrainConfig(**{**CONFIG.__dict__, "epochs": 5, "lr_milestones": (2, 3), "lr_gamma": 0.5})
    _, result = run(config)
    # the rate the next epoch uses, recorded after each epoch's scheduler step
    assert [h["learning_rate"] for h in result.history] == pytest.approx([0.02, 0.01, 0.005, 0.005, 0.005])
    _, step = run(TrainConfig(**{**CONFIG.__dict__, "epochs": 5, "lr_gamma": 0.5}))  # StepLR every 4
    assert [h["learning_rate"] for h in step.history] == pytest.approx([0.02, 0.02, 0.02, 0.01, 0.01])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world_size, port, out):
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    model, result = run(TrainConfig(**{**CONFIG.__dict__, "epochs": 2}))
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    torch.save({"params": flat, "history": result.history}, f"{out}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


def test_distributed_data_parallel_on_cpu_with_gloo(tmp_path):
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert torch.equal(rank0["params"], rank1["params"])  # gradients were all-reduced
    assert rank0["history"][0]["val_metric"] == rank1["history"][0]["val_metric"]


def test_face_crop_dataset_preloads_only_what_fits(tmp_path, monkeypatch):
    import pandas as pd
    from PIL import Image

    from agelab.faces.crop_transforms import build_transform
    from agelab.training.data import FaceCropDataset

    paths = []
    for i in range(3):
        path = tmp_path / f"{i}.jpg"
        Image.new("RGB", (32, 32), (i * 40, 0, 0)).save(path)
        paths.append(str(path))
    faces = pd.DataFrame({"crop_path": paths, "age": [1.0, 2.0, 3.0]})
    assert FaceCropDataset(faces, build_transform(24, False))._cache is not None
    monkeypatch.setattr(FaceCropDataset, "PRELOAD_LIMIT_BYTES", 32 * 32 * 3 * 2)
    streamed = FaceCropDataset(faces, build_transform(24, False))
    assert streamed._cache is None
    image, age = streamed[2]
    assert image.shape == (3, 24, 24) and age.item() == 3.0


def test_entries_added_at_epoch_end_are_checkpointed_with_the_history(tmp_path):
    def add(epoch, metrics):
        metrics["kappa_like"] = 10.0 + epoch

    run(checkpoint_dir=tmp_path, on_epoch_end=add)
    history = load_checkpoint(tmp_path / LAST)["history"]
    assert [h["kappa_like"] for h in history] == [10.0 + e for e in range(CONFIG.epochs)]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"lr_step_size": 3}, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]),
        ({"lr_milestones": (2, 5)}, [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]),  # MultiStepLR, e.g. FOSS's 50/70
    ],
)
def test_step_decay_schedules(schedule, expected):
    from agelab.training.engine import make_scheduler

    config = TrainConfig(learning_rate=1.0, lr_gamma=0.5, **schedule)
    optimizer = torch.optim.SGD(tiny_model().parameters(), lr=config.learning_rate)
    scheduler = make_scheduler(optimizer, config)
    rates = []
    for _ in expected:
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx(expected)
