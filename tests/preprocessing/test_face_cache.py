import hashlib
import json
import shutil

import numpy as np
import pytest
import skimage.data
from PIL import Image

from agelab.preprocessing.face_cache import AnalysisConfig, FaceCache, analyse_faces
from agelab.readers import read_dataset


@pytest.fixture
def utk_like(tmp_path, real_utkface_files):
    folder = tmp_path / "UTKFace"
    folder.mkdir()
    for path in real_utkface_files[::3000][:6]:
        shutil.copyfile(path, folder / path.name)
    Image.fromarray(skimage.data.astronaut()).save(folder / "30_1_0_20170101000000001.jpg.chip.jpg")
    (folder / "40_0_0_20170101000000002.jpg.chip.jpg").write_bytes(b"\xff\xd8 broken jpeg")
    return folder


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_analysis_rows_crops_and_bad_images(utk_like, tmp_path):
    before = _digest(utk_like)
    index = read_dataset("utkface", utk_like).index
    cache = FaceCache(tmp_path / "cache")
    result = analyse_faces(index, cache, AnalysisConfig(chunk_size=3, crop_size=64), show_progress=False)
    assert len(result) == len(index) == 8
    broken = result[result["image_path"].str.endswith("000000002.jpg.chip.jpg")].iloc[0]
    assert broken["status"].startswith("unreadable:") and "not a readable image" in broken["status"]
    good = result[result["status"] == "ok"]
    assert len(good) == 7 and good["face_found"].sum() >= 6
    assert (good["face_found"] == good["detected"]).all()  # no dataset boxes: found means detected
    astronaut = good[good["image_path"].str.endswith("000000001.jpg.chip.jpg")].iloc[0]
    assert astronaut["n_detected"] >= 1 and len(json.loads(astronaut["landmarks_68"])) == 68
    assert 150 < astronaut["face_box_x0"] < 200 and 240 < astronaut["face_box_x1"] < 290  # the real face
    crop = np.asarray(Image.open(astronaut["crop_path"]))
    assert crop.shape == (64, 64, 3)
    assert _digest(utk_like) == before  # raw data untouched


def test_second_run_is_served_from_cache_and_changes_invalidate_one_chunk(utk_like, tmp_path):
    index = read_dataset("utkface", utk_like).index
    cache = FaceCache(tmp_path / "cache")
    config = AnalysisConfig(chunk_size=3, crop_size=64)
    first = analyse_faces(index, cache, config, show_progress=False)
    parts = {p.name: p.stat().st_mtime_ns for p in cache.parts.iterdir()}
    second = analyse_faces(index, cache, config, show_progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in cache.parts.iterdir()} == parts
    assert first.equals(second)
    target = sorted(utk_like.iterdir())[0]
    target.write_bytes(target.read_bytes())  # same bytes, new mtime: a changed file identity
    analyse_faces(index, cache, config, show_progress=False)
    assert len(list(cache.parts.iterdir())) == len(parts) + 1


def test_analysis_on_a_dask_cluster_equals_the_local_one(utk_like, tmp_path):
    from dask.distributed import LocalCluster

    index = read_dataset("utkface", utk_like).index
    local = analyse_faces(
        index, FaceCache(tmp_path / "local"), AnalysisConfig(chunk_size=3), show_progress=False
    )
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster:
        config = AnalysisConfig(chunk_size=3, dask_scheduler=cluster.scheduler_address)
        distributed = analyse_faces(index, FaceCache(tmp_path / "dask"), config, show_progress=False)
    assert config.fingerprint() == AnalysisConfig(chunk_size=3).fingerprint()  # same cache either way
    differing = [c for c in local.columns if not local[c].equals(distributed[c])]
    assert differing == ["crop_path"]
    assert distributed["crop_path"].dropna().map(lambda p: p.startswith(str(tmp_path / "dask"))).all()
