"""The multi-face scene sets, read back by the real WIDER FACE and Images of Groups readers."""

import json

import numpy as np
import pandas as pd
import pytest

from agelab.readers.images_of_groups import read_images_of_groups
from agelab.readers.wider_face import read_wider_face
from agelab.synthetic.scenes import SceneSetConfig, age_code, render_scene_sets

CONFIG = SceneSetConfig(
    train_scenes=3, val_scenes=2, group_scenes=2, max_faces=3, render_size=64, chunk_size=3
)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    truth = render_scene_sets(CONFIG, root, workers=1, show_progress=False)
    return root, truth


def test_wider_face_reader_reads_every_face_box(scenes):
    root, truth = scenes
    index = read_wider_face(root / "wider_face").index
    wider = truth[truth["set"] != "groups"]
    assert len(index) == len(wider) > 0
    assert set(index["split_hint"]) == {"train", "val"}
    assert index["age"].isna().all()  # a detection set: boxes only
    expected = np.sort(np.round(wider[["box_x0", "box_y0"]].to_numpy()), axis=0)
    np.testing.assert_allclose(np.sort(index[["box_x0", "box_y0"]].to_numpy(), axis=0), expected)


def test_images_of_groups_reader_reads_eyes_age_codes_and_genders(scenes):
    root, truth = scenes
    index = read_images_of_groups(root / "images_of_groups").index
    groups = truth[truth["set"] == "groups"].sort_values(["image", "face"])
    assert len(index) == len(groups) > 0
    codes = [json.loads(a)["age_code"] for a in index["attributes"]]
    assert codes == [age_code(a) for a in groups["age"]]
    assert index["gender"].tolist() == groups["gender"].tolist()
    eyes = np.array([np.mean(json.loads(m), axis=0) for m in index["landmarks"]])
    boxes = groups[["box_x0", "box_y0", "box_x1", "box_y1"]].to_numpy()
    inside = (
        (eyes[:, 0] > boxes[:, 0])
        & (eyes[:, 0] < boxes[:, 2])
        & (eyes[:, 1] > boxes[:, 1])
        & (eyes[:, 1] < boxes[:, 3])
    )
    assert inside.all()


def test_faces_lie_inside_the_scene_and_ages_are_in_range(scenes):
    _, truth = scenes
    assert (truth["box_x0"] >= -1).all() and (truth["box_x1"] <= CONFIG.width + 1).all()
    assert (truth["box_y0"] >= -1).all() and (truth["box_y1"] <= CONFIG.height + 1).all()
    assert truth["age"].between(CONFIG.min_age, CONFIG.max_age).all()


def test_age_codes_follow_the_iog_groups():
    assert [age_code(a) for a in (0, 2, 3, 7, 8, 12, 13, 19, 20, 36, 37, 65, 66, 99)] == [
        1,
        1,
        5,
        5,
        10,
        10,
        16,
        16,
        28,
        28,
        51,
        51,
        75,
        75,
    ]


def test_an_interrupted_render_resumes_to_the_same_sets(scenes, tmp_path):
    root, truth = scenes
    partial = tmp_path / "partial"
    render_scene_sets(CONFIG, partial, workers=1, show_progress=False)
    (partial / "parts" / "part-00001.parquet").unlink()  # as if the run stopped before the second chunk
    manifest = json.loads((partial / "manifest.json").read_text())
    (partial / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    again = render_scene_sets(CONFIG, partial, workers=1, show_progress=False)
    pd.testing.assert_frame_equal(again, truth)
    assert (partial / "wider_face" / "wider_face_split" / "wider_face_val_bbx_gt.txt").read_text() == (
        root / "wider_face" / "wider_face_split" / "wider_face_val_bbx_gt.txt"
    ).read_text()
