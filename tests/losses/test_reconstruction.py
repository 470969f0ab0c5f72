import pytest
import torch

from agelab.faces.detection import LANDMARKS_48
from agelab.losses.reconstruction import (
    FitWeights,
    fit_loss,
    landmark_loss,
    photometric_loss,
    sample_image,
    tikhonov_loss,
)
from agelab.morphable.camera import Camera
from agelab.morphable.fitting import neutral_params, place_mean_face
from agelab.morphable.image_formation import form_image
from agelab.morphable.model import MorphableParams
from agelab.morphable.procedural import build_procedural_model


def test_sampling_is_exact_at_pixel_centres_and_bilinear_between():
    image = torch.arange(12.0).view(1, 1, 3, 4)
    at = torch.tensor([[[0.5, 0.5], [3.5, 2.5], [1.0, 0.5], [1.5, 1.0]]])
    values = sample_image(image, at)[0, :, 0]
    torch.testing.assert_close(values, torch.tensor([0.0, 11.0, 0.5, 3.0]))


def test_landmark_loss_is_eq8_on_the_48_points():
    target = torch.rand(2, 68, 2) * 100
    shifted = target + torch.tensor([3.0, 4.0])
    assert float(landmark_loss(shifted, target)) == pytest.approx(48 * 25, rel=1e-5)
    jaw_only = target.clone()
    jaw_only[:, :17] += 50  # the jaw is not among the 48
    assert float(landmark_loss(jaw_only, target)) == 0
    # per-face weights leave faces out (their share of the batch mean becomes 0)
    assert float(landmark_loss(shifted, target, torch.tensor([1.0, 0.0]))) == pytest.approx(48 * 25 / 2)
    assert len(LANDMARKS_48) == 48


def test_tikhonov_is_eq9():
    params = neutral_params(2)
    params.alpha[:] = 1.0
    params.delta[:] = 2.0
    weights = FitWeights(identity=0.1, reflectance=5.0, expression=0.01)
    assert float(tikhonov_loss(params, weights)) == pytest.approx(0.1 * 80 + 0.01 * 64 * 4)


def _scene(dtype=torch.float32):
    pm = build_procedural_model()
    camera = Camera.for_image(64)
    params = neutral_params(1, dtype=dtype)
    landmarks = (torch.tensor([32.0, 32.0]) + torch.linspace(-15, 15, 68)[:, None]).to(dtype)[None]
    params.tau = place_mean_face(pm.model.to("cpu", dtype), camera, landmarks).to(dtype)
    return pm, camera, params, landmarks


def test_photometric_loss_is_small_for_the_true_colours_and_grows_with_a_wrong_pose():
    pm, camera, params, _ = _scene()
    f = form_image(pm.model, params, camera)
    # an image holding each visible vertex's own colour at its pixel
    image = torch.zeros(1, 3, 64, 64)
    px = f.pixels[0].long().clamp(0, 63)
    image[0, :, px[:, 1], px[:, 0]] = f.colours[0].T
    image = (
        torch.nn.functional.avg_pool2d(image, 3, 1, 1)
        * 9
        / torch.nn.functional.avg_pool2d((image.sum(1, keepdim=True) > 0).float(), 3, 1, 1).clamp_min(1e-6)
        / 9
    )
    true_loss = float(photometric_loss(image, f))
    moved = MorphableParams(**{k: v.clone() for k, v in vars(params).items()})
    moved.tau[0, 0] += 25.0
    moved_loss = float(photometric_loss(image, form_image(pm.model, moved, camera)))
    assert true_loss < 0.5 * moved_loss


def test_fit_loss_has_correct_gradients():
    """torch.autograd.gradcheck of L_fit (Eqs. 2–9) with respect to the whole code vector z."""
    pm, camera, params, landmarks = _scene(torch.float64)
    model = pm.model.to("cpu", torch.float64)
    # a smooth image: bilinear interpolation's kinks at pixel centres stay far below the tolerance
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    phases = torch.tensor([0.0, 1.0, 2.0])[:, None, None]
    image = (0.5 + 0.3 * torch.sin(xx / 9 + phases) * torch.cos(yy / 7 - phases))[None].double()
    torch.manual_seed(0)
    z0 = params.to_vector().clone()
    z0[:, :80] = torch.randn(80, dtype=torch.float64) * 0.5
    z0[:, 224 : 224 + 27] += torch.randn(27, dtype=torch.float64) * 0.05
    weights = FitWeights()

    def loss(z: torch.Tensor) -> torch.Tensor:
        p = MorphableParams.from_vector(z)
        return fit_loss(image, landmarks, p, form_image(model, p, camera), weights)["total"]

    z = z0.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(loss, (z,), eps=1e-6, atol=1e-5, rtol=1e-3)
