import pytest

from agelab.atomic import OutputWriteError, atomic_open, atomic_write_json


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


def test_a_folder_that_cannot_hold_the_output_is_named(tmp_path):
    (tmp_path / "data").write_text("a file where the output folder should be")
    target = tmp_path / "data" / "08_reporting" / "report.json"
    with pytest.raises(OutputWriteError, match=r"cannot write .*data/08_reporting/report\.json: "):
        atomic_write_json(target, {"v": 1})


def test_a_full_file_system_is_named_and_leaves_nothing_half_written(tmp_path):
    """The file-size limit of a child process stands in for a full disk: writing past it fails (EFBIG)."""
    import subprocess
    import sys
    import textwrap

    target = tmp_path / "model.pt"
    target.write_bytes(b"previous version")
    script = textwrap.dedent(
        f"""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        from agelab.atomic import OutputWriteError, atomic_write_bytes
        try:
            atomic_write_bytes({str(target)!r}, b"x" * 1_000_000)
        except OutputWriteError as exc:
            print(exc)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert f"cannot write {target}: File too large" in run.stdout, run.stdout + run.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"] and target.read_bytes() == b"previous version"
