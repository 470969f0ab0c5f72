"""FG-NET: ``images/NNNAyy[a|b].JPG`` and ``points/nnnayy[a|b].pts`` in their published layout."""

import json
from pathlib import Path

import pytest

from agelab.readers import MalformedAnnotationError, read_dataset
from agelab.readers.fgnet import MalformedPoints, read_pts
from tests.conftest import PROJECT_ROOT, jpeg_bytes

FGNET_DIR = PROJECT_ROOT.parent / "shared" / "datasets" / "fgnet"


def pts_text(n: int = 68, declared: int = 68, close: bool = True, offset: float = 0.0) -> str:
    body = "".join(f"{10 + k + offset:.4f} {200.5 - k:.3f}\n" for k in range(n))
    return f"version: 1\nn_points: {declared}\n{{\n{body}" + ("}\n" if close else "")


def write_fgnet(root: Path) -> None:
    (root / "images").mkdir(parents=True)
    (root / "points").mkdir()
    for name in ("001A02.JPG", "001A05a.JPG", "001A05b.JPG", "082A61.JPG", "002A10.JPG", "003A07.JPG"):
        (root / "images" / name).write_bytes(jpeg_bytes(size=32))
    (root / "images" / "Thumbs.db").write_bytes(b"\0")  # a bad name
    (root / "points" / "001a02.pts").write_text(pts_text())
    (root / "points" / "001a05a.pts").write_text(pts_text(offset=0.5))
    (root / "points" / "001a05b.pts").write_text(pts_text())
    (root / "points" / "082a61.pts").write_text(pts_text(n=60, close=False))  # short, no closing brace
    (root / "points" / "003a07.pts").write_text(pts_text().replace("15.0000 195.500", "15.0000 oops"))
    # 002A10.JPG has no .pts file


def test_names_ages_people_and_landmarks(tmp_path):
    write_fgnet(tmp_path)
    result = read_dataset("fgnet", tmp_path)
    index = result.index
    assert index["image_path"].map(lambda p: Path(p).name).tolist() == [
        "001A02.JPG",
        "001A05a.JPG",
        "001A05b.JPG",
    ]
    assert index["age"].tolist() == [2.0, 5.0, 5.0]
    assert index["subject_id"].tolist() == ["001"] * 3
    assert index["age_kind"].tolist() == ["real"] * 3 and (index["dataset"] == "fgnet").all()
    assert [json.loads(a) for a in index["attributes"]] == [{}, {"photo": "a"}, {"photo": "b"}]
    landmarks = json.loads(index["landmarks"].iloc[1])
    assert len(landmarks) == 68 and landmarks[0] == [10.5, 200.5] and landmarks[67] == [77.5, 133.5]
    report = result.report
    assert report.files_seen == 7 and report.rows == 3
    where = {(Path(s.file).name, s.line): s.reason for s in report.skipped}
    assert where[("Thumbs.db", 0)].startswith("malformed file name")
    assert where[("002a10.pts", 0)] == "missing landmarks: no .pts file for 002A10.JPG"
    assert where[("082a61.pts", 63)] == "short landmarks: 60 points and no closing '}'"
    assert where[("003a07.pts", 9)] == "malformed landmarks: expected 'x y', got '15.0000 oops'"
    assert report.skipped_by_reason == {
        "malformed file name": 1,
        "missing landmarks": 1,
        "short landmarks": 1,
        "malformed landmarks": 1,
    }
    with pytest.raises(
        MalformedAnnotationError, match=r"002a10\.pts: missing landmarks"
    ):  # the first, sorted
        read_dataset("fgnet", tmp_path, strict=True)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (pts_text(declared=67), 2, "n_points is 67, expected 68"),
        (pts_text(n=67), 71, "short landmarks: 67 points before '}', expected 68"),
        (pts_text(n=69), 72, "more than 68 points"),
        (pts_text().replace("version: 1", "VERSION 1"), 1, "expected 'version: 1'"),
        (pts_text().replace("{", "["), 3, "expected '{'"),
        (pts_text().replace("10.0000 200.500", "nan 200.5"), 4, "not a finite point"),
        (pts_text().replace("10.0000 200.500", "10 20 30"), 4, "expected 'x y'"),
    ],
)
def test_pts_errors_name_their_line(tmp_path, text, line, reason):
    path = tmp_path / "bad.pts"
    path.write_text(text)
    with pytest.raises(MalformedPoints, match=reason) as error:
        read_pts(path)
    assert error.value.line == line


def test_pts_tolerates_trailing_blank_lines_and_binary_files_are_refused(tmp_path):
    good = tmp_path / "good.pts"
    good.write_text(pts_text() + "\n\n")
    assert len(read_pts(good)) == 68
    binary = tmp_path / "binary.pts"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(MalformedPoints, match="not a text file"):
        read_pts(binary)


def test_the_real_fgnet_folder():
    if not FGNET_DIR.is_dir():
        pytest.skip(f"FG-NET not found at {FGNET_DIR}")
    result = read_dataset("fgnet", FGNET_DIR)
    index = result.index
    assert len(index) == 1002 and result.report.skipped == []
    assert index["subject_id"].nunique() == 82
    assert index["age"].min() == 0 and index["age"].max() == 69
    assert (index["age"] < 18).sum() == 640  # the dataset's README
