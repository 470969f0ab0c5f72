"""The project's real configuration: environments, runtime parameters and environment variables."""

import dataclasses

import pytest
from kedro.config import OmegaConfigLoader

from agelab import settings
from tests.conftest import PROJECT_ROOT


def loader(env="utkface", runtime_params=None):
    return OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        env=env,
        runtime_params=runtime_params,
        **{k: v for k, v in settings.CONFIG_LOADER_ARGS.items() if k != "default_run_env"},
    )


def test_utkface_path_from_params_then_env_then_default(monkeypatch):
    monkeypatch.delenv("AGELAB_UTKFACE_DIR", raising=False)
    assert loader()["catalog"]["raw_utkface"]["path"] == "data/01_raw/utkface/UTKFace"
    monkeypatch.setenv("AGELAB_UTKFACE_DIR", "/env/UTKFace")
    assert loader()["catalog"]["raw_utkface"]["path"] == "/env/UTKFace"
    given = loader(runtime_params={"utkface_dir": "/given/UTKFace"})
    assert given["catalog"]["raw_utkface"]["path"] == "/given/UTKFace"


def _generated_paths(catalog: dict) -> dict[str, str]:
    """Every catalog entry's own file or folder (nested datasets included); raw inputs, the rendered sets
    under data/01_raw (cached by their settings) included, left out."""

    def path_of(entry: dict) -> str | None:
        for key in ("filepath", "path"):
            if isinstance(entry.get(key), str):
                return entry[key]
        return path_of(entry["dataset"]) if isinstance(entry.get("dataset"), dict) else None

    paths = {name: path_of(entry) for name, entry in catalog.items() if isinstance(entry, dict)}
    raw = {name for name, path in paths.items() if name.startswith("raw_") or "01_raw" in (path or "")}
    return {name: path for name, path in paths.items() if path and name not in raw}


@pytest.mark.parametrize("env", ["utkface", "real", "paper"])
def test_each_environment_generates_its_data_apart_from_the_embedded_defaults(env, monkeypatch):
    """A run of one environment never reads or overwrites another's indexes, crops, models or reports (a
    `--env=real --from-nodes=...` after a plain `kedro run` once read the embedded default's model input)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///:memory:")
    base = _generated_paths(loader("base")["catalog"])
    other = _generated_paths(loader(env)["catalog"])
    assert base["model_input_faces"] == "data/05_model_input/model_input_faces.parquet"
    assert other["model_input_faces"] == f"data/{env}/05_model_input/model_input_faces.parquet"
    assert set(other) == set(base) and len(base) > 60
    for name, path in other.items():
        assert path.startswith(f"data/{env}/0"), (name, path)
        assert path == f"data/{env}/" + base[name].removeprefix("data/"), name
    registered = {  # and its models have their own names in the MLflow model registry
        name: entry["registered_model_name"]
        for name, entry in loader(env)["catalog"].items()
        if isinstance(entry, dict) and "registered_model_name" in entry
    }
    assert len(registered) == 3 and all(model.endswith(f"-{env}") for model in registered.values())


def test_environment_overrides_single_keys_only():
    params = loader()["parameters"]["data"]
    assert params["datasets"] == ["utkface"]
    assert params["cleaning"]["max_age"] == 117
    assert params["cleaning"]["max_per_age"] == 600  # kept from conf/base
    assert params["synthetic"]["n_faces"] == 2000


@pytest.mark.parametrize("env", ["base", "utkface", "real", "paper"])
def test_every_catalog_entry_is_constructible(env, monkeypatch):
    from kedro.io import DataCatalog

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///:memory:")
    catalog = DataCatalog.from_config(loader(env)["catalog"])
    assert "raw_synthetic" in catalog and "model_input_faces" in catalog


def test_registry_composes_model_pipelines_with_their_data():
    from agelab.pipeline_registry import register_pipelines

    pipelines = register_pipelines()
    names = {n.name for n in pipelines["appearance"].nodes}
    assert {"build_face_index", "train_appearance_subnet", "write_appearance_model_card"} <= names
    sps = {n.name for n in pipelines["sps"].nodes}
    assert {n.name for n in pipelines["__default__"].nodes} == sps  # the main job: data -> recon3d -> SPS
    assert {"build_face_index", "train_recon3d_subnet", "train_sps", "log_sps_model"} <= sps
    assert "train_recon3d_subnet" in {n.name for n in pipelines["hps"].nodes}


def test_one_dataset_factory_serves_hps_and_sps_and_catches_no_other_dataset(monkeypatch):
    """conf/base/catalog.yml's "{h_or_s}ps_*" patterns give HPS and SPS the files they always had, and no
    other pipeline's dataset name falls into them (a memory dataset would silently become a file)."""
    from kedro.io import DataCatalog

    from agelab.pipeline_registry import register_pipelines

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///:memory:")
    catalog = DataCatalog.from_config(loader("base")["catalog"])
    for sharing in ("hps", "sps"):
        assert str(catalog.get(f"{sharing}_model")._filepath).endswith(
            f"data/06_models/{sharing}/{sharing}_net.pt"
        )
        assert str(catalog.get(f"{sharing}_checkpoints")._path).endswith(
            f"data/06_models/{sharing}/checkpoints"
        )
        assert catalog.get(f"{sharing}_metrics")._prefix == f"{sharing}_metrics"
        for name, path in [
            ("kappa_curves", "08_reporting/{}_kappa_curves.png"),
            ("learning_curves", "08_reporting/{}_learning_curves.png"),
            ("report", "08_reporting/{}_report.json"),
            ("model_card", "08_reporting/{}_model_card.md"),
            ("predictions", "07_model_output/{}_predictions.csv"),
        ]:
            assert str(catalog.get(f"{sharing}_{name}")._filepath).endswith(path.format(sharing))
    patterns = [p for p in loader("base")["catalog"] if p.startswith("{h_or_s}ps_")]
    assert len(patterns) == 10
    caught = {
        name
        for pipeline in register_pipelines().values()
        for name in pipeline.datasets()
        if catalog.config_resolver.match_dataset_pattern(name) in patterns
    }
    assert caught and all(name.startswith(("hps_", "sps_")) for name in caught), sorted(caught)


