"""DLA-34 as CenterNet builds it, minus the projections no forward pass uses (DDP needs every parameter to
receive a gradient), still loading files that hold them."""

import torch

from agelab.models.centernet import CenterNetFaceDetector
from agelab.models.dla import DLA, scaled_channels


def test_every_detector_parameter_receives_a_gradient():
    """DistributedDataParallel fails on parameters without a gradient (CenterNet's level3/4.project)."""
    torch.manual_seed(0)
    detector = CenterNetFaceDetector(width=0.25, head_conv=8, deformable=False, input_size=64)
    out = detector(torch.rand(2, 3, 64, 64))
    (out.heatmap.sum() + out.size.sum() + out.offset.sum()).backward()
    without = [name for name, p in detector.named_parameters() if p.grad is None]
    assert without == []


def test_files_with_the_unused_projections_still_load():
    """CenterNet / DLA-34 state dicts (and bundles saved before) carry level3/level4.project: skipped."""
    torch.manual_seed(0)
    source = DLA(0.25)
    state = dict(source.state_dict())
    c = scaled_channels(0.25)
    for level, (cin, cout) in (("level3", (c[2], c[3])), ("level4", (c[3], c[4]))):
        assert not any(k.startswith(f"{level}.project.") for k in state)
        state[f"{level}.project.0.weight"] = torch.rand(cout, cin, 1, 1)
        for name in ("weight", "bias", "running_mean", "running_var"):
            state[f"{level}.project.1.{name}"] = torch.rand(cout)
        state[f"{level}.project.1.num_batches_tracked"] = torch.tensor(3)
    assert any(k.startswith("level5.project.") for k in state)  # one-level trees keep theirs
    target = DLA(0.25)
    target.load_state_dict(state)  # strict
    x = torch.rand(1, 3, 32, 32)
    for a, b in zip(source.eval()(x), target.eval()(x), strict=True):
        torch.testing.assert_close(a, b)
