"""Sorting and selection against PyTorch: values, int64 indices, named tuples, node names and
gradients, on every device. Gradients are compared on distinct values (PyTorch's choice among
tied indices is its own); ties are checked through values."""
import numpy as np
import pytest

from gradview import engine
from gradview.engine.testing import gradcheck
from tests.engine.helpers import run_both, assert_same_error

rng = np.random.default_rng(0)
M = rng.permutation(12).reshape(3, 4) * 0.5 - 2.0        # distinct values
B3 = rng.permutation(24).reshape(2, 3, 4) * 0.25 - 3.0
TIES = np.array([[1., 2., 2., 1., 3.], [0., 0., 5., 5., 5.]])
NAN = np.array([[1., np.nan, 0., 2.], [3., 1., 2., 0.]])
S0 = np.array(1.5)


@pytest.mark.parametrize("fn", [
    lambda t, x: t.sort(x),
    lambda t, x: x.sort(0, descending=True),
    lambda t, x: t.sort(x, dim=-2, stable=True),
    lambda t, x: t.sort(x, stable=True, descending=True, dim=1),
    lambda t, x: t.msort(x),
    lambda t, x: x.argsort(-1, descending=True),
    lambda t, x: t.topk(x, 2),
    lambda t, x: x.topk(3, dim=1, largest=False),
    lambda t, x: x.topk(0),
    lambda t, x: t.kthvalue(x, 2),
    lambda t, x: x.kthvalue(3, 1, keepdim=True),
    lambda t, x: t.median(x),
    lambda t, x: x.median(-1),
    lambda t, x: t.median(x, 0, keepdim=True),
    lambda t, x: t.nanmedian(x),
    lambda t, x: x.nanmedian(1),
    lambda t, x: t.mode(x, 0),
    lambda t, x: t.cummax(x, 1),
    lambda t, x: x.cummin(-2),
    lambda t, x: t.quantile(x, 0.3),
    lambda t, x: x.quantile(t.tensor([0.1, 0.5, 1.0], dtype=t.float64), dim=1, keepdim=True),
    lambda t, x: t.quantile(x, 0.4, dim=0, interpolation="lower"),
    lambda t, x: t.quantile(x, 0.4, dim=-1, interpolation="higher"),
    lambda t, x: t.quantile(x, t.tensor([0.25, 0.6], dtype=t.float64), dim=0, interpolation="nearest"),
    lambda t, x: t.quantile(x, 0.4, interpolation="midpoint", keepdim=True),
    lambda t, x: x.nanquantile(0.7, dim=1),
])
def test_distinct_values(fn, device):
    run_both(fn, M, device=device)
    run_both(fn, B3, device=device)


@pytest.mark.parametrize("fn", [
    lambda t, x: t.sort(x),
    lambda t, x: t.sort(x, 0, descending=True),
    lambda t, x: x.topk(1),
    lambda t, x: t.kthvalue(x, 1, -1),
    lambda t, x: t.median(x),
    lambda t, x: t.median(x, 0),
    lambda t, x: x.nanmedian(0, keepdim=True),
    lambda t, x: t.mode(x),
    lambda t, x: t.cummax(x, 0),
    lambda t, x: t.cummin(x, 0),
    lambda t, x: t.quantile(x, t.tensor([0.2, 0.9], dtype=t.float64)),
])
def test_zero_dim(fn, device):
    run_both(fn, S0, device=device)


def test_zero_dim_unique(device):
    run_both(lambda t, x: (t.unique(x, return_inverse=True, return_counts=True),
                           t.unique_consecutive(x, return_inverse=True, return_counts=True)), S0, device=device,
             grad=False)


def test_stable_sort_keeps_tie_order(device):
    run_both(lambda t, x: t.sort(x, stable=True), TIES, device=device, grad=False)
    run_both(lambda t, x: t.sort(x, stable=True, descending=True), TIES, device=device, grad=False)
    run_both(lambda t, x: t.argsort(x, dim=0, stable=True), TIES.T.copy(), device=device)


@pytest.mark.parametrize("fn", [
    lambda t, x: t.mode(x),
    lambda t, x: t.mode(x.T, 0),
    lambda t, x: t.cummax(x, 1),
    lambda t, x: t.cummin(x, -1),
    lambda t, x: t.median(x),
    lambda t, x: t.nanmedian(x),
])
def test_ties(fn, device):
    # mode's index is the last occurrence, cummax/cummin's the latest extreme; median() shares the
    # gradient among ties: all are fixed by PyTorch's definitions
    run_both(fn, TIES, device=device)


@pytest.mark.parametrize("fn", [
    lambda t, x: t.kthvalue(x, 3)[0],
    lambda t, x: x.median(1)[0],
    lambda t, x: t.topk(x, 2)[0],
    lambda t, x: t.quantile(x, 0.5, dim=1),
])
def test_tie_values(fn, device):
    run_both(fn, TIES, device=device, grad=False)


@pytest.mark.parametrize("fn", [
    lambda t, x: t.sort(x),
    lambda t, x: t.sort(x, descending=True),
    lambda t, x: t.median(x),
    lambda t, x: t.median(x, 1),
    lambda t, x: t.nanmedian(x),
    lambda t, x: t.nanmedian(x, 1),
    lambda t, x: t.cummax(x, 1),
    lambda t, x: t.cummin(x, 1),
    lambda t, x: t.quantile(x, 0.5, dim=1),
    lambda t, x: t.nanquantile(x, t.tensor([0.25, 0.5], dtype=t.float64), dim=1),
    lambda t, x: t.nanquantile(x, 0.5),
])
def test_nan(fn, device):
    run_both(fn, NAN, device=device)


