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


def _formation(pixels, colours, visible, landmarks=None):
    from agelab.morphable.image_formation import Formation

    pixels = torch.as_tensor(pixels, dtype=torch.float32)
    return Formation(
        points_camera=torch.zeros(*pixels.shape[:2], 3),
        pixels=pixels,
        colours=torch.as_tensor(colours, dtype=torch.float32),
        visible=torch.as_tensor(visible),
        landmarks=torch.zeros(pixels.shape[0], 68, 2) if landmarks is None else landmarks,
    )


def test_photometric_loss_is_eq7_the_mean_colour_distance_over_visible_vertices_inside_the_image():
    image = torch.zeros(2, 3, 4, 4)
    image[:, 0] = 1.0  # red everywhere
    formation = _formation(
        [[[1.0, 1.0], [2.0, 3.0], [1.0, 1.0], [5.0, 1.0]], [[1.0, 1.0], [1.0, 1.0], [3.0, 2.0], [1.0, -0.5]]],
        [
            [[1.0, 3.0, 4.0], [0.0, 0.0, 0.0], [7.0, 7.0, 7.0], [9.0, 9.0, 9.0]],
            [[1.0, 0.0, 0.0], [1.0, 6.0, 8.0], [1.0, 0.0, 0.0], [9.0, 9.0, 9.0]],
        ],
        # image 0: vertex 2 faces away, vertex 3 lies right of the image; image 1: vertex 3 lies above it
        [[True, True, False, True], [True, True, True, True]],
    )
    # image 0: |(0,3,4)| = 5 and |(−1,0,0)| = 1 -> 3; image 1: 0, 10 and 0 -> 10/3
    expected = (3.0 + 10.0 / 3.0) / 2
    assert float(photometric_loss(image, formation)) == pytest.approx(expected, abs=1e-3)
    assert float(photometric_loss(image, formation, eps=0.0)) == pytest.approx(expected, abs=1e-6)
    nothing_visible = _formation([[[1.0, 1.0]]], [[[0.0, 0.0, 0.0]]], [[False]])
    assert float(photometric_loss(image[:1], nothing_visible)) == 0.0  # no division by an empty 𝒱


def test_inside_image_includes_the_borders_and_sampling_outside_takes_the_border_colour():
    from agelab.losses.reconstruction import inside_image

    pixels = torch.tensor([[[0.0, 0.0], [4.0, 3.0], [-0.01, 1.0], [1.0, 3.01], [4.01, 1.0], [1.0, -0.01]]])
    assert inside_image(pixels, 3, 4).tolist() == [[True, True, False, False, False, False]]
    image = torch.arange(12.0).view(1, 1, 3, 4)
    far = torch.tensor([[[-10.0, 0.5], [20.0, 2.5]]])
    torch.testing.assert_close(sample_image(image, far)[0, :, 0], torch.tensor([0.0, 11.0]))


def test_tikhonov_is_a_batch_mean_and_weighs_reflectance_by_its_own_lambda():
    params = neutral_params(2)
    params.beta[0] = 1.0  # 80 · 1 in face 0, nothing in face 1
    params.alpha[1, :4] = 2.0  # 4 · 4 in face 1
    weights = FitWeights(identity=0.5, reflectance=0.25, expression=3.0)
    assert float(tikhonov_loss(params, weights)) == pytest.approx((0.25 * 80 + 0.5 * 16) / 2)


def test_fit_loss_total_is_eq6():
    image = torch.zeros(1, 3, 4, 4)
    landmarks = torch.zeros(1, 68, 2)
    projected = torch.zeros(1, 68, 2)
    projected[0, LANDMARKS_48[0]] = torch.tensor([3.0, 4.0])  # landmark term 25
    formation = _formation([[[1.0, 1.0]]], [[[0.0, 0.6, 0.8]]], [[True]], projected)  # photometric term 1
    params = neutral_params(1)
    params.delta[0, 0] = 2.0  # regularisation λ_δ · 4
    weights = FitWeights(landmark=0.1, photometric=3.0, identity=1.0, reflectance=1.0, expression=0.5)
    terms = fit_loss(image, landmarks, params, formation, weights)
    assert float(terms["landmark"]) == pytest.approx(25.0)
    assert float(terms["photometric"]) == pytest.approx(1.0, abs=1e-4)
    assert float(terms["regularisation"]) == pytest.approx(2.0)
    assert float(terms["total"]) == pytest.approx(0.1 * 25 + 3.0 * 1.0 + 2.0, abs=1e-3)
    left_out = fit_loss(image, landmarks, params, formation, weights, torch.tensor([0.0]))
    assert float(left_out["landmark"]) == 0.0


