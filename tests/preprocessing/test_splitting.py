import numpy as np
import pandas as pd

from agelab.preprocessing.splitting import SplitConfig, split_faces


def test_test_split_follows_every_age_label():
    rng = np.random.default_rng(0)
    ages = np.concatenate([rng.integers(0, 80, 3000), np.full(200, 25)])
    frame, report = split_faces(pd.DataFrame({"age": ages.astype(float)}), SplitConfig(seed=3))
    test = frame[frame["split"] == "test"]
    assert len(test) == round(0.1 * len(frame))
    per_age = frame.groupby(np.floor(frame["age"]))["split"].apply(lambda s: (s == "test").mean())
    big = frame["age"].value_counts()
    assert (per_age[big[big >= 30].index] - 0.1).abs().max() < 0.04
    assert report["test_vs_train"]["total_variation"] < 0.1
    assert report["counts"]["val"] == round(0.1 * (len(frame) - len(test)))


def test_five_age_groups_at_quintiles():
    frame, report = split_faces(pd.DataFrame({"age": np.arange(1000) / 10}), SplitConfig())
    counts = frame["age_group"].value_counts()
    assert sorted(counts.index) == [0, 1, 2, 3, 4]
    assert counts.min() >= 195
    assert np.allclose(report["age_group_bounds"], [20, 40, 60, 80], atol=0.2)