@pytest.mark.parametrize("env, runs", [("base", 8), ("paper", 22)])
def test_compare_plan_from_the_real_configuration(env, runs):
    from agelab.experiments.grid import MODELS, compare_config, plan_runs
    from agelab.experiments.variant_runs import parameters_with_defaults

    params = loader(env)["parameters"]
    models = {m: parameters_with_defaults(m, params[m]) for m in MODELS}
    plan = plan_runs(compare_config(params["compare"]), models)
    assert len(plan.variants) == runs  # base: 2 seeds x 3 + 2 sweep points; paper: 5 x 3 + 4 + 3


def test_runtime_parameters_shape_the_compare_pipeline(monkeypatch):
    """``kedro run --params compare.seeds=[0,1,2]`` adds runs: the registry reads the run's configuration."""
    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from agelab import hooks

    monkeypatch.chdir(PROJECT_ROOT)
    bootstrap_project(PROJECT_ROOT)
    try:
        with KedroSession.create(
            project_path=PROJECT_ROOT, runtime_params={"compare": {"seeds": [0, 1, 2]}}
        ) as s:
            s.load_context()
            pipelines.set_requested(["compare_only"])
            trained = {n.name for n in pipelines["compare_only"].nodes if n.name.endswith(".train")}
    finally:
        monkeypatch.setattr(hooks, "_config_loader", None)
        pipelines.set_requested(None)
    assert {"compare.sps_seed2.train", "compare.appearance_seed2.train", "compare.hps_w_0p7.train"} <= trained


@pytest.mark.parametrize("env", ["base", "paper"])
def test_foss_configuration_parses_and_every_catalog_entry_exists(env, monkeypatch):
    """Both environments' foss settings fit the FOSS dataclasses (no misspelt key), and every dataset the
    foss pipeline reads or writes has a catalog entry."""
    from kedro.io import DataCatalog

    from agelab.pipeline_registry import register_pipelines
    from agelab.training.foss_config import FossConfig, foss_config

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///:memory:")
    config = loader(env)
    foss = foss_config(config["parameters"]["foss"])
    assert isinstance(foss, FossConfig)
    if env == "paper":  # the paper's sizes (Yoshimura & Ogata §4.2), merged over conf/base
        assert (foss.model.detector_input, foss.model.crop_width, foss.model.crop_height) == (480, 160, 224)
        assert (
            foss.model.deformable and foss.model.age_width == 0.9 and foss.model.intermediate_channels == 48
        )
        assert foss.detection_sets == ("wider_face",) and foss.scenes.train_scenes == 400  # kept from base
    catalog = DataCatalog.from_config(config["catalog"])
    pipeline = register_pipelines()["foss"]
    missing = {d for d in pipeline.datasets() if not d.startswith("params:") and d not in catalog}
    assert not missing, missing


