"""The FOSS pipeline's nodes on their own: a real-photo set in WIDER FACE's layout, no group set."""

import numpy as np
import pytest
from PIL import Image

from agelab.config import ConfigError
from agelab.datasets import FaceSourceDataset
from agelab.pipelines.foss.nodes import read_foss_sets


def _wider_subset(root, events=("1--Handshaking", "19--Couple"), photos=10):
    """WIDER FACE's annotation format, the shared subset's layout (annotation file at the root, photos under
    images/<event>/), two faces per photo."""
    lines = []
    for event in events:
        (root / "images" / event).mkdir(parents=True)
        for k in range(photos):
            name = f"{event}/{event.split('--')[1]}_{k}.jpg"
            Image.fromarray(np.full((60, 80, 3), 40 + k, np.uint8)).save(root / "images" / name)
            lines += [name, "2", "5 6 20 24 0 0 0 0 0 0", "40 8 18 22 0 0 0 0 0 0"]
    (root / "wider_face_train_bbx_gt.txt").write_text("\n".join(lines) + "\n")


def test_no_group_set_reads_the_detection_set_alone_with_its_held_out_photos(tmp_path):
    _wider_subset(tmp_path / "wider")
    sources = {
        "detection_wider_face": FaceSourceDataset(reader="wider_face", path=str(tmp_path / "wider")).load(),
        "groups_images_of_groups": FaceSourceDataset(
            reader="images_of_groups", path=str(tmp_path / "no_such_folder")
        ).load(),  # never read: no group set is selected
    }
    params = {"detection_sets": ["wider_face"], "group_sets": []}
    detection, groups, reports = read_foss_sets(None, params, **sources)
    assert groups.empty and list(reports) == ["detection:wider_face"]
    assert len(detection) == 2 * 2 * 10
    photos = detection.drop_duplicates("image_path")
    assert photos["split_hint"].value_counts().to_dict() == {
        "train": 14,
        "test": 4,
        "val": 2,
    }  # 20 % / 10 % per event
    with pytest.raises(ConfigError, match="detection_sets selects no dataset"):
        read_foss_sets(None, {"detection_sets": [], "group_sets": []}, **sources)
