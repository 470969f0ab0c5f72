import numpy as np
import pandas as pd
import pytest

from agelab.config import ConfigError
from agelab.datasets import AtomicDataset
from agelab.experiments.grid import compare_config
from agelab.experiments.report import comparison_report
from agelab.experiments.tables import (
    SWEEP_COLUMNS,
    comparison_tables,
    cross_dataset_table,
    markdown_table,
    pairwise_tests,
    per_image_errors,
    per_model_errors,
    per_seed_paired_tests,
    repeated_runs_table,
    sweep_results,
    sweep_table,
)


def _summaries():
    rows = []
    maes = {"appearance": [5.86, 5.90, 5.82], "hps": [5.74, 5.78, 5.70], "sps": [5.47, 5.44, 5.50]}
    for model, values in maes.items():
        for seed, mae in enumerate(values):
            rows.append(
                {"variant": f"{model}_seed{seed}", "model": model, "seed": seed, "sweep": "", "test_mae": mae}
            )
    rows.append({"variant": "hps_w_0p7", "model": "hps", "seed": 0, "sweep": "hps_w", "test_mae": 5.83})
    return pd.DataFrame(rows)


def test_table4_mean_std_and_test_against_the_reference():
    table = repeated_runs_table(_summaries(), ["appearance", "hps", "sps"])
    row = table.set_index("model").loc["sps"]
    assert row["runs"] == 3
    assert row["mae_mean"] == pytest.approx(5.47)
    assert row["mae_std"] == pytest.approx(np.std([5.47, 5.44, 5.50], ddof=1))
    assert row["p_value"] < 1e-3
    assert np.isfinite(table.set_index("model").loc["appearance", "mae_std"])
    assert table.set_index("model").loc["hps", "runs"] == 3  # the sweep run is not a repeated run


def test_pairwise_tests_cover_every_pair():
    pairs = pairwise_tests(_summaries(), ["appearance", "hps", "sps"])
    assert list(zip(pairs["a"], pairs["b"], strict=True)) == [
        ("appearance", "hps"),
        ("appearance", "sps"),
        ("hps", "sps"),
    ]
    assert (pairs["mean_difference"] < 0).all()


def test_pairwise_tests_of_one_seed_are_an_empty_table_that_a_csv_dataset_reads_back(tmp_path):
    one_seed = _summaries().query("seed == 0 and sweep == ''")
    pairs = pairwise_tests(one_seed, ["appearance", "hps", "sps"])
    assert pairs.empty
    assert pairs.columns.tolist()[:5] == ["a", "b", "test", "statistic", "p_value"]
    assert pairs.columns.tolist() == pairwise_tests(_summaries(), ["appearance", "sps"]).columns.tolist()
    dataset = AtomicDataset(
        dataset={
            "type": "pandas.CSVDataset",
            "filepath": str(tmp_path / "pairs.csv"),
            "save_args": {"index": False},
        }
    )
    dataset.save(pairs)  # the compare pipeline with one seed: saved, then loaded by the report node
    loaded = dataset.load()
    assert loaded.empty and loaded.columns.tolist() == pairs.columns.tolist()


def test_sweep_table_has_the_reference_row_then_one_row_per_value():
    table = sweep_table(_summaries(), [(0.3, "hps_seed0"), (0.7, "hps_w_0p7")], 5.86, "w")
    assert table["setting"].tolist() == ["Appearance subnet", "w = 0.3", "w = 0.7"]
    assert table["mae"].tolist() == [5.86, 5.74, 5.83]


def _predictions(errors, shift=0.0):
    return pd.DataFrame(
        {
            "image_path": [f"img{i}.jpg" for i in range(len(errors))],
            "crop_path": [f"crop{i}.jpg" for i in range(len(errors))],
            "true_age": 30.0,
            "predicted_age": 30.0 + np.asarray(errors) + shift,
            "absolute_error": np.abs(np.asarray(errors) + shift),
        }
    )


def test_per_image_errors_average_the_seeds_by_image_not_by_row_order():
    a = _predictions([1.0, 2.0, 3.0])
    b = _predictions([3.0, 4.0, 5.0]).iloc[::-1]  # another order
    errors = per_image_errors([a, b]).set_index("image_path")
    assert errors.loc["img0.jpg", "absolute_error"] == 2.0
    assert errors.loc["img2.jpg", "absolute_error"] == 4.0


def test_cross_dataset_table_pairs_images():
    rng = np.random.default_rng(0)
    base = rng.exponential(9.0, 200)
    errors = {
        "utkface": {
            "appearance": per_image_errors([_predictions(base)]),
            "sps": per_image_errors([_predictions(np.maximum(base - 0.3, 0))]),
        }
    }
    table = cross_dataset_table(errors, "appearance", "sps")
    row = table.iloc[0]
    assert row["images"] == 200
    assert row["difference"] < 0 and row["paired_t_p"] < 1e-6


