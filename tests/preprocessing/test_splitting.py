import numpy as np
import pandas as pd
import pytest

from agelab.preprocessing.splitting import (
    SplitConfig,
    _stratified_take,
    assign_age_groups,
    histogram_distance,
    split_faces,
)


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


def test_histogram_distance_by_hand():
    # disjoint ages: total variation 1, while the ECDFs differ by at most 1/2
    assert histogram_distance(np.array([20, 22]), np.array([21, 23])) == {
        "total_variation": 1.0,
        "ks_statistic": 0.5,
    }
    # the oldest age has a bin of its own: [20, 21] against [21, 21] differ by 1/2
    assert histogram_distance(np.array([20, 21]), np.array([21, 21]))["total_variation"] == 0.5
    assert histogram_distance(np.array([30]), np.array([30, 31]))["total_variation"] == 0.5
    for a, b in [(np.array([], int), np.array([1])), (np.array([1]), np.array([], int))]:
        distance = histogram_distance(a, b)
        assert np.isnan(distance["total_variation"]) and np.isnan(distance["ks_statistic"])


def test_stratified_take_gives_the_spare_place_to_the_largest_remainder():
    # 5 × age 20 and 2 × age 21 at 30 %: quotas 1.5 and 0.6, round(2.1) = 2 in all → one of each
    labels = np.array([20] * 5 + [21] * 2)
    for seed in range(5):
        mask = _stratified_take(labels, 0.3, np.random.default_rng(seed))
        assert mask.sum() == 2 and (labels[mask] == 21).sum() == 1
    # one spare place exactly (short = 1): 3 × 1 at 50 % → round(1.5) = 2
    mask = _stratified_take(np.array([1, 2, 3]), 0.5, np.random.default_rng(0))
    assert mask.sum() == 2


def test_split_report_describes_the_returned_frame():
    ages = np.repeat(np.arange(20.0, 30.0), 10) + 0.5
    faces = pd.DataFrame({"age": ages, "name": [f"f{i}" for i in range(len(ages))]}, index=np.arange(100) + 7)
    frame, report = split_faces(faces, SplitConfig(test_fraction=0.2, val_fraction=0.25, seed=3))
    assert list(frame.columns) == ["age", "name", "split", "age_group"]
    assert list(frame.index) == list(range(100))
    assert report["counts"] == {"train": 60, "test": 20, "val": 20}
    labels = np.floor(frame["age"].to_numpy()).astype(int)
    train = labels[frame["split"] == "train"]
    for name, part in [("test_vs_train", "test"), ("val_vs_train", "val")]:
        assert report[name] == histogram_distance(labels[frame["split"] == part], train)
    for part in ("train", "val", "test"):
        assert report["mean_age"][part] == frame.loc[frame["split"] == part, "age"].mean()
    assert report["age_group_counts"] == {k: 20 for k in range(5)}
    again, _ = split_faces(faces, SplitConfig(test_fraction=0.2, val_fraction=0.25, seed=3))
    assert again["split"].tolist() == frame["split"].tolist()
    other, _ = split_faces(faces, SplitConfig(test_fraction=0.2, val_fraction=0.25, seed=4))
    assert other["split"].tolist() != frame["split"].tolist()


def test_an_empty_frame_splits_into_nothing():
    frame, report = split_faces(pd.DataFrame({"age": np.zeros(0)}), SplitConfig())
    assert len(frame) == 0 and report["age_group_bounds"] == [] and report["age_group_counts"] == {}


def test_assign_age_groups_puts_a_face_on_a_bound_in_the_upper_group():
    bounds = [20.0, 40.0]
    groups = assign_age_groups(np.array([19.9, 20.0, 20.1, 39.99, 40.0, 70.0]), bounds)
    assert groups.tolist() == [0, 1, 1, 1, 2, 2]


def test_stratified_take_without_spare_places_draws_one_choice_per_label():
    # 2 × label 1 and 2 × label 2 at 50 %: quotas 1 and 1 are whole, short = 0, so no tie-break draw;
    # the seeded generator picks one member of each label in turn
    labels = np.array([1, 1, 2, 2])
    for seed in range(6):
        rng = np.random.default_rng(seed)
        expected = np.zeros(4, dtype=bool)
        expected[rng.choice([0, 1], size=1, replace=False)] = True
        expected[rng.choice([2, 3], size=1, replace=False)] = True
        assert _stratified_take(labels, 0.5, np.random.default_rng(seed)).tolist() == expected.tolist()


def test_split_report_compares_against_the_training_part_only():
    # four faces aged 10, one aged 50; test 20 %: quotas 0.8 and 0.2 → the spare place goes to age 10;
    # val 25 % of the other four (quotas 0.75, 0.25) → again age 10. Train: 10, 10, 50.
    frame, report = split_faces(pd.DataFrame({"age": [10.0, 10.0, 50.0, 10.0, 10.0]}), SplitConfig(0.2, 0.25))
    assert report["counts"] == {"train": 3, "val": 1, "test": 1}
    assert frame.loc[frame["split"] != "train", "age"].tolist() == [10.0, 10.0]
    # histograms [1 at 10] against [2/3 at 10, 1/3 at 50]: TV = (1/3 + 1/3) / 2, and the ECDFs differ by 1/3
    for name in ("test_vs_train", "val_vs_train"):
        assert report[name]["total_variation"] == pytest.approx(1 / 3)
        assert report[name]["ks_statistic"] == pytest.approx(1 / 3)
    assert report["mean_age"] == pytest.approx({"train": 70 / 3, "val": 10.0, "test": 10.0})
    # quintile bounds of 10, 10, 10, 10, 50: 10, 10, 10 and 10 + 0.2 × 40; age 10 sits on a bound → group 3
    assert report["age_group_bounds"] == pytest.approx([10.0, 10.0, 10.0, 18.0])
    assert report["age_group_counts"] == {3: 4, 4: 1}
