"""``tabulate_runs`` with no sweeps configured (``sweeps: null``, the real environment): its sweep table
still has its columns, so the catalog's CSV of it loads back for the report (an empty frame without columns
saves as an empty file that pandas refuses to read)."""

import pandas as pd

from agelab.datasets import AtomicDataset
from agelab.experiments.tables import SWEEP_COLUMNS
from agelab.pipelines.compare.nodes import tabulate_runs

COMPARE = {"seeds": [0, 1, 2], "sweeps": None, "cross_evaluate": []}


def _summary(model: str, seed: int, mae: float) -> dict:
    return {
        "variant": f"{model}_seed{seed}",
        "model": model,
        "seed": seed,
        "sweep": "",
        "sweep_value": None,
        "test_mae": mae,
        "test_median_baseline_mae": 20.0,
        "best_val_mae": mae,
        "best_epoch": 0,
        "epochs": 1,
        "train_seconds": 1.0,
        "mlflow_run_id": "",
        "run_parameters": {},
    }


def test_no_sweeps_gives_an_empty_sweep_table_that_survives_the_catalogs_csv(tmp_path):
    maes = {"appearance": (9.7, 9.8, 9.6), "hps": (9.3, 9.4, 9.3), "sps": (9.4, 9.5, 9.3)}
    summaries = [_summary(m, s, mae) for m, values in maes.items() for s, mae in enumerate(values)]
    runs, table4, _, sweeps = tabulate_runs(COMPARE, *summaries)
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
