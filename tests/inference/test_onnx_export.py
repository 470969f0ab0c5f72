"""``agelab export``: ONNX files onnxruntime runs to the same ages as PyTorch, written only if they do."""

import onnx
import onnxruntime
import pandas as pd
import pytest
import torch

from agelab.command_line import main
from agelab.inference.onnx_export import ExportError, export_onnx
from agelab.models.bundle import ModelBundle
from agelab.models.multitask import sps_net
from tests.conftest import SMALL_FOSS, untrained_appearance_bundle


@pytest.fixture(scope="module")
def sps_bundle():
    torch.manual_seed(0)
    kwargs = {"min_age": 0, "max_age": 80, "kappa_same": 0.7, "age_dropout": 0.0}
    return ModelBundle(
        "sps_net", kwargs, sps_net(**kwargs).state_dict(), crop_size=128, crop_margin=0.2, image_size=112
    )


def test_sps_export_matches_pytorch_for_any_batch_size(sps_bundle, tmp_path):
    report = export_onnx(sps_bundle, tmp_path / "sps.onnx")
    assert report.max_logit_difference < 1e-4 and report.max_age_difference < 1e-3
    model = onnx.load(tmp_path / "sps.onnx")
    metadata = {p.key: p.value for p in model.metadata_props}
    assert metadata["crop_size"] == "128" and metadata["image_size"] == "112" and metadata["min_age"] == "0"
    session = onnxruntime.InferenceSession(str(tmp_path / "sps.onnx"))
    images = torch.randn(7, 3, 112, 112)
    logits = session.run(None, {"images": images.numpy()})[0]
    with torch.no_grad():
        expected = sps_bundle.build()(images)
    assert logits.shape == (7, 81)
    torch.testing.assert_close(torch.from_numpy(logits), expected, atol=1e-4, rtol=1e-4)


def test_a_failed_parity_check_writes_nothing(sps_bundle, tmp_path):
    with pytest.raises(ExportError, match="disagree"):
        export_onnx(sps_bundle, tmp_path / "strict.onnx", tolerance=-1.0)  # no export can pass
    assert list(tmp_path.iterdir()) == []


def test_cli_exports_and_refuses_what_it_cannot_export(sps_bundle, tmp_path, capsys):
    path = tmp_path / "sps_net.pt"
    sps_bundle.save(path)
    assert main(["export", "--model", str(path), "--output", str(tmp_path / "out" / "sps.onnx")]) == 0
    assert "logits within" in capsys.readouterr().out and (tmp_path / "out" / "sps.onnx").is_file()
    recon = ModelBundle("recon3d_subnet", {}, {}, crop_size=128, crop_margin=0.2, image_size=112)
    recon.save(tmp_path / "recon.pt")
    assert main(["export", "--model", str(tmp_path / "recon.pt"), "--output", str(tmp_path / "r.onnx")]) == 2
    assert "recon3d_subnet" in capsys.readouterr().err and not (tmp_path / "r.onnx").exists()
    assert (
        main(["export", "--model", str(path), "--output", str(tmp_path / "x.onnx"), "--image-size", "640"])
        == 2
    )
    assert "WIDTHxHEIGHT" in capsys.readouterr().err


