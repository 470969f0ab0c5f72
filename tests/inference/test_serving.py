"""The MLflow pyfunc model of :mod:`agelab.inference.serving`: logged with a signature, loaded back, and
served by ``mlflow models serve`` on 127.0.0.1 answering real HTTP requests with ages."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skimage.data
from PIL import Image

from agelab.inference.face_ages import FaceAgeEstimator
from agelab.inference.serving import FACE_COLUMNS, decode_image, face_table, log_pyfunc_model
from agelab.models.bundle import ModelBundle
from tests.conftest import PROJECT_ROOT, png_header_only, untrained_appearance_bundle

ASTRONAUT_FACE = (179, 83, 267, 171)  # dlib HOG's box on skimage's astronaut


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    return untrained_appearance_bundle()


@pytest.fixture(scope="module")
def astronaut_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def logged_model(bundle, tmp_path_factory):
    """(tracking URI, run id) of a run holding the bundle as a pyfunc model."""
    import mlflow

    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("serving", artifact_location=(folder / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment) as run:
        info = log_pyfunc_model(bundle)
    assert info.signature is not None
    return uri, run.info.run_id


def test_decode_image_takes_bytes_or_base64_and_refuses_the_rest(astronaut_jpeg):
    assert decode_image(astronaut_jpeg).shape == (512, 512, 3)
    assert decode_image(base64.b64encode(astronaut_jpeg).decode()).shape == (512, 512, 3)
    with pytest.raises(ValueError, match="not base64"):
        decode_image("not base64 at all!")
    with pytest.raises(ValueError, match="not a readable image"):
        decode_image(b"\xff\xd8 not really a jpeg")


def test_face_table_one_row_per_face_and_a_row_for_each_failure(bundle, astronaut_jpeg):
    bomb = png_header_only(30_000, 30_000)  # Pillow's DecompressionBombError: a row with its error too
    images = [astronaut_jpeg, b"junk", jpeg_grey(), bomb]
    table = face_table(FaceAgeEstimator(bundle, device="cpu"), images)
    assert list(table.columns) == [name for name, _ in FACE_COLUMNS]
    assert table["image"].tolist() == [0, 1, 2, 3]
    assert table.loc[0, "face"] == 0 and table.loc[0, "box_x0"] == pytest.approx(ASTRONAUT_FACE[0], abs=3)
    assert 0 <= table.loc[0, "age"] <= 80 and table.loc[0, "error"] == ""
    assert table.loc[1, "face"] == -1 and "not a readable image" in table.loc[1, "error"]
    assert table.loc[2, "face"] == -1 and table.loc[2, "error"] == "" and np.isnan(table.loc[2, "age"])
    assert table.loc[3, "face"] == -1 and "exceeds limit" in table.loc[3, "error"]


def jpeg_grey() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 80), (120, 120, 120)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_logged_model_has_a_signature_and_predicts_like_the_bundle(logged_model, bundle, astronaut_jpeg):
    import mlflow

    uri, run_id = logged_model
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    schema = model.metadata.get_input_schema()
    assert schema.input_names() == ["image"] and str(schema.input_types()[0]) == "DataType.binary"
    assert model.metadata.metadata["crop_size"] == 128
    served = model.predict(pd.DataFrame({"image": [astronaut_jpeg]}))
    direct = FaceAgeEstimator(bundle, device="cpu").estimate([decode_image(astronaut_jpeg)])[0]
    assert len(served) == len(direct) == 1
    assert served.loc[0, "age"] == pytest.approx(direct[0].age, abs=1e-4)
    stricter = model.predict(pd.DataFrame({"image": [astronaut_jpeg]}), params={"min_score": 5.0})
    assert stricter["face"].tolist() == [-1]  # no HOG detection scores 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, payload: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _refused(url: str, payload: dict) -> tuple[int, str]:
    """The HTTP status and body of a request the server is expected to refuse."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        _post(url, payload)
    return refused.value.code, refused.value.read().decode()


