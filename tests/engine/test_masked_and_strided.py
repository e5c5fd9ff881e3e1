"""torch.masked's reductions and normalizations, as_strided's views of a tensor's memory, and the
native_* normalisation entry points: values and gradients against PyTorch and central differences."""
import numpy as np
import pytest

from gradview import engine
from tests.engine.helpers import run_both

RNG = np.random.default_rng(7)
X = RNG.standard_normal((4, 5))
MASK = RNG.uniform(size=(4, 5)) > 0.4
MASK[2] = False   # a row with nothing kept: reductions give their identity or nan, softmax nan


@pytest.mark.parametrize("name, kwargs", [
    ("sum", dict(dim=1)), ("prod", dict(dim=0, keepdim=True)), ("amax", dict(dim=1)), ("amin", dict(dim=(0, 1))),
    ("mean", dict(dim=1)), ("norm", dict(dim=1)), ("var", dict(dim=1)), ("std", dict(dim=0, keepdim=True)),
    ("logsumexp", dict(dim=1)), ("cumsum", dict(dim=1)), ("cumprod", dict(dim=0)),
    ("softmax", dict(dim=1)), ("log_softmax", dict(dim=1)), ("softmin", dict(dim=1)),
])
def test_masked_ops_match_pytorch_with_fully_masked_rows(name, kwargs):
    def fn(lib, x, mask):
        return getattr(lib.masked, name)(x, mask=mask, **kwargs)
    ours, _ = run_both(fn, X, MASK, names=False)
    if name in ("softmax", "log_softmax", "softmin"):
        assert bool(ours[2].isnan().all())   # nothing kept: no distribution


def test_masked_median_argmax_and_logaddexp_match_pytorch():
    run_both(lambda lib, x, m: lib.masked.median(x, 1, mask=m), X, MASK, names=False)
    run_both(lambda lib, x, m: lib.masked.argmax(x, 1, mask=m), X, MASK, grad=False)
    run_both(lambda lib, x, y, m: lib.masked.logaddexp(x, y, input_mask=m, other_mask=~m),
             X, X[::-1].copy(), MASK, names=False)


def test_masked_sum_gradient_is_zero_on_masked_out_elements():
    x = engine.tensor(X, requires_grad=True)
    engine.masked.sum(x, mask=engine.tensor(MASK)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), MASK.astype(float))


def test_where_gradient_keeps_a_nan_of_the_unchosen_side_out():
    # softmax over a fully masked row is nan there; the kept elements' gradients stay finite
    x = engine.tensor(X, requires_grad=True)
    y = engine.where(engine.tensor(MASK), x, engine.tensor(-np.inf))
    out = engine.softmax(y, 1)
    (out[[0, 1, 3]].sum() + out[2].nansum()).backward()
    assert not bool(x.grad.isnan().any())


def test_as_strided_is_a_view_of_the_memory():
    base = engine.arange(20.0)
    part = base[5:15]
    assert part.as_strided((2, 2), (1, 2)).tolist() == [[5.0, 7.0], [6.0, 8.0]]      # from its own offset
    assert part.as_strided((2, 2), (1, 2), 0).tolist() == [[0.0, 2.0], [1.0, 3.0]]   # from the memory's start
    part.as_strided((3,), (2,)).mul_(-1)
    assert base[5:10].tolist() == [-5.0, 6.0, -7.0, 8.0, -9.0]
    with pytest.raises(RuntimeError, match="out of bounds"):
        part.as_strided((2, 2), (1, 2), 19)


@pytest.mark.parametrize("size, stride, offset", [((2, 2), (1, 2), 1), ((3, 2), (1, 1), 0), ((2, 3), (0, 2), 2)])
def test_as_strided_gradients_match_pytorch_and_central_differences(size, stride, offset):
    # overlapping reads ((1, 1) and a 0 stride) accumulate into the elements they share
    run_both(lambda lib, x: lib.as_strided(x, size, stride, offset) * 1, RNG.standard_normal((3, 3)))
    run_both(lambda lib, x: lib.as_strided_copy(x, size, stride, offset), RNG.standard_normal((3, 3)))
    x = engine.tensor(RNG.standard_normal((3, 3)), requires_grad=True)
    assert engine.autograd.gradcheck(lambda t: engine.as_strided(t, size, stride, offset), (x,))
    assert engine.autograd.gradgradcheck(lambda t: engine.as_strided(t, size, stride, offset), (x,))