def _lr_after_each_epoch(training, epochs: int, groups=1) -> list[float]:
    import torch

    from agelab.training.engine import make_scheduler

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=training.learning_rate)
    scheduler = make_scheduler(optimizer, training)
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_paper_environment_states_each_models_whole_schedule_and_input_size():
    """--env=paper: the paper's settings for every Savov model, none of the CPU-sized base's schedule."""
    from agelab.training.appearance_training import appearance_config
    from agelab.training.multitask_training import multitask_config
    from agelab.training.reconstruction_training import recon3d_config

    params = loader("paper")["parameters"]
    appearance = appearance_config(params["appearance"])
    hps, sps = multitask_config(params["hps"]), multitask_config(params["sps"])
    recon3d = recon3d_config(params["recon3d"])
    for config in (appearance, hps, sps):  # Adam 1e-5, batch 5, 30 epochs, step decay ×0.1 every 10
        t = config.training
        assert (t.learning_rate, t.batch_size, t.epochs, t.lr_step_size, t.lr_gamma) == (1e-5, 5, 30, 10, 0.1)
        rates = _lr_after_each_epoch(t, 30)
        assert rates[0] == rates[9] == pytest.approx(1e-5) and rates[-1] == pytest.approx(1e-7)
    assert hps.w == 0.3 and sps.w is None  # Table 2's best w for HPS; "the sum of L_fit and L_dist" for SPS
    assert not sps.kappa_lr_decay and sps.kappa_learning_rate == 0.01  # κ's Adagrad keeps its own rate
    assert sps.model.age_dropout == hps.model.age_dropout == appearance.model.head_dropout == 0.7
    # AlexNet's native 227 px input, a window of the 256 px crop; HPS/SPS take the 3D subnet's size
    assert appearance.image_size == recon3d.image_size == 227
    assert params["data"]["processing"]["crop_size"] == 256 and params["data"]["cleaning"]["require_face"]
    # the models compared share one augmentation policy
    assert dataclasses.asdict(appearance.augment) == dataclasses.asdict(hps.augment)
    assert hps.augment == sps.augment


#: flip, random crop, colour jitter, grayscale, scan degradation: the real photos' policy adds the last two
REAL_PHOTO_POLICY = (True, True, 0.2, 0.15, 0.5)


@pytest.mark.parametrize(
    ("env", "policy"),
    [
        ("base", (True, True, 0.2, 0.0, 0.0)),
        ("paper", (True, True, 0.2, 0.0, 0.0)),
        ("utkface", (True, True, 0.2, 0.0, 0.0)),
        ("real", REAL_PHOTO_POLICY),
    ],
)
def test_compared_models_share_one_augmentation_policy(env, policy):
    from agelab.training.appearance_training import appearance_config
    from agelab.training.multitask_training import multitask_config

    params = loader(env)["parameters"]
    policies = {
        dataclasses.astuple(appearance_config(params["appearance"]).augment),
        dataclasses.astuple(multitask_config(params["hps"]).augment),
        dataclasses.astuple(multitask_config(params["sps"]).augment),
    }
    assert len(policies) == 1 and policies.pop() == policy


