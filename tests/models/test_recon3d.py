import torch

from agelab.models.bundle import ModelBundle
from agelab.models.recon3d import recon3d_subnet
from agelab.morphable.model import MorphableParams


def test_untrained_subnet_predicts_the_mean_face_at_the_given_translation():
    torch.manual_seed(0)
    model = recon3d_subnet((5.0, -10.0, 900.0)).eval()
    z = model(torch.randn(4, 3, 112, 112))
    params = MorphableParams.from_vector(z)
    assert z.shape == (4, MorphableParams.dimension()) == (4, 257)
    assert params.alpha.abs().max() < 0.05 and params.delta.abs().max() < 0.05
    assert params.omega.abs().max() < 0.02  # radians: frontal
    torch.testing.assert_close(params.tau, torch.tensor([[5.0, -10.0, 900.0]]).expand(4, 3), atol=3, rtol=0)
    torch.testing.assert_close(params.gamma[:, [0, 9, 18]], torch.full((4, 3), 0.8), atol=0.02, rtol=0)


def test_subnet_round_trips_through_a_model_bundle(tmp_path):
    model = recon3d_subnet([0.0, 0.0, 800.0], dropout=0.0)
    bundle = ModelBundle(
        architecture="recon3d_subnet",
        kwargs={"translation": [0.0, 0.0, 800.0], "dropout": 0.0},
        state_dict=model.state_dict(),
        crop_size=128,
        crop_margin=0.2,
        image_size=112,
    )
    bundle.save(tmp_path / "m.pt")
    loaded = ModelBundle.load(tmp_path / "m.pt").build()
    images = torch.randn(2, 3, 112, 112)
    torch.testing.assert_close(loaded(images), model.eval()(images))


def test_translation_follows_the_face_centre_so_rotation_does_not_move_it():
    """τ = t_c − R(ω) c: whatever rotation the subnet predicts, the face centre c stays at t_c."""
    from agelab.morphable.camera import to_camera_space

    centre = (3.0, -20.0, 70.0)
    model = recon3d_subnet((10.0, 5.0, 900.0), rotation_centre=centre)
    raw = torch.zeros(2, 257)
    raw[0, -6:-3] = torch.tensor([0.2, 0.6, -0.1])  # some rotation (network units)
    params = MorphableParams.from_vector(model.decode(raw))
    placed = to_camera_space(torch.tensor(centre).expand(2, 1, 3), params.omega, params.tau)
    torch.testing.assert_close(placed[:, 0], torch.tensor([[10.0, 5.0, 900.0]]).expand(2, 3))
    assert params.omega[0].abs().sum() > 0.3
