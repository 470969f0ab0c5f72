"""ResultsFile: rows written as they come, the output written atomically, interrupted runs resumed."""

import json

import pandas as pd
import pytest

from agelab.results_file import ResultsFile

COLUMNS = ["file", "face", "age"]


def test_rows_reach_the_partial_file_as_they_come_and_the_output_only_at_the_end(tmp_path):
    output = tmp_path / "out.csv"
    results = ResultsFile(output, COLUMNS)
    results.write([{"file": "a.jpg", "face": 0, "age": 31.5}, {"file": "a.jpg", "face": 1, "age": 8.25}])
    assert not output.exists()
    assert results.partial.read_text() == "file,face,age\na.jpg,0,31.5\na.jpg,1,8.25\n"
    results.write([{"file": "b.jpg", "face": -1, "age": None}])
    table = results.finish()
    assert not results.partial.exists()
    assert output.read_text() == "file,face,age\na.jpg,0,31.5\na.jpg,1,8.25\nb.jpg,-1,\n"
    assert table["file"].tolist() == ["a.jpg", "a.jpg", "b.jpg"] and pd.isna(table.loc[2, "age"])


def test_resume_keeps_the_interrupted_rows_drops_a_cut_line_and_lists_the_files_done(tmp_path):
    output = tmp_path / "out.csv"
    partial = tmp_path / "out.csv.partial.csv"
    partial.write_text("file,face,age\na.jpg,0,31.5\nb.jpg,-1,\nc.jp")  # killed while writing c.jpg's row
    results = ResultsFile(output, COLUMNS, resume=True)
    assert results.done == {"a.jpg", "b.jpg"}
    results.write([{"file": "c.jpg", "face": 0, "age": 40.0}])
    results.finish()
    assert output.read_text() == "file,face,age\na.jpg,0,31.5\nb.jpg,-1,\nc.jpg,0,40.0\n"


def test_without_resume_an_interrupted_run_is_replaced_and_said(tmp_path):
    output = tmp_path / "out.csv"
    (tmp_path / "out.csv.partial.csv").write_text("file,face,age\na.jpg,0,31.5\n")
    results = ResultsFile(output, COLUMNS)
    assert results.replaced_partial and results.done == set()
    assert results.finish().empty


def test_resume_from_a_finished_json_output_and_finish_as_json(tmp_path):
    output = tmp_path / "out.json"
    output.write_text(json.dumps([{"file": "a.jpg", "face": 0, "age": 31.5}]))
    results = ResultsFile(output, COLUMNS, as_json=True, resume=True)
    assert results.done == {"a.jpg"}
    results.write([{"file": "b.jpg", "face": -1, "age": None}])
    results.finish()
    assert json.loads(output.read_text()) == [
        {"file": "a.jpg", "face": 0, "age": 31.5},
        {"file": "b.jpg", "face": -1, "age": None},
    ]


def test_a_partial_file_of_other_columns_is_refused_by_name(tmp_path):
    (tmp_path / "out.csv.partial.csv").write_text("name,score\nx,1\n")
    with pytest.raises(ValueError, match=r"out\.csv\.partial\.csv: not a results file of these columns"):
        ResultsFile(tmp_path / "out.csv", COLUMNS, resume=True)


def test_close_without_finishing_keeps_the_partial_file_for_resume(tmp_path):
    results = ResultsFile(tmp_path / "out.csv", COLUMNS)
    results.write([{"file": "a.jpg", "face": 0, "age": 1.0}])
    results.close()
    assert not (tmp_path / "out.csv").exists()
    assert ResultsFile(tmp_path / "out.csv", COLUMNS, resume=True).done == {"a.jpg"}