def test_a_kedro_command_prints_no_warning_a_user_cannot_act_on():
    """Building every pipeline (what each kedro command does first) is quiet: no interrupted namespace,
    no third-party deprecation notice."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    kedro = Path(sys.executable).with_name("kedro")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    result = subprocess.run(
        [str(kedro), "registry", "list"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "- sps" in result.stdout
    console = result.stdout + result.stderr
    assert "Warning" not in console and "WARNING" not in console, console[-3000:]


@pytest.mark.parametrize(
    ("env", "ages"), [("base", (0, 80)), ("paper", (0, 80)), ("utkface", (0, 117)), ("real", (0, 117))]
)
def test_the_age_range_is_set_once_for_the_data_and_every_age_network(env, ages):
    """conf/<env>/globals.yml's ``ages``: the data keeps min_age <= age < max_age (Savov §4, "below 80"),
    the appearance subnet, HPS and SPS predict over min_age..max_age."""
    from agelab.config import from_mapping
    from agelab.preprocessing.cleaning import CleaningConfig
    from agelab.training.appearance_training import appearance_config
    from agelab.training.multitask_training import multitask_config

    params = loader(env)["parameters"]
    cleaning = from_mapping(CleaningConfig, params["data"]["cleaning"], where="data.cleaning")
    assert (cleaning.min_age, cleaning.max_age) == ages
    appearance = appearance_config(params["appearance"]).model
    assert (appearance.min_age, appearance.max_age) == ages
    for name in ("hps", "sps"):
        model = multitask_config(params[name]).model
        assert (model.min_age, model.max_age) == ages


def test_the_real_environment_trains_foss_on_the_wider_subset_with_its_own_models(monkeypatch):
    """conf/real's FOSS: the WIDER FACE subset beside the project (or AGELAB_WIDER_FACE_DIR) as the only
    detection set, no group set, its detector input and tiled UTKFace scenes; its models and checkpoints
    apart from the embedded default's; the dlib + appearance baseline uses the real appearance subnet."""
    from kedro.io import DataCatalog

    from agelab.training.foss_config import foss_config

    monkeypatch.delenv("AGELAB_WIDER_FACE_DIR", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///:memory:")
    config = loader("real")
    foss = foss_config(config["parameters"]["foss"])
    assert foss.detection_sets == ("wider_face",) and foss.group_sets == ()
    assert foss.model.detector_input == foss.data.canvas == 448
    assert foss.evaluation.tiled_grids == (2, 3) and foss.baselines.extra_detectors == ("hog:0",)
    assert foss.model.detector_width == 0.5  # kept from conf/base
    assert foss.annotation.image_scale == 0.333 and foss.annotation.nms_iou == 0.5  # UTKFace shown at 1/3
    catalog = config["catalog"]
    assert catalog["raw_wider_face"]["path"] == "../shared/datasets/wider_face_train_subset"
    assert catalog["foss.detector"]["filepath"] == "data/real/06_models/foss/face_detector.pt"
    assert catalog["foss.model"]["dataset"]["filepath"] == "data/real/06_models/foss/foss_net.pt"
    assert catalog["foss.model"]["type"] == "kedro_mlflow.io.artifacts.MlflowArtifactDataset"  # soft-merged
    assert catalog["foss.mlflow_model"]["registered_model_name"] == "agelab-foss-real"
    assert (
        catalog["foss.baseline_appearance_model"]["filepath"]
        == catalog["appearance_model"]["filepath"]
        == "data/real/06_models/appearance/appearance_subnet.pt"
    )
    monkeypatch.setenv("AGELAB_WIDER_FACE_DIR", "/data/WIDER")
    assert loader("real")["catalog"]["raw_wider_face"]["path"] == "/data/WIDER"
    assert "foss.detector" in DataCatalog.from_config(catalog)


def test_kedro_vizs_partial_run_notice_is_dropped_and_other_records_of_its_hook_kept():
    import logging

    assert settings.HOOKS  # importing the settings installed the filter
    hook_logger = logging.getLogger("kedro_viz.integrations.kedro.run_hooks")

    def passes(message: str) -> bool:
        record = hook_logger.makeRecord(hook_logger.name, logging.WARNING, __file__, 1, message, (), None)
        return hook_logger.filter(record)

    assert not passes(
        "Workflow tracking is disabled during partial pipeline runs (executed using --to-nodes)"
    )
    assert not passes("Workflow tracking is disabled for non-sequential runners")
    assert passes("could not write .viz/kedro_pipeline_events.json")


def test_kedro_telemetry_is_declined_for_every_clone():
    """kedro-telemetry reads ``.telemetry`` in the project folder: a committed ``consent: false`` keeps a
    newcomer's ``kedro run`` from asking, and from trying to send usage data."""
    import yaml

    assert yaml.safe_load((PROJECT_ROOT / ".telemetry").read_text()) == {"consent": False}
