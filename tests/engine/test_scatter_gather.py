"""index_add / index_copy / index_fill, masked_scatter, scatter_reduce, take, take_along_dim, put
against PyTorch (values, node names, gradients), their in-place forms, and PyTorch's errors."""
import numpy as np
import pytest

from gradview import engine
from gradview.engine.testing import gradcheck
from tests.engine.helpers import run_both, assert_same_error

rng = np.random.default_rng(1)
X = rng.permutation(12).reshape(3, 4) * 0.5 - 2.75  # distinct, no zeros, 6 positive
SRC = rng.permutation(6).reshape(3, 2) * 0.5 + 0.25
VEC = np.array([1.5, -2.0, 0.5, 3.0])


def _idx(t, values):
    return t.tensor(values)


@pytest.mark.parametrize("fn", [
    lambda t, x, s: t.index_add(x, 1, _idx(t, [0, 2]), s),
    lambda t, x, s: x.index_add(-1, _idx(t, [3, 3]), s, alpha=2.5),
    lambda t, x, s: t.index_copy(x, 1, _idx(t, [1, 3]), s),
    lambda t, x, s: x.index_fill(1, _idx(t, [0, 2]), -1.0) + s.sum(),
    lambda t, x, s: x.index_fill(-2, _idx(t, [1]), s[0, 0]),
    lambda t, x, s: x.masked_scatter(x > 0, s),
    lambda t, x, s: x.masked_scatter(_idx(t, [True, False, True, False]), s.repeat(2, 1)),
    lambda t, x, s: x.take(_idx(t, [[0, -1], [5, 5]])) * s[:2, :],
    lambda t, x, s: t.take_along_dim(x, _idx(t, [[0, 2], [1, 1], [3, 0]]), 1) * s,
    lambda t, x, s: t.take_along_dim(x, _idx(t, [[0], [2]]), dim=0) + s.sum(),
    lambda t, x, s: t.take_along_dim(x, _idx(t, [11, 0, 4])) + s.sum(),
    lambda t, x, s: x.put(_idx(t, [0, 5, -1]), s[:, 0]),
    lambda t, x, s: x.put(_idx(t, [0, 0, 4]), s[:, 1], accumulate=True),
])
def test_index_ops(fn, device):
    run_both(fn, X, SRC, device=device)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self, device):
    index = [[0, 0], [1, 3], [2, 2]]
    run_both(lambda t, x, s: t.scatter_reduce(x, 1, _idx(t, index), s, reduce, include_self=include_self),
             X, SRC, device=device)
    run_both(lambda t, x, s: x.scatter_reduce(0, _idx(t, [[2, 0], [2, 1], [0, 0]]), s, reduce,
                                              include_self=include_self), X, SRC, device=device)


@pytest.mark.parametrize("reduce", ["prod", "amax", "amin"])
def test_scatter_reduce_zeros_and_ties(reduce, device):
    # a zero among the factors, and equal values meeting at one position
    x = np.array([0.0, 2.0, 3.0])
    src = np.array([2.0, 0.0, 2.0, 3.0, 0.0])
    run_both(lambda t, x, s: t.scatter_reduce(x, 0, _idx(t, [1, 1, 1, 2, 2]), s, reduce), x, src, device=device)


def test_scatter_reduce_integers(device):
    x = np.array([1, 5, 3])
    for reduce in ["sum", "prod", "mean", "amax", "amin"]:
        for include_self in [True, False]:
            run_both(lambda t, a, b: t.scatter_reduce(a, 0, _idx(t, [0, 0, 2]), b, reduce, include_self=include_self),
                     x, np.array([2, 5, 7]), device=device)


def test_zero_dim(device):
    s0 = np.array(2.5)
    run_both(lambda t, x, v: t.index_add(x, 0, _idx(t, [0]), v), s0, np.array(1.5), device=device, names=False)
    run_both(lambda t, x: x.take(_idx(t, 0)), s0, device=device)
    run_both(lambda t, x, v: x.put(_idx(t, [0]), v), s0, np.array([1.5]), device=device)


