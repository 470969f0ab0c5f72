import pandas as pd
import pytest
from kedro.io import DatasetError

from agelab.datasets import AtomicDataset


class Exploding:
    """A value whose serialisation fails halfway, like a run killed mid-save."""

    def __getattr__(self, name):
        raise RuntimeError("interrupted")


def test_round_trip_and_interrupted_save_keeps_previous_file(tmp_path):
    target = tmp_path / "out" / "table.parquet"
    dataset = AtomicDataset(dataset={"type": "pandas.ParquetDataset", "filepath": str(target)})
    frame = pd.DataFrame({"a": [1, 2]})
    dataset.save(frame)
    pd.testing.assert_frame_equal(dataset.load(), frame)
    with pytest.raises(DatasetError):
        dataset.save(Exploding())
    pd.testing.assert_frame_equal(dataset.load(), frame)
    assert [p.name for p in target.parent.iterdir()] == ["table.parquet"]  # no temp file left


def test_suffix_preserved_for_formats_chosen_by_extension(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure()
    target = tmp_path / "grid.png"
    AtomicDataset(dataset={"type": "matplotlib.MatplotlibDataset", "filepath": str(target)}).save(figure)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_requires_a_filepath():
    with pytest.raises(DatasetError, match="filepath"):
        AtomicDataset(dataset={"type": "MemoryDataset"})