def test_all_nan_nanmedian(device):
    run_both(lambda t, x: (t.nanmedian(x, 0), t.nanquantile(x, 0.5)), np.full(3, np.nan), device=device, grad=False)


def test_empty(device):
    empty = np.zeros((0, 3))
    run_both(lambda t, x: t.sort(x, 0), empty, device=device)
    run_both(lambda t, x: t.median(x, 1), empty, device=device)
    run_both(lambda t, x: t.median(x), np.zeros(0), device=device, grad=False)
    run_both(lambda t, x: t.unique(x, return_inverse=True, return_counts=True), empty, device=device, grad=False)
    run_both(lambda t, x: t.cummax(x, 0), empty, device=device)


def test_integers(device):
    ints = np.array([[3, 1, 3, 2], [4, 4, 0, 1]])
    run_both(lambda t, x: (t.sort(x), t.argsort(x, descending=True, stable=True), t.cummax(x, 1)), ints,
             device=device)
    run_both(lambda t, x: (x.median(1).values, x.mode(1), t.topk(x, 2).values, t.median(x)), ints, device=device)
    run_both(lambda t, x: t.unique(x, return_inverse=True, return_counts=True), ints, device=device)
    run_both(lambda t, x: t.unique_consecutive(x, return_counts=True), np.array([1, 1, 2, 2, 1, 3, 3]),
             device=device)


def test_unique_is_in_the_graph_without_a_derivative():
    x = engine.tensor([2., 1., 2.], requires_grad=True)
    values = engine.unique(x)
    assert values.grad_fn.name() == "Unique2Backward0"
    with pytest.raises(NotImplementedError):
        values.sum().backward()


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted(right, device):
    seq = np.array([1., 3., 3., 5., 7.])
    vals = np.array([[0., 3., 4.], [7., 8., 3.]])
    kw = dict(right=right)
    run_both(lambda t, s, v: t.searchsorted(s, v, **kw), seq, vals, device=device, grad=False)
    run_both(lambda t, s, v: t.searchsorted(s, v, side="right" if right else "left", out_int32=True), seq, vals,
             device=device, grad=False)
    run_both(lambda t, s: t.searchsorted(s, 3.0, **kw), seq, device=device, grad=False)
    rows = np.array([[1., 2., 3.], [0., 5., 6.]])
    run_both(lambda t, s, v: t.searchsorted(s, v, **kw), rows, vals, device=device, grad=False)
    run_both(lambda t, s, v: t.bucketize(v, s, **kw), seq, vals, device=device, grad=False)
    run_both(lambda t, s: t.bucketize(4.0, s, out_int32=True, **kw), seq, device=device, grad=False)
    unsorted = np.array([5., 1., 3.])
    run_both(lambda t, s, v: t.searchsorted(s, v, sorter=t.argsort(s), **kw), unsorted, vals, device=device,
             grad=False)


@pytest.mark.parametrize("fn", [
    lambda t, x: t.sort(x, 2),
    lambda t, x: t.topk(x, 5),
    lambda t, x: t.topk(x, -1),
    lambda t, x: t.kthvalue(x, 0),
    lambda t, x: t.kthvalue(x, 5),
    lambda t, x: t.median(x, -3),
    lambda t, x: t.median(t.zeros(0, 3), 0),
    lambda t, x: t.mode(t.zeros(0, 3), 0),
    lambda t, x: t.cummax(x, 2),
    lambda t, x: t.quantile(x, 1.5),
    lambda t, x: t.quantile(x, t.tensor([[0.5]], dtype=t.float64)),
    lambda t, x: t.quantile(x, t.tensor([0.5, 2.0], dtype=t.float64)),
    lambda t, x: t.quantile(x, t.tensor([0.5])),
    lambda t, x: t.quantile(x, 0.5, interpolation="cubic"),
    lambda t, x: t.quantile(x.long(), 0.5),
    lambda t, x: t.quantile(t.zeros(0), 0.5),
    lambda t, x: t.searchsorted(x, x[0], right=True, side="left"),
    lambda t, x: t.searchsorted(x, x[0], side="middle"),
    lambda t, x: t.searchsorted(x, 1.0),
    lambda t, x: t.searchsorted(x, t.zeros(2, 2)),
    lambda t, x: t.bucketize(x[0], x),
])
def test_errors(fn):
    assert_same_error(fn, M)


@pytest.mark.parametrize("fn", [
    lambda x: engine.sort(x, 1, descending=True)[0],
    lambda x: engine.topk(x, 2, 0)[0],
    lambda x: x.median(),
    lambda x: x.mode(1)[0],
    lambda x: engine.cummax(x, 1)[0],
    lambda x: engine.quantile(x, 0.3, dim=1),
])
def test_gradcheck(fn, device):
    x = engine.tensor(M, device=device, requires_grad=True)
    assert gradcheck(fn, (x,))


def test_create_graph():
    # the backward of the selections is differentiable itself
    def second(t):
        x = t.tensor(M, requires_grad=True)
        y = (t.sort(x, 1)[0] ** 3).sum() + (t.cummax(x, 0)[0] ** 3).sum() + (t.median(x, 1)[0] ** 3).sum()
        (g,) = t.autograd.grad(y, x, create_graph=True)
        (g ** 2).sum().backward()
        return x.grad
    import torch
    np.testing.assert_allclose(second(engine).numpy(), second(torch).numpy())