def test_fit_objective_keeps_batch_weighted_running_means_and_its_rigid_stage_holds_the_mean_shape():
    from agelab.losses.reconstruction import FitObjective

    pm, camera, params, landmarks = _scene()
    objective = FitObjective(pm.model, camera, FitWeights())
    z = params.to_vector().clone()
    z[:, :80] = 0.5  # identity
    z[:, 80 + 64 : 80 + 64 + 80] = 0.5  # reflectance
    z[:, 80 : 80 + 64] = 0.5  # expression
    image = torch.full((1, 3, 64, 64), 0.5)
    one = objective(z, {"image": image, "landmarks": landmarks})
    three = objective(
        z.expand(3, -1), {"image": image.expand(3, -1, -1, -1), "landmarks": landmarks.expand(3, -1, -1)}
    )
    torch.testing.assert_close(one, three)
    means = objective.take_running_means()
    assert set(means) == {"total", "landmark", "photometric", "regularisation"}
    assert means["total"] == pytest.approx(float(one), rel=1e-5)  # 1·L + 3·L over 4 faces
    assert objective.take_running_means() == {}  # reset

    p = MorphableParams.from_vector(z)
    torch.testing.assert_close(objective.project_landmarks(z), form_image(pm.model, p, camera).landmarks)
    regularisation = objective(z, {"image": image, "landmarks": landmarks})
    objective.rigid = True
    rigid_terms_z = objective(z, {"image": image, "landmarks": landmarks})
    means = objective.take_running_means()
    assert float(rigid_terms_z) != float(regularisation)
    rigid = MorphableParams.from_vector(z)
    rigid.alpha = rigid.alpha * 0
    rigid.delta = rigid.delta * 0
    torch.testing.assert_close(objective.project_landmarks(z), form_image(pm.model, rigid, camera).landmarks)
    expected = fit_loss(image, landmarks, rigid, form_image(pm.model, rigid, camera), FitWeights())
    assert float(rigid_terms_z) == pytest.approx(float(expected["total"]), rel=1e-5)
    assert means["regularisation"] == pytest.approx(
        (float(tikhonov_loss(p, FitWeights())) + 0.002 * 80 * 0.25) / 2, rel=1e-4
    )


def test_tikhonov_squares_each_expression_coefficient():
    params = neutral_params(1)
    params.delta[0, :2] = torch.tensor([3.0, -1.0])  # 3² + (−1)² = 10
    weights = FitWeights(identity=1.0, reflectance=1.0, expression=0.5)
    assert float(tikhonov_loss(params, weights)) == pytest.approx(0.5 * 10)


def test_sampling_in_float64_is_exact_at_centres_of_an_image_three_pixels_wide():
    """The scale 2 / W is built in the pixels' dtype: 2/3 rounded to float32 would put the centre
    (1.5, 0.5) at x ≈ 1 + 4.5e-8 pixels."""
    image = torch.tensor([[[[0.0, 1.0, 2.0]]]], dtype=torch.float64)  # one row: value = x − 0.5
    at = torch.tensor([[[1.5, 0.5], [2.5, 0.5], [0.75, 0.5]]], dtype=torch.float64)
    values = sample_image(image, at)[0, :, 0]
    torch.testing.assert_close(
        values, torch.tensor([1.0, 2.0, 0.25], dtype=torch.float64), atol=1e-13, rtol=0
    )


def test_fit_objective_passes_landmark_weights_and_weighs_running_means_by_batch_size():
    from agelab.losses.reconstruction import FitObjective

    pm, camera, params, landmarks = _scene()
    objective = FitObjective(pm.model, camera, FitWeights())
    z = params.to_vector().clone()
    image = torch.full((1, 3, 64, 64), 0.5)
    left_out = objective(z, {"image": image, "landmarks": landmarks, "landmark_weight": torch.zeros(1)})
    means = objective.take_running_means()  # one face: the means are its terms
    assert means["landmark"] == 0.0
    assert means["total"] == pytest.approx(float(left_out), rel=1e-6)
    assert means["total"] == pytest.approx(means["photometric"] + means["regularisation"], rel=1e-6)

    one = objective(z, {"image": image, "landmarks": landmarks})
    shifted = landmarks + 2.0
    three = objective(
        z.expand(3, -1), {"image": image.expand(3, -1, -1, -1), "landmarks": shifted.expand(3, -1, -1)}
    )
    expected = (float(one) + 3 * float(three)) / 4  # 1 face at the first loss, 3 at the second
    assert float(one) != pytest.approx(float(three))
    assert objective.take_running_means()["total"] == pytest.approx(expected, rel=1e-5)


def test_fit_objective_moves_its_model_to_the_codes_device_once_and_never_copies_it_otherwise():
    """The meta device (shapes only) stands in for a GPU: codes on it move the model there, once."""
    from agelab.losses.reconstruction import FitObjective

    pm, camera, params, landmarks = _scene()
    objective = FitObjective(pm.model, camera, FitWeights())
    z = params.to_vector()
    model = objective.model
    objective(z, {"image": torch.full((1, 3, 64, 64), 0.5), "landmarks": landmarks})
    objective.project_landmarks(z)
    assert objective.model is model  # already on the codes' device: not copied
    projected = objective.project_landmarks(z.to("meta"))
    assert projected.device.type == "meta" and projected.shape == (1, 68, 2)
    moved = objective.model
    assert moved.mean_shape.device.type == "meta" and moved.triangles.device.type == "meta"
    objective.project_landmarks(z.to("meta"))
    assert objective.model is moved


def test_sampling_builds_its_scale_on_the_pixels_device():
    """The meta device (shapes only) stands in for a GPU: a scale left on the CPU could not meet it."""
    sampled = sample_image(torch.zeros(2, 3, 4, 5, device="meta"), torch.zeros(2, 7, 2, device="meta"))
    assert sampled.device.type == "meta" and sampled.shape == (2, 7, 3)


def test_sampling_states_align_corners_so_grid_sample_does_not_warn_on_every_batch():
    import warnings

    image = torch.arange(12.0).view(1, 1, 3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # grid_sample warns when align_corners is left to its default
        values = sample_image(image, torch.tensor([[[1.5, 1.5]]]))
    assert values.item() == 5.0  # the centre of pixel (row 1, column 1)
