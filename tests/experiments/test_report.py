"""The comparison report's headline numbers as MLflow metrics: every finite number under its name, nothing
that is not finite (MLflow refuses NaN)."""

import numpy as np
import pandas as pd

from agelab.experiments.grid import compare_config
from agelab.experiments.report import headline_metrics


def test_headline_metrics_name_every_finite_number_and_leave_out_the_rest():
    config = compare_config({"seeds": [0, 1]})
    table4 = pd.DataFrame(
        {
            "model": ["appearance", "hps", "sps"],
            "mae_mean": [6.0, 5.8, 5.5],
            "mae_std": [0.1, np.nan, 0.2],
            "p_value": [np.nan, 0.3, 0.01],
        }
    )
    overall = {"p_value": 0.002, "mean_difference": -0.5}
    table5 = pd.DataFrame({"dataset": ["fgnet"], "difference": [-0.7], "paired_t_p": [np.nan]})
    metrics = headline_metrics(config, table4, overall, table5)
    assert {k: v["value"] for k, v in metrics.items()} == {
        "compare.appearance.mae_mean": 6.0,
        "compare.appearance.mae_std": 0.1,
        "compare.hps.mae_mean": 5.8,
        "compare.hps.p_vs_appearance": 0.3,
        "compare.sps.mae_mean": 5.5,
        "compare.sps.mae_std": 0.2,
        "compare.sps.p_vs_appearance": 0.01,
        "compare.paired_test_p": 0.002,
        "compare.paired_mae_difference": -0.5,
        "compare.cross.fgnet.difference": -0.7,
    }
    assert all(v["step"] == 0 for v in metrics.values())
