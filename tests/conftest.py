"""Shared fixtures. Nothing here touches the network; MLflow and Kedro write to temp folders."""

from __future__ import annotations

import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# make test runs the suite on pytest-xdist workers (one per core): each worker and the subprocesses it starts
# get an equal share of the cores, set before torch is imported (torch's default, one thread per core in
# every worker, oversubscribes the machine and runs several times slower)
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _threads = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ["OMP_NUM_THREADS"] = str(_threads)
    os.environ["MKL_NUM_THREADS"] = str(_threads)

# MLflow notes at import that kedro-mlflow's pipeline model has no type hints, under a warning filter of its
# own that pytest's cannot override: import it once here with the note recorded and dropped (settings.py drops
# it from the console). Importing Kedro also routes warnings into its logging and logs which logging file it
# uses: an xdist worker's console is not captured while conftest loads, so both are silenced for the import.
logging.disable(logging.WARNING)
try:
    with warnings.catch_warnings(record=True):
        import kedro_mlflow.mlflow.kedro_pipeline_model  # noqa: F401
finally:
    logging.disable(logging.NOTSET)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
UTKFACE_DIR = PROJECT_ROOT.parent / "shared" / "datasets" / "utkface" / "UTKFace"


# `kedro run --params` of a fast data pipeline and a fast appearance training, for tests that run the project
DATA_RUN_PARAMS = "data.synthetic.n_faces=16,data.show_progress=false,data.processing.workers=1"
APPEARANCE_RUN_PARAMS = (
    "appearance.training.epochs=1,appearance.training.batch_size=4,appearance.training.device=cpu,"
    "appearance.training.max_batches_per_epoch=4,appearance.show_progress=false"
)


@pytest.fixture
def data_run_params() -> str:
    """``kedro run --params`` of a 16-face synthetic data pipeline."""
    return DATA_RUN_PARAMS


@pytest.fixture
def appearance_run_params() -> str:
    """``kedro run --params`` of a one-epoch, 4-batch appearance training on the CPU."""
    return APPEARANCE_RUN_PARAMS


# a FOSS network small enough for CPU tests (the paper's sizes: conf/paper/parameters_foss.yml)
SMALL_FOSS = dict(
    detector_width=0.25,
    head_conv=16,
    deformable=False,
    detector_input=128,
    age_width=0.25,
    crop_width=32,
    crop_height=48,
    intermediate_channels=8,
    head_channels=16,
    top_k=5,
)


def jpeg_bytes(seed: int = 0, size: int = 64, grey: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, size=(size, size, 3), dtype=np.uint8)
    if grey:
        pixels[..., 1] = pixels[..., 2] = pixels[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` × ``height`` grey pixels and whose data is one empty row: what
    a decompression bomb looks like to a decoder's size check, in a few bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def synthetic_set(tmp_path_factory) -> Path:
    """A small rendered synthetic face set (24 faces + duplicates) in its on-disk layout."""
    from agelab.synthetic.face_set import FaceSetConfig, render_face_set

    root = tmp_path_factory.mktemp("synthetic")
    render_face_set(
        FaceSetConfig(n_faces=24, seed=3, chunk_size=10, duplicate_fraction=0.1, grayscale_fraction=0.1),
        root,
        workers=1,
        show_progress=False,
    )
    return root


@pytest.fixture(scope="session")
def real_utkface_files() -> list[Path]:
    if not UTKFACE_DIR.is_dir():  # the shared dataset sits beside the repository in this workspace
        pytest.skip(f"UTKFace not found at {UTKFACE_DIR}")
    return sorted(UTKFACE_DIR.glob("*.jpg"))


def untrained_appearance_bundle(seed: int = 0):
    """An appearance subnet with seeded random weights, framed as the base settings (128 px crop, margin 0.2,
    112 px input): what the inference, serving and export tests run."""
    import torch

    from agelab.models.alexnet import appearance_subnet
    from agelab.models.bundle import ModelBundle

    torch.manual_seed(seed)
    return ModelBundle(
        "appearance_subnet",
        {"min_age": 0, "max_age": 80, "pretrained_weights": None, "dropout": 0.5, "head_dropout": 0.0},
        appearance_subnet(0, 80).state_dict(),
        crop_size=128,
        crop_margin=0.2,
        image_size=112,
    )


@pytest.fixture
def start_kedro_run():
    """``start(project, arguments, env, log)``: ``kedro run <arguments>`` in ``project``, in its own process
    group (a test can SIGKILL the whole run), its console to the file ``log`` (a pipe nobody reads while the
    test polls could fill and stall it). A run still alive when the test ends (a failed assertion) is killed
    with its whole group, so no orphaned training outlives the test."""
    import os
    import signal
    import subprocess
    import sys

    runs: list[subprocess.Popen] = []

    def start(project: Path, arguments: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        with log.open("w") as out:
            run = subprocess.Popen(
                [sys.executable, "-m", "kedro", "run", *arguments],
                cwd=project,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        runs.append(run)
        return run

    yield start
    for run in runs:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=30)


def finish_kedro_run(run, log: Path, timeout: float = 900) -> str:
    """Wait for a :func:`start_kedro_run` run to end, assert it succeeded, return its console."""
    run.wait(timeout=timeout)
    output = log.read_text()
    assert run.returncode == 0, output[-4000:]
    return output


def copy_project(tmp_path: Path, *extra: str) -> Path:
    """A runnable copy of this Kedro project (conf without conf/local, pyproject, src, and ``extra``
    folders) under ``tmp_path/project``, for real ``kedro run``s that write only there."""
    import shutil

    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(PROJECT_ROOT / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", project)
    for folder in ("src", *extra):
        shutil.copytree(PROJECT_ROOT / folder, project / folder)
    return project


@pytest.fixture(autouse=True)
def _mlflow_state_does_not_leak_between_tests():
    """MLflow keeps the active run, experiment and tracking URI in process globals, and ``set_experiment``
    also exports ``MLFLOW_EXPERIMENT_ID`` to every subprocess started later: reset them after each test, so a
    test never depends on which tests ran before it in the same (xdist worker) process."""
    yield
    import sys

    if "mlflow" not in sys.modules:
        return
    import mlflow
    import mlflow.tracking.fluent

    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.tracking.fluent._active_experiment_id = None
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    mlflow.set_tracking_uri(None)


#: the start of tests/browser's skip reason where no Chromium is found
BROWSER_SKIP = "browser tests did not run"


def pytest_terminal_summary(terminalreporter) -> None:
    """Say in plain words when the browser tests (tests/browser) were skipped for want of a browser."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and BROWSER_SKIP in str(report.longrepr[-1])
    ]
    if skipped:
        reason = str(skipped[0].longrepr[-1]).removeprefix("Skipped: ")
        terminalreporter.write_sep("=", f"{len(skipped)} {reason}", yellow=True, bold=True)