def _group_rss_mb(group: int) -> float:
    """Resident memory (MB) of every process of a process group (the server and the workers it forks)."""
    total_kb = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != group:  # field 5 of /proc/<pid>/stat, the process group
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
        total_kb += next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
        )
    return total_kb / 1024


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_mlflow_models_serve_answers_with_ages(logged_model, bundle, astronaut_jpeg, tmp_path):
    uri, run_id = logged_model
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [
            str(PROJECT_ROOT / ".venv/bin/mlflow"),
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
        # MLflow starts `uvicorn` from PATH: the project's venv, as after `source .venv/bin/activate`
        env={
            **os.environ,
            "MLFLOW_TRACKING_URI": uri,
            "AGELAB_SERVE_MAX_IMAGES": "3",
            "AGELAB_SERVE_MAX_PIXELS": "1000000",
            "PATH": f"{PROJECT_ROOT / '.venv/bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the server forks workers: stop the whole process group
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "server did not come up in 180 s"
            time.sleep(1)
        encoded = base64.b64encode(astronaut_jpeg).decode()
        answer = _post(
            f"{base}/invocations",
            {
                "dataframe_split": {
                    "columns": ["image"],
                    "data": [[encoded], [base64.b64encode(b"junk").decode()]],
                }
            },
        )
        rows = pd.DataFrame(answer["predictions"])
        direct = FaceAgeEstimator(bundle, device="cpu").estimate([decode_image(astronaut_jpeg)])[0]
        face = rows[(rows["image"] == 0) & (rows["face"] == 0)].iloc[0]
        assert face["age"] == pytest.approx(direct[0].age, abs=1e-3)
        assert face["box_x0"] == pytest.approx(direct[0].box[0])
        junk = rows[rows["image"] == 1].iloc[0]
        assert junk["face"] == -1 and "not a readable image" in junk["error"]
        with_params = _post(
            f"{base}/invocations",
            {"dataframe_split": {"columns": ["image"], "data": [[encoded]]}, "params": {"min_score": 5.0}},
        )
        assert [r["face"] for r in with_params["predictions"]] == [-1]

        # bad input: rows with their errors, or a 400 for the whole request; the server stays up
        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode()

        bad = _post(
            f"{base}/invocations",
            {
                "dataframe_split": {
                    "columns": ["image"],
                    "data": [[b64(png_header_only(30_000, 30_000))], [b64(_png(1001, 1000))]],
                }
            },
        )
        errors = [r["error"] for r in bad["predictions"]]
        assert "exceeds limit" in errors[0], errors
        assert "1,001,000 pixels is over the limit of 1,000,000" in errors[1], errors
        # MLflow decodes a binary column's base64 itself, and refuses the request when it is not base64
        status, body = _refused(
            f"{base}/invocations",
            {"dataframe_split": {"columns": ["image"], "data": [["not base64 at all!"]]}},
        )
        assert status == 400, body
        status, body = _refused(
            f"{base}/invocations", {"dataframe_split": {"columns": ["image"], "data": [[encoded]] * 4}}
        )
        assert status == 400 and "4 images in one request: at most 3" in body, body
        status, body = _refused(
            f"{base}/invocations", {"dataframe_split": {"columns": ["photo"], "data": [[encoded]]}}
        )
        assert status == 400 and "missing inputs ['image']" in body, body  # MLflow's schema check
        # a 50 MB body, then 1,000 images in one request: an error row and a 400; the server's memory grows
        # once by what parsing one such body takes and not again
        start_mb = _group_rss_mb(server.pid)
        big = b64(np.random.default_rng(0).bytes(37_500_000))  # 50 MB of base64
        after_mb = []
        for _ in range(3):
            answer = _post(
                f"{base}/invocations", {"dataframe_split": {"columns": ["image"], "data": [[big]]}}
            )
            assert "not a readable image" in answer["predictions"][0]["error"], answer
            after_mb.append(_group_rss_mb(server.pid))
        many = {"dataframe_split": {"columns": ["image"], "data": [[b64(_png(8, 8))]] * 1000}}
        status, body = _refused(f"{base}/invocations", many)
        assert status == 400 and "1000 images in one request: at most 3" in body, body
        after_mb.append(_group_rss_mb(server.pid))
        assert after_mb[0] - start_mb < 800, (start_mb, after_mb)
        assert max(after_mb) - after_mb[0] < 150, (start_mb, after_mb)
        # concurrent requests run on the server's threads (a shared dlib detector crashed it: faces/detection)
        one = {"dataframe_split": {"columns": ["image"], "data": [[encoded]]}}
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: _post(f"{base}/invocations", one), range(12)))
        ages = {round(a["predictions"][0]["age"], 4) for a in answers}
        assert ages == {round(float(face["age"]), 4)}, ages
        with urllib.request.urlopen(f"{base}/ping", timeout=5) as response:
            assert response.status == 200
    finally:
        _stop(server)
        log.close()


def _stop(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
