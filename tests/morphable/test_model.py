import torch

from agelab.morphable.model import MorphableModel, MorphableParams


def _one_vertex_model():
    """One vertex at (1, 2, 3) mm, one component per basis: identity along x (σ 2), expression along y
    (σ 3), reflectance along the red channel (σ 0.5), mean colour (0.5, 0.5, 0.5)."""
    return MorphableModel(
        mean_shape=torch.tensor([[1.0, 2.0, 3.0]]),
        identity_basis=torch.tensor([[1.0], [0.0], [0.0]]),
        identity_std=torch.tensor([2.0]),
        expression_basis=torch.tensor([[0.0], [1.0], [0.0]]),
        expression_std=torch.tensor([3.0]),
        mean_reflectance=torch.full((1, 3), 0.5),
        reflectance_basis=torch.tensor([[1.0], [0.0], [0.0]]),
        reflectance_std=torch.tensor([0.5]),
        triangles=torch.zeros(0, 3, dtype=torch.int64),
        landmark_indices=torch.full((68,), -1),
        name="one",
    )


def test_geometry_and_reflectance_are_eqs_2_and_3_by_hand():
    model = _one_vertex_model()
    # G = μ + E_id (α σ_id) + E_exp (δ σ_exp) = (1 + 0.5·2, 2 + (−1)·3, 3) = (2, −1, 3)
    geometry = model.geometry(torch.tensor([[0.5]]), torch.tensor([[-1.0]]))
    torch.testing.assert_close(geometry, torch.tensor([[[2.0, -1.0, 3.0]]]))
    # L = μ_ref + E_ref (β σ_ref) = (0.5 + 0.4·0.5, 0.5, 0.5)
    torch.testing.assert_close(model.reflectance(torch.tensor([[0.4]])), torch.tensor([[[0.7, 0.5, 0.5]]]))


def test_to_converts_floating_fields_only_and_keeps_the_name():
    model = _one_vertex_model().to("cpu", torch.float64)
    assert model.mean_shape.dtype == torch.float64 and model.expression_std.dtype == torch.float64
    assert model.triangles.dtype == torch.int64 and model.landmark_indices.dtype == torch.int64
    assert model.name == "one"
    torch.testing.assert_close(model.mean_shape, torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64))
    assert _one_vertex_model().to("cpu").mean_shape.dtype == torch.float32  # no dtype: left as it is


def test_a_single_unbatched_code_vector_round_trips():
    z = torch.arange(257.0)  # 80 + 80 + 64 + 27 + 3 + 3 entries, no batch axis
    params = MorphableParams.from_vector(z)
    assert params.beta[0] == 80 and params.delta[0] == 160 and params.tau.tolist() == [254.0, 255.0, 256.0]
    torch.testing.assert_close(params.to_vector(), z)