def test_inplace_forms(device):
    def fn(t, x, s):
        y = x * 1
        y.index_add_(1, _idx(t, [0, 2]), s)
        y.index_copy_(1, _idx(t, [3]), s[:, :1])
        y.index_fill_(0, _idx(t, [1]), 0.5)
        y.masked_scatter_(y > 1, s.reshape(-1).repeat(2))
        y.put_(_idx(t, [2, 7]), s[0])
        return y.scatter_reduce_(1, _idx(t, [[0], [1], [2]]), s[:, :1], "amax")
    run_both(fn, X, SRC, device=device)


def test_integer_and_no_grad_inputs(device):
    ints = np.arange(12).reshape(3, 4)
    run_both(lambda t, x: (x.index_add(1, _idx(t, [0, 0]), x[:, :2], alpha=3), x.index_fill(0, _idx(t, [2]), 7),
                           x.take(_idx(t, [1, -2])), x.put(_idx(t, [1]), _idx(t, [9]), accumulate=True)),
             ints, device=device)


@pytest.mark.parametrize("fn", [
    lambda t, x, s: x.index_add(1, _idx(t, [0.0, 1.0]), s),
    lambda t, x, s: x.index_add(1, _idx(t, [0, 1]), s.float()),
    lambda t, x, s: x.index_add(1, _idx(t, [0, 4]), s),
    lambda t, x, s: x.index_add(1, _idx(t, [[0], [1]]), s),
    lambda t, x, s: x.index_add(1, _idx(t, [0, 1, 2]), s),
    lambda t, x, s: x.index_copy(2, _idx(t, [0, 1]), s),
    lambda t, x, s: x.index_fill(1, _idx(t, [0]), s[0]),
    lambda t, x, s: x.masked_scatter(x > -10, s),
    lambda t, x, s: x.masked_scatter(x, s),
    lambda t, x, s: x.scatter_reduce(1, _idx(t, [[0, 1]] * 3), s, "maximum"),
    lambda t, x, s: x.scatter_reduce(1, _idx(t, [[0, 5]] * 3), s, "sum"),
    lambda t, x, s: x.take(_idx(t, [12])),
    lambda t, x, s: x.take(_idx(t, [-13])),
    lambda t, x, s: x.put(_idx(t, [0, 1]), s),
    lambda t, x, s: x.put(_idx(t, [0, 12]), s[0]),
    lambda t, x, s: x.index_add_(1, _idx(t, [0, 1]), s),  # a leaf that requires grad
])
def test_errors(fn):
    assert_same_error(fn, X, SRC, grad=True, match_message=False)


@pytest.mark.parametrize("fn", [
    lambda i, x, s: engine.index_add(x, 1, i([0, 0]), s, alpha=2),
    lambda i, x, s: engine.index_copy(x, 1, i([3, 1]), s),
    lambda i, x, s: x.masked_scatter(x > 0, s),
    lambda i, x, s: x.scatter_reduce(1, i([[0, 0], [1, 3], [2, 2]]), s, "prod"),
    lambda i, x, s: x.scatter_reduce(1, i([[0, 0], [1, 3], [2, 2]]), s, "mean", include_self=False),
    lambda i, x, s: x.put(i([1, 1, 2]), s[:, 0], accumulate=True),
])
def test_gradcheck(fn, device):
    x = engine.tensor(X, device=device, requires_grad=True)
    s = engine.tensor(SRC, device=device, requires_grad=True)
    assert gradcheck(lambda x, s: fn(lambda v: engine.tensor(v, device=device), x, s), (x, s))


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax"])
def test_create_graph(reduce):
    import torch

    def second(t):
        x = t.tensor(X, requires_grad=True)
        s = t.tensor(SRC, requires_grad=True)
        y = (x.scatter_reduce(1, t.tensor([[0, 0], [1, 3], [2, 2]]), s, reduce) ** 3).sum()
        y = y + (x.index_add(0, t.tensor([2, 0, 2]), s.repeat(1, 2)) ** 3).sum() + (x.take(t.tensor([1, 1])) ** 3).sum()
        gx, gs = t.autograd.grad(y, (x, s), create_graph=True)
        ((gx ** 2).sum() + (gs ** 2).sum()).backward()
        return x.grad, s.grad
    for ours, theirs in zip(second(engine), second(torch)):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9)
