"""IMDB-WIKI metadata in its real MATLAB layout, written with scipy.io.savemat."""

import datetime as dt

import numpy as np
import pytest
import scipy.io

from agelab.readers import DatasetNotFoundError, MalformedAnnotationError, read_dataset
from agelab.readers.imdb_wiki import age_at_photo, date_to_matlab_datenum, matlab_datenum_to_date


def write_wiki_mat(root, entries, key="wiki"):
    n = len(entries)

    def cell(values):  # a 1xN object array is what savemat writes as a MATLAB cell array
        out = np.empty((1, len(values)), dtype=object)
        for i, value in enumerate(values):
            out[0, i] = value
        return out

    struct = {
        "dob": np.array([e["dob"] for e in entries], dtype=float),
        "photo_taken": np.array([e["taken"] for e in entries], dtype=float),
        "full_path": cell([e["path"] for e in entries]),
        "gender": np.array([e.get("gender", np.nan) for e in entries], dtype=float),
        "name": cell([e.get("name", "Someone") for e in entries]),
        "face_location": cell(
            [np.array([[e.get("loc", (11, 21, 110, 120))]], dtype=float).reshape(1, 4) for e in entries]
        ),
        "face_score": np.array([e.get("score", 3.5) for e in entries], dtype=float),
        "second_face_score": np.array([e.get("second", np.nan) for e in entries], dtype=float),
    }
    assert all(v.shape[-1] == n for v in struct.values())
    scipy.io.savemat(root / f"{key}.mat", {key: struct})


def test_matlab_datenum_round_trip():
    # datenum(1981, 12, 25) in MATLAB is 723905
    assert matlab_datenum_to_date(723905) == dt.date(1981, 12, 25)
    assert date_to_matlab_datenum(dt.date(1981, 12, 25)) == 723905
    assert matlab_datenum_to_date(723905.75) == dt.date(1981, 12, 25)  # time of day dropped


@pytest.mark.parametrize(
    ("dob", "taken", "age"),
    [
        (dt.date(1980, 6, 30), 2010, 30),  # birthday before 1 July: already had it
        (dt.date(1980, 7, 1), 2010, 30),  # on the day
        (dt.date(1980, 7, 2), 2010, 29),  # not yet
    ],
)
def test_age_uses_first_of_july_of_photo_year(dob, taken, age):
    assert age_at_photo(dob, taken) == age


def test_reads_wiki_mat_with_real_fields(tmp_path):
    write_wiki_mat(
        tmp_path,
        [
            {
                "dob": date_to_matlab_datenum(dt.date(1950, 3, 1)),
                "taken": 2000,
                "path": "17/a.jpg",
                "gender": 1,
                "name": "Ada Person",
            },
            {
                "dob": date_to_matlab_datenum(dt.date(1990, 9, 9)),
                "taken": 2012,
                "path": "48/b.jpg",
                "gender": 0,
                "name": "User:Sandbox tester",
                "score": -np.inf,
            },
        ],
    )
    result = read_dataset("wiki", tmp_path)
    index = result.index
    assert index["age"].tolist() == [50.0, 21.0]
    assert index["gender"].tolist() == ["male", "female"]
    assert index["image_path"].iloc[0].endswith("17/a.jpg")
    assert (index["box_x0"].iloc[0], index["box_y1"].iloc[0]) == (10.0, 119.0)  # 1-based MATLAB pixels
    assert np.isnan(index["box_x0"].iloc[1])  # face_score -Inf: no face box
    assert '"page_kind": "user"' in index["attributes"].iloc[1]
    assert '"page_kind": "article"' in index["attributes"].iloc[0]


def test_bad_dob_is_reported_with_entry_number_and_counted(tmp_path):
    write_wiki_mat(
        tmp_path,
        [
            {"dob": date_to_matlab_datenum(dt.date(1950, 3, 1)), "taken": 2000, "path": "1/a.jpg"},
            {"dob": 0.0, "taken": 2000, "path": "1/b.jpg"},  # datenum 0: no such date
        ],
    )
    result = read_dataset("wiki", tmp_path)
    assert result.report.rows == 1
    assert result.report.skipped[0].line == 2
    assert "no age" in result.report.skipped[0].reason
    with pytest.raises(MalformedAnnotationError, match=r"wiki\.mat:2"):
        read_dataset("wiki", tmp_path, strict=True)


def test_imdb_key_and_missing_file_messages(tmp_path):
    write_wiki_mat(tmp_path, [{"dob": 700000, "taken": 2000, "path": "01/x.jpg"}], key="imdb")
    assert read_dataset("imdb", tmp_path).report.rows == 1
    with pytest.raises(DatasetNotFoundError, match=r"wiki\.mat"):
        read_dataset("wiki", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        read_dataset("wiki", tmp_path / "nowhere")


def test_corrupt_mat_file_says_which_file(tmp_path):
    (tmp_path / "wiki.mat").write_bytes(b"not a matlab file at all")
    with pytest.raises(ValueError, match=r"wiki\.mat"):
        read_dataset("wiki", tmp_path)