def test_as_strided_scatter_values_match_pytorch_and_gradients_central_differences():
    # PyTorch's own gradient of the input is wrong here (its OpInfo expects its gradcheck to fail),
    # so the gradients are checked by central differences only
    x0, src0 = RNG.standard_normal((3, 3)), RNG.standard_normal((2, 2))
    run_both(lambda lib, x, s: lib.as_strided_scatter(x, s, (2, 2), (1, 2), 1), x0, src0, grad=False)
    x, src = engine.tensor(x0, requires_grad=True), engine.tensor(src0, requires_grad=True)
    assert engine.autograd.gradcheck(lambda a, b: engine.as_strided_scatter(a, b, (2, 2), (1, 2), 1), (x, src))
    engine.as_strided_scatter(x, src, (2, 2), (1, 2), 1).sum().backward()
    written = np.zeros(9)
    written[[1, 2, 3, 4]] = 1
    np.testing.assert_array_equal(x.grad.numpy().reshape(-1), 1 - written)


def test_pinv_hermitian_reads_the_lower_triangle_and_differentiates_as_pytorch():
    A = RNG.standard_normal((4, 4))
    run_both(lambda lib, a: lib.linalg.pinv(a, hermitian=True), A, names=False)
    sym = engine.tensor(A + A.T, requires_grad=True)
    assert engine.autograd.gradcheck(lambda a: engine.linalg.pinv((a + a.mT) / 2, hermitian=True), (sym,))


def test_native_norms_return_the_statistics_pytorch_saves():
    x, w = RNG.standard_normal((3, 4, 5)), RNG.standard_normal(4)
    run_both(lambda lib, x, w, b: lib.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5), x, w, w, names=False)
    run_both(lambda lib, x: lib.native_layer_norm(x, (4, 5), None, None, 1e-5), x, names=False)
    run_both(lambda lib, x, w: lib.native_group_norm(x, w, w, 3, 4, 5, 2, 1e-5), x, w, names=False)


def test_linear_cross_entropy_matches_pytorch():
    run_both(lambda lib, x, W: lib.nn.functional.linear_cross_entropy(x, W, lib.tensor([0, 2, 1])),
             RNG.standard_normal((3, 4)), RNG.standard_normal((5, 4)), names=False)


def test_writing_through_as_strided_reaches_the_gradient_as_in_pytorch():
    def fn(lib, x):
        y = x * 1
        y[1:].as_strided((2, 2), (1, 3), 2).mul_(3)   # a partial view, written in place: CopySlices
        return y
    run_both(fn, RNG.standard_normal(10))


@pytest.mark.parametrize("kwargs", [dict(), dict(spacing=0.5, edge_order=2), dict(dim=1, spacing=[2.0]),
                                    dict(dim=(0, 1), edge_order=2, coordinates=True)])
def test_gradient_matches_pytorch(kwargs):
    kwargs = dict(kwargs)
    coordinates = kwargs.pop("coordinates", False)

    def fn(lib, f):
        spacing = kwargs.get("spacing", 1)
        if coordinates:
            spacing = [lib.tensor(np.cumsum(RNG_FIXED[:n]) + 0.3) for n in f.shape]
        return lib.gradient(f, **{**kwargs, "spacing": spacing})
    run_both(fn, RNG.standard_normal((4, 5)), names=False)
    run_both(lambda lib, f: lib.gradient(f), np.arange(6, dtype=np.int64).reshape(2, 3) ** 2, grad=False)


RNG_FIXED = np.random.default_rng(3).uniform(0.5, 1.5, size=8)


@pytest.mark.parametrize("bins", ["counts", "edges", "unordered edges"])
@pytest.mark.parametrize("weighted, density", [(False, False), (True, True)])
def test_histogramdd_matches_pytorch(bins, weighted, density):
    points, w = RNG.standard_normal((40, 2)), RNG.uniform(size=40)
    edges = [np.array([-2.0, -0.5, 0.0, 1.0, 2.0]), np.array([-1.0, 0.0, 3.0])]
    if bins == "unordered edges":   # PyTorch does not check the order: nothing lies between the ends
        edges[0] = edges[0][::-1].copy()

    def fn(lib, x, w):
        b = [3, 4] if bins == "counts" else [lib.tensor(e) for e in edges]
        return lib.histogramdd(x, b, range=[-1.0, 1.0, -2.0, 2.0] if bins == "counts" else None,
                               weight=w if weighted else None, density=density)
    run_both(fn, points, w, grad=False)


def test_softmax_and_group_norm_take_empty_inputs():
    run_both(lambda lib, x: lib.softmax(x, 0), np.zeros((0, 3)))
    run_both(lambda lib, x: lib.masked.log_softmax(x, 0, mask=lib.ones(0, 3, dtype=lib.bool)), np.zeros((0, 3)),
             names=False)
    run_both(lambda lib, x, w: lib.native_group_norm(x, w, w, 0, 4, 5, 2, 1e-5), np.zeros((0, 4, 5)),
             RNG.standard_normal(4), names=False)
