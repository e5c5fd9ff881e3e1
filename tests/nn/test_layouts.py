"""Layer outputs have PyTorch's memory layout (contiguous NCHW, same strides), so the classic
LeNet `x.view(-1, 16 * 5 * 5)` after convolutions and pooling works as in PyTorch."""
import functools

import numpy as np
import pytest

from gradview import engine
from tests.engine.helpers import reference_torch

LAYERS = {
    "conv2d": lambda F, ones, y: F.conv2d(y, ones(4, 6, 3, 3)),
    "conv2d_groups": lambda F, ones, y: F.conv2d(y, ones(6, 2, 3, 3), groups=3, padding=1, stride=2),
    "conv1d": lambda F, ones, y: F.conv1d(y[:, :, 0], ones(3, 6, 3)),
    "conv_transpose2d": lambda F, ones, y: F.conv_transpose2d(y, ones(6, 2, 3, 3)),
    "max_pool2d": lambda F, ones, y: F.max_pool2d(y, 2),
    "avg_pool2d": lambda F, ones, y: F.avg_pool2d(y, 2),
    "adaptive_avg_pool2d": lambda F, ones, y: F.adaptive_avg_pool2d(y, 3),
    "pad": lambda F, ones, y: F.pad(y, (1, 1, 1, 1)),
    "interpolate": lambda F, ones, y: F.interpolate(y, scale_factor=2),
}


@pytest.mark.parametrize("layer", list(LAYERS))
def test_spatial_outputs_have_pytorch_strides(layer, device):
    torch = reference_torch()
    strides = []
    for lib, dev in ((engine, device), (torch, "cpu")):
        ones = functools.partial(lib.ones, device=dev)
        strides.append(LAYERS[layer](lib.nn.functional, ones, ones(2, 6, 8, 8)).stride())
    assert strides[0] == strides[1]


def test_lenet_flattens_with_view(device):
    torch = reference_torch()
    outs = []
    for lib, dev in ((engine, device), (torch, "cpu")):
        lib.manual_seed(0)
        conv1, conv2 = lib.nn.Conv2d(1, 6, 5), lib.nn.Conv2d(6, 16, 5)
        fc = lib.nn.Linear(16 * 5 * 5, 10)
        F = lib.nn.functional
        x = lib.ones(2, 1, 32, 32)
        if lib is engine:
            conv1, conv2, fc, x = conv1.to(dev), conv2.to(dev), fc.to(dev), x.to(dev)
        x = F.max_pool2d(F.relu(conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(conv2(x)), 2)
        x = x.view(-1, 16 * 5 * 5)
        outs.append(fc(x).detach().cpu().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-4, atol=1e-5)
