"""``kill -9`` of a training process in the middle of an epoch (40 of its 128 items served): the last
epoch's checkpoint is whole, and the rerun resumes from it and ends with exactly the weights of an
uninterrupted training."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import torch

from agelab.training.checkpoints import LAST, load_checkpoint

TRAIN = r"""
import sys, time
from pathlib import Path
import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset
from agelab.training.engine import TrainConfig, fit

EPOCH = [0]
PAUSE = sys.argv[3] == "pause"

class Problem(Dataset):
    # a linear age problem; with "pause", the 40th item of epoch 3 says MID and waits to be killed
    def __init__(self, n, seed, train):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x @ torch.tensor([3.0, -2.0, 1.0, 0.5]) + 40
        self.train, self.served = train, 0
    def __len__(self):
        return len(self.x)
    def __getitem__(self, i):
        if self.train and EPOCH[0] == 3:
            self.served += 1
            if PAUSE and self.served == 40:
                print("MID", flush=True)
                time.sleep(600)
        return self.x[i], self.y[i]

def epoch_start(epoch):
    EPOCH[0] = epoch
    print(f"EPOCH {epoch}", flush=True)

torch.manual_seed(123)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 1))
train, val = Problem(128, 0, True), Problem(16, 1, False)
checkpoints = None if sys.argv[1] == "-" else Path(sys.argv[1])
fit(
    model,
    lambda p, t: nn.functional.mse_loss(p.squeeze(-1), t),
    lambda m, x: m(x).squeeze(-1),
    lambda p, t: float(np.abs(p - t).mean()),
    train,
    val,
    TrainConfig(epochs=5, batch_size=8, learning_rate=0.02, lr_step_size=3, seed=5),
    checkpoint_dir=checkpoints,
    on_epoch_start=epoch_start,
    age_groups=(torch.arange(128) % 5).tolist(),
    show_progress=False,
)
torch.save(model.state_dict(), sys.argv[2])
"""


def _train(checkpoints: str, weights: str, pause: bool = False) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", TRAIN, checkpoints, weights, "pause" if pause else "run"],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_training_killed_mid_epoch_resumes_to_the_uninterrupted_weights(tmp_path):
    reference = _train("-", str(tmp_path / "reference.pt"))
    assert reference.wait(timeout=300) == 0, reference.stdout.read()[-3000:]

    checkpoints = tmp_path / "checkpoints"
    killed = _train(str(checkpoints), str(tmp_path / "killed.pt"), pause=True)
    for line in killed.stdout:  # 40 of epoch 3's 128 items served: epochs 0-2 are checkpointed
        if line.strip() == "MID":
            break
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    (last,) = checkpoints.rglob(LAST)
    assert load_checkpoint(last)["epoch"] == 2  # the last whole epoch, readable
    assert not (tmp_path / "killed.pt").exists()

    resumed = _train(str(checkpoints), str(tmp_path / "resumed.pt"))
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output[-3000:]
    assert "EPOCH 0" not in output and "EPOCH 3" in output  # resumed after epoch 2, not restarted
    expected = torch.load(tmp_path / "reference.pt")
    for name, tensor in torch.load(tmp_path / "resumed.pt").items():
        assert torch.equal(tensor, expected[name]), name
