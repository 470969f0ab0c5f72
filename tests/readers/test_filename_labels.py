import pytest

from agelab.readers import MalformedAnnotationError, read_dataset
from tests.conftest import jpeg_bytes


def test_utkface_names_and_malformed_ones(tmp_path):
    good = [
        "25_0_1_20170116220224657.jpg.chip.jpg",
        "3_1_4_201701162330572788.jpg.chip.jpg",
        "80_1_0_20170110183726390.jpg",
    ]
    bad = ["24_0_1_20170116220224657 .jpg.chip.jpg", "39_1_20170116174525125.jpg.chip.jpg", "x_0_0_1.jpg"]
    for name in good + bad:
        (tmp_path / name).write_bytes(jpeg_bytes())
    result = read_dataset("utkface", tmp_path)
    assert sorted(result.index["age"]) == [3.0, 25.0, 80.0]
    assert set(result.index["gender"]) == {"male", "female"}
    assert result.report.files_seen == 6 and len(result.report.skipped) == 3
    assert result.report.skipped_by_reason == {"malformed file name": 3}
    with pytest.raises(MalformedAnnotationError, match="malformed file name"):
        read_dataset("utkface", tmp_path, strict=True)


def test_real_utkface_folder(real_utkface_files):
    result = read_dataset("utkface", real_utkface_files[0].parent)
    assert result.report.files_seen == 23707
    assert result.report.rows >= 23700  # a handful of published names are malformed
    assert result.index["age"].between(1, 116).all()


def test_agedb_names_with_underscores(tmp_path):
    for name in ["0_MariaCallas_35_f.jpg", "16107_Jean_Claude_Van_Damme_40_m.jpg", "12_bad_name.jpg"]:
        (tmp_path / name).write_bytes(jpeg_bytes())
    result = read_dataset("agedb", tmp_path)
    rows = result.index.sort_values("age")
    assert rows["subject_id"].tolist() == ["MariaCallas", "Jean_Claude_Van_Damme"]
    assert rows["gender"].tolist() == ["female", "male"]
    assert len(result.report.skipped) == 1