def test_foss_export_detects_crops_and_estimates_like_pytorch(tmp_path):
    """The whole FOSS graph (detector, top-K decoding, RoI align on the full image and on the feature,
    TResNet) in onnxruntime: same boxes, scores and logits as PyTorch for any batch size."""
    from agelab.models.foss import FossNet

    torch.manual_seed(0)
    kwargs = dict(SMALL_FOSS)  # the FOSS pipeline test's tiny model
    bundle = ModelBundle(
        "foss", kwargs, FossNet(**kwargs).state_dict(), crop_size=224, crop_margin=0.2, image_size=128
    )
    bundle.save(tmp_path / "foss.pt")
    assert (
        main(
            [
                "export",
                "--model",
                str(tmp_path / "foss.pt"),
                "--output",
                str(tmp_path / "foss.onnx"),
                "--image-size",
                "200x150",
            ]
        )
        == 0
    )
    session = onnxruntime.InferenceSession(tmp_path / "foss.onnx", providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert (meta["image_width"], meta["image_height"], meta["top_k"]) == ("200", "150", "5")
    assert [o.name for o in session.get_outputs()] == ["boxes", "scores", "age_logits", "gender_logits"]
    model = bundle.build()
    images = torch.rand(4, 3, 150, 200, generator=torch.Generator().manual_seed(7))
    boxes, scores, ages, genders = session.run(None, {"images": images.numpy()})
    with torch.no_grad():
        reference = model(images)
    assert boxes.shape == (4, 5, 4) and ages.shape == (4, 5, 101)
    assert torch.allclose(torch.from_numpy(boxes), reference.boxes, atol=1e-2)
    assert torch.allclose(torch.from_numpy(scores), reference.scores, atol=1e-4)
    assert torch.allclose(torch.from_numpy(ages), reference.age_logits, atol=1e-4)
    assert torch.allclose(torch.from_numpy(genders), reference.gender_logits, atol=1e-4)


def test_agelab_predict_runs_an_exported_model_in_onnxruntime(tmp_path):
    import skimage.data
    from PIL import Image

    from agelab.inference import ModelNotFoundError, OnnxAgePredictor

    bundle = untrained_appearance_bundle(seed=1)
    bundle.temperature, bundle.test_time_flip = 1.7, True  # travel in the ONNX file's metadata
    bundle.save(tmp_path / "model.pt")
    assert (
        main(["export", "--model", str(tmp_path / "model.pt"), "--output", str(tmp_path / "model.onnx")]) == 0
    )
    exported = OnnxAgePredictor(tmp_path / "model.onnx")
    assert exported.crop.margin == 0.2 and not exported.crop.align
    assert exported.temperature == 1.7 and exported.test_time_flip
    Image.fromarray(skimage.data.astronaut()).save(tmp_path / "astronaut.jpg")
    tables = {}
    for suffix in ("pt", "onnx"):
        output = tmp_path / f"{suffix}.csv"
        assert (
            main(
                [
                    "predict",
                    str(tmp_path / "astronaut.jpg"),
                    "--model",
                    str(tmp_path / f"model.{suffix}"),
                    "--output",
                    str(output),
                ]
            )
            == 0
        )
        tables[suffix] = pd.read_csv(output)
    assert len(tables["onnx"]) == len(tables["pt"]) == 1
    assert tables["onnx"].loc[0, "age"] == pytest.approx(tables["pt"].loc[0, "age"], abs=0.011)
    for name in ("age_low_50", "age_high_50", "age_low_80", "age_high_80"):
        assert abs(tables["onnx"].loc[0, name] - tables["pt"].loc[0, name]) <= 1  # whole ages; float rounding
    h = onnx.helper
    value = h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    identity = h.make_graph(
        [h.make_node("Identity", ["x"], ["y"])],
        "identity",
        [value],
        [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    onnx.save(h.make_model(identity, opset_imports=[h.make_opsetid("", 17)]), tmp_path / "other.onnx")
    with pytest.raises(ModelNotFoundError, match="not written by agelab export"):
        OnnxAgePredictor(tmp_path / "other.onnx")
    (tmp_path / "broken.onnx").write_bytes(b"not a protobuf")
    with pytest.raises(ModelNotFoundError, match="not a readable ONNX model"):
        OnnxAgePredictor(tmp_path / "broken.onnx")


def test_foss_parity_pairs_tied_detections_and_catches_a_moved_box():
    from agelab.inference.onnx_export import _match_detections

    boxes = torch.tensor([[[0.0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]]])
    scores = torch.tensor([[0.9, 0.5, 0.5]])
    logits = torch.randn(1, 3, 101)
    reference = [boxes, scores, logits]
    swapped = [t[:, [0, 2, 1]] for t in reference]  # a score tie resolved the other way round
    assert all(
        torch.equal(a, b) for a, b in zip(_match_detections(swapped, reference), reference, strict=True)
    )
    moved = [boxes.clone(), scores, logits]
    moved[0][0, 0] += 5.0  # the most confident face is somewhere else
    with pytest.raises(ExportError, match="different boxes"):
        _match_detections(moved, reference)
