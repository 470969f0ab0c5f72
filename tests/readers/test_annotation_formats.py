"""CLAP2016, MegaAge-Asian, WIDER FACE and Images of Groups in their published annotation formats."""

import json
import math
from pathlib import Path

import pytest
from PIL import Image

from agelab.readers import DatasetNotFoundError, MalformedAnnotationError, read_dataset


def test_clap2016_challenge_and_appa_real_csv(tmp_path):
    (tmp_path / "train_gt.csv").write_text("image,mean,stdv\n000001.jpg,27.5,3.1\n000002.jpg,oops,1\n")
    (tmp_path / "gt_avg_valid.csv").write_text(
        "file_name,num_ratings,apparent_age_avg,apparent_age_std,real_age\n005613.jpg,38,31.2,4.4,29\n"
    )
    apparent = read_dataset("clap2016", tmp_path)
    assert apparent.index["age"].tolist() == [27.5, 31.2]
    assert apparent.index["split_hint"].tolist() == ["train", "val"]
    assert apparent.index["image_path"].iloc[0].endswith("train/000001.jpg")
    assert apparent.report.skipped[0].line == 3
    real = read_dataset("clap2016", tmp_path, age_label="real")
    assert real.index["age"].tolist() == [29.0] and real.index["age_kind"].tolist() == ["real"]
    (tmp_path / "train").mkdir()
    with pytest.raises(DatasetNotFoundError, match="ground-truth CSV"):
        read_dataset("clap2016", tmp_path / "train")


def test_megaage_asian_parallel_lists(tmp_path):
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / "train_name.txt").write_text("1.jpg\n2.jpg\n3.jpg\n")
    (tmp_path / "list" / "train_age.txt").write_text("23\nforty\n5\n\n")
    (tmp_path / "list" / "test_name.txt").write_text("1.jpg\n")
    (tmp_path / "list" / "test_age.txt").write_text("70\n")
    result = read_dataset("megaage_asian", tmp_path)
    assert result.index["age"].tolist() == [23.0, 5.0, 70.0]
    assert result.index["split_hint"].tolist() == ["train", "train", "test"]
    assert result.report.skipped[0].line == 2
    (tmp_path / "list" / "test_age.txt").write_text("70\n71\n")
    with pytest.raises(MalformedAnnotationError, match="same length"):
        read_dataset("megaage_asian", tmp_path)


WIDER = """0--Parade/0_Parade_marchingband_1_849.jpg
1
449 330 122 149 0 0 0 0 0 0
0--Parade/0_Parade_Parade_0_904.jpg
0
0 0 0 0 0 0 0 0 0 0
12--Group/12_Group_Group_12_Group_Group_12_10.jpg
2
10 20 30 40 2 0 0 0 1 0
5 5 short
"""


def test_wider_face_blocks(tmp_path):
    (tmp_path / "wider_face_split").mkdir()
    (tmp_path / "wider_face_split" / "wider_face_train_bbx_gt.txt").write_text(WIDER)
    result = read_dataset("wider_face", tmp_path)
    index = result.index
    assert len(index) == 2  # the empty image has no face; one face line is malformed
    first = index.iloc[0]
    assert (first.box_x0, first.box_y0, first.box_x1, first.box_y1) == (449, 330, 571, 479)
    assert first.image_path.endswith("WIDER_train/images/0--Parade/0_Parade_marchingband_1_849.jpg")
    assert (
        index.iloc[1]["attributes"] == '{"blur": 2, "expression": 0, "illumination": 0, "invalid": 0, '
        '"occlusion": 1, "pose": 0}'
    )
    assert math.isnan(first.age) and first.age_kind == "none"
    assert result.report.skipped[0].line == 10
    with pytest.raises(MalformedAnnotationError, match=r"bbx_gt\.txt:10"):
        read_dataset("wider_face", tmp_path, strict=True)


