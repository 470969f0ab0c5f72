import pandas as pd

from agelab.readers.filename_labels import UTKFACE_NAME
from agelab.synthetic.face_set import FaceSetConfig, render_face_set


def test_layout_defects_and_ground_truth(synthetic_set):
    truth = pd.read_parquet(synthetic_set / "ground_truth.parquet")
    files = sorted(p.name for p in (synthetic_set / "UTKFace").iterdir())
    assert len(files) == len(truth) == 24 + 2
    assert all(UTKFACE_NAME.match(name) for name in files)
    duplicates = truth[truth["duplicate_of"] != ""]
    assert len(duplicates) == 2
    for row in duplicates.itertuples():
        assert (synthetic_set / "UTKFace" / row.file_name).read_bytes() == (
            synthetic_set / "UTKFace" / row.duplicate_of
        ).read_bytes()
    assert (duplicates["age"] != duplicates["true_age"]).sum() == 1  # one duplicate carries a wrong label
    assert truth["grayscale"].any()
    assert not list((synthetic_set / "UTKFace").glob(".*part"))  # no half-written files


def test_resume_renders_only_missing_chunks_and_config_change_rerenders(tmp_path):
    config = FaceSetConfig(n_faces=8, seed=1, chunk_size=3, duplicate_fraction=0.0, image_size=64)
    first = render_face_set(config, tmp_path, show_progress=False)
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "UTKFace").iterdir()}
    # simulate an interruption during the last chunk: its part file and manifest completion are missing
    (tmp_path / "parts" / "part-00002.parquet").unlink()
    manifest = (tmp_path / "manifest.json").read_text().replace('"complete": true', '"complete": false')
    (tmp_path / "manifest.json").write_text(manifest)
    again = render_face_set(config, tmp_path, show_progress=False)
    pd.testing.assert_frame_equal(first, again)
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "UTKFace").iterdir()}
    rewritten = {name for name in stamps if after[name] != stamps[name]}
    assert len(rewritten) == 2  # only the last chunk's two images
    changed = render_face_set(
        FaceSetConfig(n_faces=5, seed=2, chunk_size=3, duplicate_fraction=0.0, image_size=64),
        tmp_path,
        show_progress=False,
    )
    assert len(list((tmp_path / "UTKFace").iterdir())) == len(changed) == 5
