import mlflow

from agelab.experiments.tracking import child_run, flatten, log_params


def test_child_runs_nest_under_the_active_run_and_can_be_resumed(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        with mlflow.start_run(run_name="compare") as parent:
            with child_run("compare.sps_seed0", tags={"agelab.seed": "0"}) as child_id:
                log_params({"sps": {"w": 0.3, "training": {"epochs": 2}}})
                mlflow.log_metric("val_mae", 9.0)
            assert mlflow.active_run().info.run_id == parent.info.run_id
            with child_run("ignored", run_id=child_id) as resumed:
                mlflow.log_metric("test_mae", 8.5)
            assert resumed == child_id
        child = mlflow.get_run(child_id)
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.tags["agelab.seed"] == "0"
        assert child.data.params == {"sps.w": "0.3", "sps.training.epochs": "2"}
        assert child.data.metrics == {"val_mae": 9.0, "test_mae": 8.5}
    finally:
        mlflow.set_tracking_uri(None)


def test_without_an_active_run_nothing_is_logged():
    assert mlflow.active_run() is None
    with child_run("x") as run_id:
        log_params({"a": 1})
    assert run_id is None


def test_flatten_many_parameters():
    params = {f"k{i}": {"v": i} for i in range(250)}
    assert len(flatten(params)) == 250 and flatten(params)["k7.v"] == "7"