def test_markdown_table_formats_numbers_p_values_and_missing_values():
    frame = pd.DataFrame({"name": ["a", "b"], "mae": [5.861, np.nan], "p": [2.7e-5, 0.5]})
    text = markdown_table(frame, {"name": "Name", "mae": "MAE", "p": "p"}, {"mae": ".2f", "p": "p"})
    assert text.splitlines() == [
        "| Name | MAE | p |",
        "|---|---|---|",
        "| a | 5.86 | 2.70e-5 |",
        "| b | – | 0.500 |",
    ]


def test_report_states_the_findings_from_the_numbers():
    config = compare_config(
        {"seeds": [0, 1, 2], "sweeps": {"hps_w": {"model": "hps", "parameter": "w", "values": [0.3, 0.7]}}}
    )
    runs = _summaries().assign(epochs=2, train_seconds=60.0, best_val_mae=6.0, best_epoch=1, mlflow_run_id="")
    table4 = repeated_runs_table(runs, config.models)
    sweeps = sweep_table(runs, [(0.3, "hps_seed0"), (0.7, "hps_w_0p7")], 5.86, "w").rename(
        columns={"w": "value"}
    )
    sweeps.insert(0, "sweep", "hps_w")
    groups = pd.DataFrame(
        {
            "metric": "pose",
            "source": "predicted",
            "group": [1, 2, 3],
            "images": 10,
            "metric_min": [0.0, 0.2, 0.4],
            "metric_max": [0.2, 0.4, 0.9],
            "metric_mean": [0.1, 0.3, 0.6],
            "mae_reference": [5.0, 6.0, 8.0],
            "mae_model": [5.0, 5.5, 6.6],
            "mae_difference": [0.0, -0.5, -1.4],
            "p_value": [0.9, 0.04, 1e-4],
            "p_vs_least": [np.nan, 0.2, 1e-3],
        }
    )
    overall = {"images": 30, "mae_reference": 6.3, "mae_model": 5.7, "mean_difference": -0.6}
    overall.update(p_value=1e-3, alternative_p_value=2e-3)
    report = comparison_report(
        config, runs, table4, pairwise_tests(runs, config.models), sweeps, groups, overall, pd.DataFrame()
    )
    assert "sps is significantly better than appearance: -0.39 MAE" in report
    assert "| w = 0.3 | 5.74 | hps_seed0 |" in report
    assert "best: w = 0.3" in report
    assert "the gain grows with extremeness" in report
    assert "most vs least extreme group p = 0.001" in report
    # a gain in the most extreme group that is not larger than the least extreme group's does not grow
    flat = groups.assign(p_vs_least=[np.nan, 0.5, 0.3])
    report = comparison_report(
        config, runs, table4, pairwise_tests(runs, config.models), sweeps, flat, overall, pd.DataFrame()
    )
    assert "no significantly growing gain" in report and "the gain grows" not in report
    assert "## Table 5" not in report  # no cross-dataset set configured


def test_per_seed_paired_tests_pair_each_seeds_runs_image_by_image():
    def run(errors, order=(0, 1, 2)):
        paths = [f"img{i}.jpg" for i in order]
        return pd.DataFrame({"image_path": paths, "absolute_error": [errors[i] for i in order]})

    reference = [run([1.0, 2.0, 3.0]), run([4.0, 4.0, 4.0])]
    model = [run([0.0, 2.0, 1.0], order=(2, 0, 1)), run([4.0, 5.0, 6.0])]  # rows in another order
    rows = per_seed_paired_tests(reference, model, [7, 8])
    assert [r["seed"] for r in rows] == [7, 8]
    # seed 7: differences (-1, 0, -2), mean -1, sd 1: t = -1 / (1/√3) = -1.732 on 2 degrees of freedom,
    # two-sided p = 1 - |t| / √(t² + 2) = 0.2254
    assert rows[0]["images"] == 3
    assert rows[0]["mae_reference"] == pytest.approx(2.0) and rows[0]["mae_model"] == pytest.approx(1.0)
    assert rows[0]["mean_difference"] == pytest.approx(-1.0)
    assert rows[0]["p_value"] == pytest.approx(0.2254, abs=1e-4)
    assert rows[1]["mean_difference"] == pytest.approx(1.0)


def _run_summary(
    model: str, seed: int, mae: float, sweep: str = "", run_parameters: dict | None = None
) -> dict:
    return {
        "variant": f"{model}_seed{seed}" if not sweep else f"{sweep}_{seed}",
        "model": model,
        "seed": seed,
        "sweep": sweep,
        "sweep_value": None,
        "test_mae": mae,
        "test_median_baseline_mae": 20.0,
        "best_val_mae": mae,
        "best_epoch": 0,
        "epochs": 1,
        "train_seconds": 1.0,
        "mlflow_run_id": "",
        "run_parameters": run_parameters or {},
    }


