import pytest

from agelab.atomic import atomic_open, atomic_write_json


def test_failed_write_leaves_neither_file_nor_temp(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write(b"half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_version(tmp_path):
    target = tmp_path / "report.json"
    atomic_write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write(b"{broken")
        raise RuntimeError
    assert target.read_text().strip().endswith("}") and '"v": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