# the layout of shared/datasets/wider_face_train_subset: the gt file at the root, images under images/
WIDER_SUBSET = """13--Interview/13_Interview_Interview_On_Location_13_1.jpg
2
4 6 10 12 0 0 0 0 0 0
20 5 8 9 2 0 1 1 0 0
19--Couple/19_Couple_Couple_19_2.jpg
1
3 4 5 6 1 1 0 0 2 1
19--Couple/19_Couple_Couple_19_3.jpg
0
0 0 0 0 0 0 0 0 0 0
"""


def _write_jpeg(path: Path, size: tuple[int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (120, 80, 40)).save(path, "JPEG", quality=85)


def test_wider_face_subset_layout(tmp_path):
    images = tmp_path / "images"
    names = [line for line in WIDER_SUBSET.splitlines() if line.endswith(".jpg")]
    for name in names:
        _write_jpeg(images / name, (40, 30))
    (tmp_path / "wider_face_train_bbx_gt.txt").write_text(WIDER_SUBSET)
    result = read_dataset("wider_face", tmp_path)
    index = result.index
    assert (result.report.files_seen, result.report.rows, result.report.skipped) == (1, 3, [])
    boxes = index[["box_x0", "box_y0", "box_x1", "box_y1"]].to_numpy().tolist()
    assert boxes == [[4, 6, 14, 18], [20, 5, 28, 14], [3, 4, 8, 10]]
    assert index["face_in_image"].tolist() == [0, 1, 0]
    assert [json.loads(a)["invalid"] for a in index["attributes"]] == [0, 1, 0]
    assert index["split_hint"].tolist() == ["train"] * 3
    expected = [str((images / names[0]).resolve())] * 2 + [str((images / names[1]).resolve())]
    assert index["image_path"].tolist() == expected  # the 0-face image gives no row
    assert all(Path(p).is_file() for p in index["image_path"])

    (tmp_path / "wider_face_val_bbx_gt.txt").write_text(f"{names[2]}\n1\n1 2 3 4 0 0 0 0 0 0\n")
    both = read_dataset("wider_face", tmp_path).index
    assert both["split_hint"].tolist() == ["train"] * 3 + ["val"]
    assert both["image_path"].iloc[3] == str((images / names[2]).resolve())

    (tmp_path / "wider_face_split").mkdir()
    (tmp_path / "wider_face_split" / "wider_face_val_bbx_gt.txt").write_text(WIDER_SUBSET)
    with pytest.raises(MalformedAnnotationError, match="mixes the official and subset layouts"):
        read_dataset("wider_face", tmp_path)


def test_wider_face_without_annotations_names_both_layouts(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(DatasetNotFoundError) as error:
        read_dataset("wider_face", tmp_path)
    assert str(error.value) == (
        "dataset 'wider_face': no wider_face_split/wider_face_{train,val}_bbx_gt.txt or "
        f"wider_face_{{train,val}}_bbx_gt.txt under '{tmp_path.resolve()}'"
    )


def test_images_of_groups_person_data(tmp_path):
    folder = tmp_path / "Fam2a"
    folder.mkdir()
    (folder / "PersonData.txt").write_text(
        "1006149518_250f8036fc_1438_9284053@N07.jpg\n"
        "100\t200\t124\t200\t28\t1\n"
        "300\t210\t318\t210\t1\t2\n"
        "300\t210\t318\t210\t99\t2\n"
    )
    result = read_dataset("images_of_groups", tmp_path)
    first, second = result.index.iloc[0], result.index.iloc[1]
    assert (first.age_min, first.age_max, first.age_kind, first.gender) == (20, 36, "group", "female")
    assert (second.age_min, second.age_max, second.gender, second.face_in_image) == (0, 2, "male", 1)
    width = first.box_x1 - first.box_x0
    assert width == pytest.approx(49 / 24 * 24)  # eye distance 24 px -> Gallagher's 49 px face width
    assert first.box_y0 < 200 < first.box_y1  # the eyes sit inside the box
    assert result.report.skipped_by_reason == {"malformed face row": 1}