def test_no_sweeps_gives_an_empty_sweep_table_that_survives_the_catalogs_csv(tmp_path):
    """With no sweeps configured (``sweeps: null``, the real environment) the sweep table still has its
    columns, so the catalog's CSV of it loads back for the report (an empty frame without columns saves as
    an empty file that pandas refuses to read)."""
    config = compare_config({"seeds": [0, 1, 2], "sweeps": None, "cross_evaluate": []})
    maes = {"appearance": (9.7, 9.8, 9.6), "hps": (9.3, 9.4, 9.3), "sps": (9.4, 9.5, 9.3)}
    summaries = [_run_summary(m, s, mae) for m, values in maes.items() for s, mae in enumerate(values)]
    runs, table4, _, sweeps = comparison_tables(summaries, config)
    assert len(runs) == 9 and table4["model"].tolist() == ["appearance", "hps", "sps"]
    assert sweeps.empty and tuple(sweeps.columns) == SWEEP_COLUMNS
    dataset = AtomicDataset(
        dataset={
            "type": "pandas.CSVDataset",
            "filepath": str(tmp_path / "tables2_3_sweeps.csv"),
            "save_args": {"index": False},
        }
    )
    dataset.save(sweeps)
    loaded = dataset.load()
    assert isinstance(loaded, pd.DataFrame) and loaded.empty
    assert tuple(loaded.columns) == SWEEP_COLUMNS


def test_comparison_tables_drop_the_run_parameters_and_test_against_the_reference():
    config = compare_config({"seeds": [0, 1, 2], "sweeps": None})
    maes = {"appearance": (5.86, 5.90, 5.82), "hps": (5.74, 5.78, 5.70), "sps": (5.47, 5.44, 5.50)}
    summaries = [_run_summary(m, s, mae) for m, values in maes.items() for s, mae in enumerate(values)]
    runs, table4, pairs, _ = comparison_tables(summaries, config)
    assert "run_parameters" not in runs and runs["test_mae"].tolist() == [v for m in maes.values() for v in m]
    assert table4.set_index("model").loc["sps", "p_value"] < 1e-3
    assert len(pairs) == 3


def test_a_sweep_point_is_the_sweeps_own_run_before_a_repeated_run_with_the_same_value():
    config = compare_config(
        {
            "seeds": [0, 1],
            "sweeps": {"hps_w": {"model": "hps", "parameter": "w", "label": "w", "values": [0.3, 0.7]}},
        }
    )
    summaries = [
        _run_summary("hps", 0, 5.74, run_parameters={"w": 0.3}),
        _run_summary("hps", 1, 5.70, run_parameters={"w": 0.7}),  # another seed: never a sweep point
        _run_summary("hps", 0, 5.83, sweep="hps_w", run_parameters={"w": 0.7}),
        _run_summary("hps", 0, 5.99, sweep="other", run_parameters={"w": 0.3}),
    ]
    table = sweep_results(summaries, config, 5.86)
    assert tuple(table.columns) == ("sweep", "setting", "value", "mae", "variant")
    assert table["variant"].tolist() == ["", "hps_seed0", "hps_w_0"]
    assert table["mae"].tolist() == [5.86, 5.74, 5.83]
    assert table["value"].iloc[1:].tolist() == [0.3, 0.7]
    missing = compare_config({"sweeps": {"hps_w": {"model": "hps", "parameter": "w", "values": [0.5]}}})
    with pytest.raises(ConfigError, match=r"compare.sweeps.hps_w: no run of hps with w=0.5"):
        sweep_results(summaries, missing, 5.86)


def test_per_model_errors_average_each_models_runs_of_a_long_frame():
    frames = [
        _predictions([1.0, 3.0]).assign(variant="appearance_seed0", model="appearance"),
        _predictions([3.0, 5.0]).assign(variant="appearance_seed1", model="appearance"),
        _predictions([0.5, 0.5]).assign(variant="sps_seed0", model="sps"),
    ]
    errors = per_model_errors(pd.concat(frames, ignore_index=True))
    assert sorted(errors) == ["appearance", "sps"]
    assert errors["appearance"]["absolute_error"].tolist() == [2.0, 4.0]
    assert errors["sps"]["absolute_error"].tolist() == [0.5, 0.5]


def test_table5_without_a_cross_dataset_set_is_an_empty_table_that_a_csv_dataset_reads_back(tmp_path):
    table = cross_dataset_table({}, "appearance", "sps")
    assert table.empty
    assert table.columns.tolist() == [
        "dataset",
        "images",
        "mae_appearance",
        "mae_sps",
        "difference",
        "paired_t_p",
        "wilcoxon_p",
    ]
    dataset = AtomicDataset(
        dataset={
            "type": "pandas.CSVDataset",
            "filepath": str(tmp_path / "t5.csv"),
            "save_args": {"index": False},
        }
    )
    dataset.save(table)  # compare with cross_evaluate: [] saves it, and the report node loads it
    assert dataset.load().columns.tolist() == table.columns.tolist()
