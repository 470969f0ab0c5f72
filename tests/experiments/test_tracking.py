import mlflow

from agelab.experiments.tracking import EpochLogger, child_run, flatten, log_defaults, log_params


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


def test_epoch_logger_names_metrics_keeps_extras_in_the_history_and_replays_a_resumed_run(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    terms = iter([{"train_fit": 2.0}, {"train_fit": 1.5}])
    log = EpochLogger("sps", "val_mae", lambda: next(terms))
    try:
        with mlflow.start_run() as run:
            history = []
            for epoch, (loss, val) in enumerate([(3.0, 9.0), (2.5, 8.0)]):
                metrics = {"epoch": epoch, "train_loss": loss, "val_metric": val}
                log(epoch, metrics)
                history.append(metrics)
        assert history[1] == {"epoch": 1, "train_loss": 2.5, "val_metric": 8.0, "train_fit": 1.5}
        client = mlflow.tracking.MlflowClient()
        steps = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "sps.val_mae")}
        assert steps == {0: 9.0, 1: 8.0}
        assert [m.value for m in client.get_metric_history(run.info.run_id, "sps.train_fit")] == [2.0, 1.5]
        assert set(mlflow.get_run(run.info.run_id).data.metrics) == {
            "sps.train_loss",
            "sps.val_mae",
            "sps.train_fit",
        }
        # a run that resumed after epoch 0 logs that epoch from the checkpoint's history, once
        with mlflow.start_run() as resumed:
            log.replay(history, 0)
            log.replay(history, None)  # not resumed: nothing
        replayed = client.get_metric_history(resumed.info.run_id, "sps.val_mae")
        assert [(m.step, m.value) for m in replayed] == [(0, 9.0)]
    finally:
        mlflow.set_tracking_uri(None)


def test_epoch_logger_outside_a_run_still_records_the_extras():
    log = EpochLogger("recon3d", "val_landmark_error_px", lambda: {"train_photo": 0.5})
    metrics = {"epoch": 0, "val_metric": 1.0}
    log(0, metrics)
    assert metrics == {"epoch": 0, "val_metric": 1.0, "train_photo": 0.5}


def test_defaults_the_parameters_file_leaves_out_are_logged_beside_what_it_names(tmp_path):
    """The parameters files name only what differs from the dataclass defaults; the run's MLflow parameters
    still hold the whole configuration, and never a second value for a key kedro-mlflow logged."""
    from agelab.training.appearance_training import appearance_config

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    given = {"training": {"epochs": 3}, "model": {"backbone": "resnet18"}}
    config = appearance_config(given)
    with mlflow.start_run() as run:
        log_params({"appearance": given})  # what kedro-mlflow logs from params:appearance
        logged = log_defaults("appearance", config, given)
    params = mlflow.get_run(run.info.run_id).data.params
    assert params["appearance.training.epochs"] == "3" and params["appearance.model.backbone"] == "resnet18"
    assert params["appearance.training.batch_size"] == "32"  # a default, logged by log_defaults
    assert params["appearance.lambda_dist"] == "0.2" and params["appearance.model.max_age"] == "80"
    assert "appearance.training.epochs" not in logged and "appearance.model.backbone" not in logged
    assert set(logged) | {"appearance.training.epochs", "appearance.model.backbone"} == set(params)
    assert log_defaults("appearance", config, given) == logged  # outside a run: what it would log


def test_the_experiment_opens_on_training_runs_and_the_run_names_its_training_data(tmp_path):
    """MLflow 3's UI opens an untagged experiment on its GenAI view: agelab tags it as one of training runs;
    each run's training faces are its dataset input (name, source folder, digest, rows)."""
    import pandas as pd

    from agelab.experiments.tracking import (
        EXPERIMENT_KIND_TAG,
        log_training_data,
        tag_training_experiment,
        training_data_name,
    )

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert tag_training_experiment() is None  # outside a run: nothing to tag
    images = tmp_path / "UTKFace"
    faces = pd.DataFrame(
        {"image_path": [str(images / "1_0_0_x.jpg"), str(images / "30_1_2_y.jpg")], "age": [1.0, 30.0]}
    )
    faces["split"] = "train"
    name = training_data_name({"datasets": ["utkface"]}, "train")
    with mlflow.start_run() as run:
        experiment_id = tag_training_experiment()
        log_training_data(faces, name)
    experiment = mlflow.MlflowClient().get_experiment(experiment_id)
    assert experiment.tags[EXPERIMENT_KIND_TAG] == "custom_model_development"
    (given,) = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert given.dataset.name == "utkface train" and str(images) in given.dataset.source
    assert '"num_rows": 2' in given.dataset.profile
    assert {t.key: t.value for t in given.tags}["mlflow.data.context"] == "training"
    with mlflow.start_run() as other:
        log_training_data(faces.iloc[:1], name)
    (one,) = mlflow.get_run(other.info.run_id).inputs.dataset_inputs
    assert one.dataset.digest != given.dataset.digest  # other rows, another digest


def test_the_run_link_opens_the_ui_on_the_model_training_workflow(tmp_path, caplog):
    """MLflow 3.17's UI does not take the workflow from the experiment's tag (it keeps GenAI per browser);
    the link agelab logs after a run names it (tests/browser checks what it shows)."""
    import logging

    from agelab.experiments.tracking import run_page_link
    from agelab.hooks import TrainingExperimentHook

    assert (
        run_page_link("7", "abc")
        == "http://127.0.0.1:5000/#/experiments/7/runs/abc?workflowType=machine_learning"
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    hook = TrainingExperimentHook()
    with mlflow.start_run() as run:
        hook.before_node_run()
    with caplog.at_level(logging.INFO, logger="agelab.hooks"):
        hook.after_pipeline_run()
    link = run_page_link(run.info.experiment_id, run.info.run_id)
    assert f"mlflow ui --backend-store-uri {uri}" in caplog.text and link in caplog.text
