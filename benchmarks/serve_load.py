"""Serving under load: `mlflow models serve` with the appearance and FOSS models, 1 / 4 / 16 concurrent
clients sending real photos (WIDER FACE multi-face photos from ../shared, at most 640 px on the long side).

    .venv/bin/python benchmarks/serve_load.py [--seconds 20] [--clients 1 4 16] [--json /tmp/serve.json]
        [--appearance-model PATH.pt] [--foss-model PATH.pt]

Each client sends one photo per request (base64 in ``dataframe_split``) and waits for the answer, as a web
front end would. Printed per model and concurrency: requests/s, faces/s, p50 / p95 latency, errors (any
non-200 answer or a row with an error; must be 0) and the server's peak RSS (the server process and its
workers, sampled every 0.2 s). Without ``--*-model`` the models are untrained networks of the base sizes
(conf/base): speed does not depend on the weights, except FOSS's face count (its top-K boxes above the score
threshold), which is why faces/s is printed beside requests/s. The server runs with ``--workers 1`` on
127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import torch
from PIL import Image

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WIDER = PROJECT_ROOT.parent / "shared" / "datasets" / "wider_face_train_subset" / "images"
BASE_FOSS = dict(
    detector_width=0.5,
    head_conv=64,
    deformable=False,
    detector_input=256,
    age_width=0.5,
    crop_width=80,
    crop_height=112,
    intermediate_channels=32,
    head_channels=128,
    top_k=20,
)


def photos(count: int, long_side: int = 640) -> list[bytes]:
    """``count`` real photos as JPEG bytes (WIDER FACE if present, else skimage's astronaut)."""
    every = sorted(WIDER.rglob("*.jpg"))
    files = every[:: max(1, len(every) // count)][:count]
    images = [Image.open(f).convert("RGB") for f in files]
    if not images:
        import skimage.data

        images = [Image.fromarray(skimage.data.astronaut())]
    encoded = []
    for image in images:
        image.thumbnail((long_side, long_side))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        encoded.append(buffer.getvalue())
    return encoded


def default_bundle(kind: str):
    from agelab.models.bundle import ModelBundle

    torch.manual_seed(0)
    if kind == "appearance":
        from agelab.models.alexnet import appearance_subnet

        kwargs = {
            "min_age": 0,
            "max_age": 80,
            "pretrained_weights": None,
            "dropout": 0.5,
            "head_dropout": 0.0,
        }
        net = appearance_subnet(0, 80)
        return ModelBundle(
            "appearance_subnet", kwargs, net.state_dict(), crop_size=128, crop_margin=0.2, image_size=112
        )
    from agelab.models.foss import FossNet

    net = FossNet(**BASE_FOSS)
    return ModelBundle("foss", BASE_FOSS, net.state_dict(), crop_size=112, crop_margin=0.2, image_size=256)


def log_model(bundle, folder: Path) -> tuple[str, str]:
    import mlflow

    from agelab.inference.serving import log_pyfunc_model

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment(
        f"serve-load-{bundle.architecture}", artifact_location=(folder / "artifacts").as_uri()
    )
    with mlflow.start_run(experiment_id=experiment) as run:
        log_pyfunc_model(bundle)
    return uri, run.info.run_id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(uri: str, run_id: str, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    venv_bin = Path(sys.executable).parent
    server = subprocess.Popen(
        [
            str(venv_bin / "mlflow"),
            "models",
            "serve",
            "-m",
            f"runs:/{run_id}/model",
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env={**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}"},
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{base}/ping", timeout=5) as response:
                if response.status == 200:
                    return server, base
        except (urllib.error.URLError, ConnectionError):
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not come up; its log: {log_path.read_text()[-2000:]}")
        time.sleep(0.5)


def tree_rss(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except psutil.NoSuchProcess:
        return 0


def load(base: str, images: list[bytes], clients: int, seconds: float, server_pid: int) -> dict:
    payloads = [
        json.dumps(
            {"dataframe_split": {"columns": ["image"], "data": [[base64.b64encode(b).decode()]]}}
        ).encode()
        for b in images
    ]
    latencies: list[float] = []
    faces = errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    peak_rss = [tree_rss(server_pid)]

    def sample_rss() -> None:
        while time.monotonic() < stop_at:
            peak_rss[0] = max(peak_rss[0], tree_rss(server_pid))
            time.sleep(0.2)

    def client(index: int) -> None:
        nonlocal faces, errors
        k = index
        while time.monotonic() < stop_at:
            request = urllib.request.Request(
                f"{base}/invocations",
                data=payloads[k % len(payloads)],
                headers={"Content-Type": "application/json"},
            )
            k += clients
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=300) as response:
                    rows = json.loads(response.read())["predictions"]
                ok = all(not r.get("error") for r in rows)
                found = sum(1 for r in rows if r["face"] >= 0)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                ok, found = False, 0
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                faces += found
                errors += not ok

    started = time.monotonic()
    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    wall = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "requests": len(latencies),
        "requests_per_s": len(latencies) / wall,
        "faces_per_s": faces / wall,
        "p50_s": statistics.median(ordered),
        "p95_s": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "errors": errors,
        "server_peak_rss_mb": peak_rss[0] / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="load per model and concurrency")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--photos", type=int, default=32)
    parser.add_argument("--appearance-model", type=Path)
    parser.add_argument("--foss-model", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from agelab.models.bundle import ModelBundle

    images = photos(args.photos)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; "
        f"{len(images)} photos ({WIDER if WIDER.is_dir() else 'astronaut'}), {args.seconds:.0f} s per level"
    )
    results = []
    for kind, path in (("appearance", args.appearance_model), ("foss", args.foss_model)):
        bundle = ModelBundle.load(path) if path else default_bundle(kind)
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            uri, run_id = log_model(bundle, folder)
            server, base = start_server(uri, run_id, folder / "serve.log")
            try:
                load(base, images[:2], 1, 3.0, server.pid)  # warm-up: first requests load lazily
                for clients in args.clients:
                    row = {
                        "model": kind,
                        "weights": str(path) if path else "untrained (base sizes)",
                        **load(base, images, clients, args.seconds, server.pid),
                    }
                    results.append(row)
                    if server.poll() is not None or row["errors"]:
                        log = (folder / "serve.log").read_text()
                        print(
                            f"server {'exited' if server.poll() is not None else 'answered errors'}; "
                            f"the end of its log:\n{log[-4000:]}",
                            flush=True,
                        )
                    print(
                        f"{kind:10s} clients {clients:2d}: {row['requests_per_s']:6.2f} req/s "
                        f"{row['faces_per_s']:7.2f} faces/s  p50 {row['p50_s'] * 1000:7.0f} ms  "
                        f"p95 {row['p95_s'] * 1000:7.0f} ms  errors {row['errors']}  "
                        f"RSS {row['server_peak_rss_mb']:.0f} MB",
                        flush=True,
                    )
            finally:
                os.killpg(server.pid, 15)
                server.wait(timeout=30)
    print("\n| model | clients | requests/s | faces/s | p50 ms | p95 ms | errors | server peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['model']} | {r['clients']} | {r['requests_per_s']:.2f} | {r['faces_per_s']:.2f} | "
            f"{r['p50_s'] * 1000:.0f} | {r['p95_s'] * 1000:.0f} | {r['errors']} | "
            f"{r['server_peak_rss_mb']:.0f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
