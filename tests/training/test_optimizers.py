"""agelab.training.optimizers.adam: PyTorch's fused Adam kernel, the same update as the reference."""

from __future__ import annotations

import pytest
import torch

from agelab.training.optimizers import adam


def test_adam_step_matches_the_hand_computed_update_with_l2():
    # p = 1, lr 0.1, weight decay 0.1, betas (0.9, 0.999): step 1 with g = 0.5 -> g' = 0.6, m̂ = 0.6,
    # v̂ = 0.36, p -= 0.1 * 0.6 / 0.6 -> 0.9; step 2 with g = 0.2 -> g' = 0.29, m = 0.083, v = 0.00044374,
    # m̂ = 0.083 / 0.19, v̂ = 0.00044374 / 0.001999, p -= 0.1 * m̂ / sqrt(v̂) -> 0.807281
    p = torch.nn.Parameter(torch.tensor([1.0]))
    optimizer = adam([p], lr=0.1, weight_decay=0.1)
    assert optimizer.param_groups[0]["fused"] is True
    p.grad = torch.tensor([0.5])
    optimizer.step()
    assert p.item() == pytest.approx(0.9, abs=1e-6)
    p.grad = torch.tensor([0.2])
    optimizer.step()
    assert p.item() == pytest.approx(0.807281, abs=1e-5)


def test_fused_adam_follows_the_default_adam_over_parameter_groups():
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    fused = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    fused.load_state_dict(reference.state_dict())

    def groups(net):
        return [{"params": net[0].parameters(), "weight_decay": 0.0}, {"params": net[2].parameters()}]

    optimizers = [
        torch.optim.Adam(groups(reference), lr=1e-2, weight_decay=1e-3, foreach=False),
        adam(groups(fused), lr=1e-2, weight_decay=1e-3),
    ]
    x, y = torch.randn(16, 6), torch.randn(16, 3)
    for _ in range(5):
        for net, optimizer in zip((reference, fused), optimizers, strict=True):
            optimizer.zero_grad()
            (net(x) - y).square().mean().backward()
            optimizer.step()
    for a, b in zip(reference.parameters(), fused.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert not torch.equal(reference[0].weight, torch.nn.Linear(6, 5).weight)


def _one_step(optimizer, p):
    p.grad = torch.tensor([0.5, -0.25])
    optimizer.step()


def test_a_checkpoint_of_the_unfused_optimizer_resumes_fused_and_continues_alike():
    """Checkpoints written before the fused kernel (``fused: None``) resume on it, and the next update equals
    the reference optimizer's continuing from the same state."""
    from agelab.training.optimizers import CompositeOptimizer

    old = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    unfused = torch.optim.Adam([old], lr=0.1, weight_decay=0.01)
    _one_step(unfused, old)
    saved = unfused.state_dict()
    _one_step(unfused, old)  # the reference: the unfused optimizer carries on

    new = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    resumed = CompositeOptimizer([adam([new], lr=0.1, weight_decay=0.01)])
    _one_step(resumed, new)  # same first step, then the checkpoint replaces the state
    resumed.load_state_dict({"optimizers": [saved]})
    assert resumed.param_groups[0]["fused"] is True
    _one_step(resumed, new)
    torch.testing.assert_close(new, old)
