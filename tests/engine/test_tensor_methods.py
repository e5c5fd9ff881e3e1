"""Tensor methods beyond the core set against PyTorch: in-place forms, bit shifts,
renorm, index_reduce, the *_scatter ops, aminmax, split variants, queries, resize_, the samplers
on PyTorch's seeded stream, qr/svd; values, dtypes, node names and gradients on every device."""
import math

import numpy as np
import pytest

from gradview import engine
from gradview.engine.testing import gradcheck
from tests.engine.helpers import run_both, assert_same_error, reference_torch

RNG = np.random.default_rng(11)


def arr(*shape, lo=-2.0, hi=2.0):
    return np.asarray(RNG.uniform(lo, hi, size=shape))


REAL, UNIT, POS = arr(3, 4), arr(3, 4, lo=-0.8, hi=0.8), arr(3, 4, lo=0.5, hi=2.0)
INTS = np.array([[-5, 3, 7, 1], [0, -1, 12, 64]], dtype=np.int64)


def _inplace(name, *args, **kwargs):
    """x * 1 changed in place by Tensor.<name>(...) (x * 1: a leaf requiring grad can't be)."""
    def fn(t, x, *more):
        y = x * 1
        getattr(y, name)(*more, *args, **kwargs)
        return y
    return fn


INPLACE = [
    ("absolute_", REAL), ("acos_", UNIT), ("arccos_", UNIT), ("asin_", UNIT), ("arcsin_", UNIT), ("atan_", REAL),
    ("arctan_", REAL), ("cosh_", REAL), ("sinh_", REAL), ("erf_", REAL), ("exp2_", REAL), ("frac_", REAL),
    ("fix_", REAL),
]


@pytest.mark.parametrize("name,x", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_unary(name, x, device):
    run_both(_inplace(name), x, device=device)


@pytest.mark.parametrize("name,args", [("cumsum_", (1,)), ("cumprod_", (0,)), ("renorm_", (2, 0, 1.0))])
def test_inplace_with_args(name, args, device):
    run_both(_inplace(name, *args), REAL, device=device)


@pytest.mark.parametrize("name", ["atan2_", "arctan2_"])
def test_inplace_binary(name, device):
    run_both(lambda t, a, b: _inplace(name)(t, a, b), REAL, POS, device=device)


def test_addmm_(device):
    run_both(lambda t, c, a, b: _inplace("addmm_", beta=0.5, alpha=2)(t, c, a, b), arr(3, 2), arr(3, 4), arr(4, 2),
             device=device)


@pytest.mark.parametrize("name", ["greater_", "greater_equal_", "less_", "less_equal_", "not_equal_",
                                  "logical_xor_"])
def test_inplace_comparisons(name, device):
    def fn(t, a, b):
        y = a.detach().clone()
        y[0, 0] = b[0, 0]
        return getattr(y, name)(b)
    run_both(fn, REAL, REAL.T.copy().reshape(3, 4), grad=False, device=device)


@pytest.mark.parametrize("name", ["bitwise_and_", "bitwise_or_", "bitwise_xor_", "bitwise_left_shift_",
                                  "bitwise_right_shift_"])
def test_inplace_bitwise(name, device):
    run_both(lambda t, a: getattr(a.clone(), name)(t.tensor([[1, 2, 3, 70], [-1, 0, 63, 5]])), INTS, device=device)


def test_bitwise_not_(device):
    run_both(lambda t, a: a.clone().bitwise_not_(), INTS, device=device)


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8"])
def test_shifts(dtype, device):
    shifts = np.array([[0, 1, 7, 8], [9, 31, 33, -1]])
    def fn(t, a, s):
        a, s = a.to(getattr(t, dtype)), s.to(getattr(t, dtype))
        return (t.bitwise_left_shift(a, s), a.bitwise_right_shift(s), a << 2, a >> 1, 3 << a.abs() % 8,
                t.bitwise_left_shift(a, s.long()), a.bitwise_right_shift(100))
    run_both(fn, INTS, shifts, device=device)


def test_shift_operators_in_place(device):
    def fn(t, a):
        a = a.clone()
        a <<= 3
        a >>= t.tensor([1, 2, 0, 1])
        return a
    run_both(fn, INTS, device=device)


def test_shift_errors():
    assert_same_error(lambda t, x: t.bitwise_left_shift(x, 1), REAL)
    assert_same_error(lambda t, x: x.bool().bitwise_right_shift(x.bool()), REAL)


# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p,dim,maxnorm", [(2, 0, 1.5), (1, 1, 2.0), (3, -1, 0.5), (math.inf, 0, 1.0),
                                           (2, 1, 100.0)])
def test_renorm(p, dim, maxnorm, device):
    run_both(lambda t, x: t.renorm(x, p, dim, maxnorm), REAL, device=device)
    run_both(lambda t, x: x.renorm(p, dim, maxnorm), arr(2, 3, 2), device=device)
    assert gradcheck(lambda x: engine.renorm(x, p, dim, maxnorm),
                     (engine.tensor(REAL, requires_grad=True),))


def test_renorm_errors():
    assert_same_error(lambda t, x: x[0].renorm(2, 0, 1.0), REAL)
    assert_same_error(lambda t, x: x.renorm(0, 0, 1.0), REAL)
    assert_same_error(lambda t, x: x.renorm(2, 0, -1.0), REAL)
    assert_same_error(lambda t, x: x.long().renorm(2, 0, 1.0), REAL)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(reduce, include_self, device):
    index = [2, 0, 2, 3]
    def fn(t, x, src):
        return x.index_reduce(0, t.tensor(index), src, reduce, include_self=include_self)
    run_both(fn, arr(4, 3), arr(4, 3), device=device)
    run_both(lambda t, x, src: t.index_reduce(x, 1, t.tensor([1, 1, 0]), src, reduce, include_self=include_self),
             arr(2, 4), arr(2, 3), device=device)
    run_both(lambda t, x, src: _inplace("index_reduce_", reduce, include_self=include_self)(
        t, x, 0, t.tensor([1, 0, 1]), src), arr(3, 2), arr(3, 2), device=device)
    if reduce != "prod":
        x, src = (engine.tensor(a, requires_grad=True) for a in (arr(4, 3), arr(4, 3)))
        assert gradcheck(lambda a, b: engine.index_reduce(a, 0, engine.tensor(index), b, reduce,
                                                          include_self=include_self), (x, src))


def test_index_reduce_errors():
    assert_same_error(lambda t, x: x.index_reduce(0, t.tensor([0]), x[:1], "sum"), REAL)
    assert_same_error(lambda t, x: x.index_reduce(0, t.tensor([0, 1]), x[:1], "prod"), REAL)
    assert_same_error(lambda t, x: x.index_reduce(0, t.tensor([5]), x[:1], "amax"), REAL)
    assert_same_error(lambda t, x: x.index_reduce(0, t.tensor([-1]), x[:1], "amax"), REAL)


# ---------------------------------------------------------------------------------------------
SCATTERS = [
    ("select", lambda t, x, s: t.select_scatter(x, s, 0, 1), (3, 4), (4,)),
    ("select_neg", lambda t, x, s: x.select_scatter(s, -1, -2), (3, 4), (3,)),
    ("select_1d", lambda t, x, s: t.select_scatter(x, s, 0, 2), (5,), ()),
    ("slice", lambda t, x, s: t.slice_scatter(x, s, 1, 0, 4, 2), (3, 4), (3, 2)),
    ("slice_default", lambda t, x, s: x.slice_scatter(s), (3, 4), (3, 4)),
    ("slice_neg", lambda t, x, s: t.slice_scatter(x, s, dim=0, start=-2), (3, 4), (2, 4)),
    ("diagonal", lambda t, x, s: t.diagonal_scatter(x, s), (3, 4), (3,)),
    ("diagonal_offset", lambda t, x, s: x.diagonal_scatter(s, 1), (3, 4), (3,)),
    ("diagonal_neg", lambda t, x, s: t.diagonal_scatter(x, s, -1, 0, 1), (3, 4), (2,)),
    ("diagonal_dims", lambda t, x, s: t.diagonal_scatter(x, s, 0, 2, 0), (2, 3, 4), (3, 2)),
]


@pytest.mark.parametrize("name,fn,shape,src", SCATTERS, ids=[c[0] for c in SCATTERS])
def test_scatter_views(name, fn, shape, src, device):
    run_both(fn, arr(*shape), arr(*src), device=device)
    x, s = engine.tensor(arr(*shape), requires_grad=True), engine.tensor(arr(*src), requires_grad=True)
    assert gradcheck(lambda a, b: fn(engine, a, b), (x, s))


def test_scatter_views_double_backward():
    for fn in (lambda t, a, b: t.diagonal_scatter(a * a, b * b), lambda t, a, b: t.select_scatter(a * a, b * b, 1, 2)):
        def second(t, a, b):
            ga, gb = t.autograd.grad(fn(t, a, b).pow(3).sum(), (a, b), create_graph=True)
            return (ga * ga).sum() + gb.sum()
        run_both(second, arr(3, 4), arr(3), names=False)


def test_scatter_view_errors():
    assert_same_error(lambda t, x: t.select_scatter(x, x[0, :3], 0, 1), REAL)
    assert_same_error(lambda t, x: t.select_scatter(x, x[0], 0, 3), REAL)
    assert_same_error(lambda t, x: t.slice_scatter(x, x[:, :3], 1, 0, 4, 2), REAL)
    assert_same_error(lambda t, x: t.diagonal_scatter(x, x[0, :2], 1), REAL)


# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"dim": -1, "keepdim": False}])
def test_aminmax(kwargs, device):
    ours, theirs = run_both(lambda t, x: t.aminmax(x, **kwargs), REAL, device=device)
    assert type(ours).__name__ == "aminmax" and ours._fields == ("min", "max")
    run_both(lambda t, x: x.aminmax(**kwargs).max * 2, REAL, device=device)


SPLITS = [
    ("unsafe_split", lambda t, x: x.unsafe_split(2, 1)), ("unsafe_split_fn", lambda t, x: t.unsafe_split(x, 2)),
    ("unsafe_chunk", lambda t, x: x.unsafe_chunk(3, 1)), ("unsafe_chunk_fn", lambda t, x: t.unsafe_chunk(x, 2, 0)),
    ("unsafe_split_with_sizes", lambda t, x: x.unsafe_split_with_sizes([1, 3], 1)),
    ("split_with_sizes", lambda t, x: x.split_with_sizes([2, 1])),
    ("split_with_sizes_fn", lambda t, x: t.split_with_sizes(x, [3, 1], dim=-1)),
    ("narrow_copy", lambda t, x: x.narrow_copy(1, 1, 2)), 
]


@pytest.mark.parametrize("name,fn", SPLITS, ids=[c[0] for c in SPLITS])
def test_splits(name, fn, device):
    run_both(fn, REAL, device=device)


def test_narrow_copy_negative_start(device):
    run_both(lambda t, x: t.narrow_copy(x, 0, -2, 2), REAL, grad=False, device=device)  # PyTorch's backward fails


def test_unsafe_split_is_not_a_view():
    x = engine.tensor(REAL, requires_grad=True)
    a, b = (x * 1).unsafe_split(2, 1)
    a.mul_(2)  # a view of a multi-output op could not be changed in place
    assert a._base is None and a.grad_fn.name() == "MulBackward0"
    narrow = x.detach().narrow_copy(0, 0, 1)
    narrow += 1
    assert np.array_equal(x.detach().numpy(), REAL)


def test_split_errors():
    assert_same_error(lambda t, x: x.split_with_sizes([1, 1]), REAL)
    assert_same_error(lambda t, x: x.unsafe_split_with_sizes([1, 1]), REAL)
    assert_same_error(lambda t, x: x.narrow_copy(1, 1, 5), REAL)


# ---------------------------------------------------------------------------------------------
VIEWS = [
    ("positive", lambda t, x: x.positive() * 2), ("positive_fn", lambda t, x: t.positive(x)),
    ("conj", lambda t, x: x.conj()), ("conj_fn", lambda t, x: t.conj(x) + 1), ("real", lambda t, x: x.real * 3),
    ("resolve_conj", lambda t, x: x.resolve_conj()), ("resolve_neg", lambda t, x: t.resolve_neg(x)),
    ("mH", lambda t, x: x.mH), ("adjoint", lambda t, x: x.adjoint()), ("adjoint_fn", lambda t, x: t.adjoint(x)),
    ("mH_batched", lambda t, x: x.reshape(2, 2, 3).mH), ("fix", lambda t, x: t.fix(x)),
    ("fix_method", lambda t, x: x.fix()), ("arctan2", lambda t, x: x.arctan2(x.flip(0))),

]


@pytest.mark.parametrize("name,fn", VIEWS, ids=[c[0] for c in VIEWS])
def test_views_and_delegates(name, fn, device):
    run_both(fn, REAL, device=device)


@pytest.mark.parametrize("fn", [lambda t, x: x.prelu(t.tensor([0.25], dtype=t.float64)), lambda t, x: x.hardshrink(),
                                lambda t, x: x.hardshrink(0.9)])
def test_nn_methods(fn, device):
    run_both(fn, REAL, names=False, device=device)  # the node names are nn.functional's


def test_identity_results():
    x = engine.tensor(REAL)
    assert x.positive() is x and x.conj() is x and x.real is x and x.resolve_conj() is x and x.resolve_neg() is x
    assert x.share_memory_() is x


QUERIES = [
    ("is_signed", lambda t, x: [x.is_signed(), x.long().is_signed(), x.to(t.uint8).is_signed(), x.bool().is_signed()]),
    ("sizes", lambda t, x: [x.itemsize, x.nbytes, x.float().itemsize, x.to(t.int16).nbytes, x[0].nbytes]),
    ("same_size", lambda t, x: [x.is_same_size(x * 2), x.is_same_size(x.t()), t.is_same_size(x, x)]),
    ("storage_offset", lambda t, x: [x.storage_offset(), x[1].storage_offset(), x[:, 2].storage_offset(),
                                     x.t()[1].storage_offset(), x[1:, 1:][1].storage_offset()]),
    ("nonzero", lambda t, x: [x[0, 0].is_nonzero(), (x[0] * 0)[:1].is_nonzero(), t.is_nonzero(x[1, 1:2])]),
    ("flags", lambda t, x: [x.is_inference(), x.is_meta, x.is_sparse, x.is_quantized, x.is_mps, x.is_xpu,
                            x.is_conj(), x.is_neg(), t.is_conj(x), t.is_neg(x), t.is_inference(x)]),
]


@pytest.mark.parametrize("name,fn", QUERIES, ids=[c[0] for c in QUERIES])
def test_queries(name, fn):
    run_both(fn, REAL, grad=False)


def test_query_errors():
    assert_same_error(lambda t, x: x.is_nonzero(), REAL)
    assert_same_error(lambda t, x: x[:0].is_nonzero(), REAL)
    assert_same_error(lambda t, x: x[0].mH, REAL)
    assert_same_error(lambda t, x: x[0].adjoint(), REAL)
    assert_same_error(lambda t, x: x.bool().positive(), REAL)
    assert_same_error(lambda t, x: x.imag, REAL)


NEW = [
    ("empty", lambda t, x: x.new()), ("sizes", lambda t, x: x.new(2, 3).zero_()),
    ("torch_size", lambda t, x: x.new(t.Size([2, 1])).zero_()), ("data", lambda t, x: x.new([2, 3])),
    ("data_tuple", lambda t, x: x.long().new((2, 3))), ("data_nested", lambda t, x: x.float().new([[1, 2]])),
    ("strided", lambda t, x: x.new_empty_strided((2, 3), (1, 2)).zero_()),
    ("strided_dtype", lambda t, x: x.new_empty_strided((4,), (1,), dtype=t.int32).zero_()),
]


@pytest.mark.parametrize("name,fn", NEW, ids=[c[0] for c in NEW])
def test_new(name, fn, device):
    run_both(fn, REAL, grad=False, device=device)


@pytest.mark.parametrize("steps", [[(2, 2), (4, 4)], [(12,), (3, 4)], [(5,), (20,)], [(3, 4)], [(2, 6), (2, 3)]])
def test_resize_(steps, device):
    def fn(t, x):
        y = x.clone()
        out = []
        for shape in steps:
            assert y.resize_(*shape) is y
            out.append(y[tuple(slice(0, min(s, 3)) for s in shape)].clone())  # elements PyTorch defines
        return out
    run_both(fn, REAL, grad=False, device=device)
    run_both(lambda t, x: x.t().contiguous().resize_(12), REAL, grad=False, device=device)
    run_both(lambda t, x: x.clone().resize_as_(x[0]) * 1, REAL, grad=False, device=device)


def test_resize_errors():
    assert_same_error(lambda t, x: x.resize_(2), REAL, grad=True)
    assert_same_error(lambda t, x: (x * 2).resize_(2, 6), REAL, grad=True)


def test_swapaxes_():
    for lib in (engine, reference_torch()):
        x = lib.tensor(REAL).reshape(3, 1, 4)
        assert x.swapaxes_(0, 2) is x and tuple(x.shape) == (4, 1, 3)
        assert tuple(x.swapdims_(-1, 1).shape) == (4, 3, 1)
    run_both(lambda t, x: (x * 1).swapaxes_(0, 1), REAL, names=False)  # transpose_'s node name


# ---------------------------------------------------------------------------------------------
SAMPLERS = [
    ("log_normal_", ()), ("log_normal_", (0.5, 0.25)), ("cauchy_", ()), ("cauchy_", (1.0, 3.0)),
    ("geometric_", (0.3,)), ("geometric_", (0.9,)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [3, 7, 40])
@pytest.mark.parametrize("name,args", SAMPLERS)
def test_samplers_match_pytorch(name, args, n, dtype, device):
    torch = reference_torch()
    for seed in (0, 123):
        engine.manual_seed(seed)
        torch.manual_seed(seed)
        ours = getattr(engine.empty(n, 2, dtype=getattr(engine, dtype), device=device), name)(*args)
        theirs = getattr(torch.empty(n, 2, dtype=getattr(torch, dtype)), name)(*args)
        np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())
        # the stream continues where PyTorch's does (log_normal_ keeps its cached normal too)
        np.testing.assert_array_equal(engine.rand(5).numpy(), torch.rand(5).numpy())


def test_samplers_generator_and_graph():
    torch = reference_torch()
    g, tg = engine.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    np.testing.assert_array_equal(engine.empty(6, dtype=engine.int64).geometric_(0.4, generator=g).numpy(),
                                  torch.empty(6, dtype=torch.int64).geometric_(0.4, generator=tg).numpy())
    for name, args in (("cauchy_", ()), ("log_normal_", ()), ("geometric_", (0.5,))):
        run_both(lambda t, x: getattr(x * 1, name)(*args) * 0 + x, REAL)


def test_sampler_errors():
    assert_same_error(lambda t, x: x.cauchy_(0, -1.0), REAL)
    assert_same_error(lambda t, x: x.cauchy_(0, 0.0), REAL)
    assert_same_error(lambda t, x: x.log_normal_(1, -1.0), REAL)
    assert_same_error(lambda t, x: x.geometric_(1.5), REAL)
    assert_same_error(lambda t, x: x.geometric_(0), REAL)
    assert_same_error(lambda t, x: x.long().cauchy_(), REAL)
    assert_same_error(lambda t, x: x.long().log_normal_(), REAL)


@pytest.mark.parametrize("seed", [0, 9])
def test_bernoulli_and_multinomial_methods(seed, device):
    probs = arr(4, 5, lo=0.05, hi=0.95)
    def fn(t, p):
        t.manual_seed(seed)
        p = p.float()  # torch.bernoulli draws double uniforms for float64 p (the engine's stream: float ones)
        return (p.bernoulli(), p.bernoulli(0.3), p.detach().bernoulli(p=0.7), p.multinomial(3),
                p.multinomial(8, replacement=True), p[0].multinomial(2))
    run_both(fn, probs, grad=False, device=device)
    gen = lambda t: t.Generator().manual_seed(seed)  # noqa: E731
    run_both(lambda t, p: (p.float().bernoulli(generator=gen(t)), p.multinomial(2, generator=gen(t))), probs,
             grad=False)


# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 4, 3)])
def test_qr_svd_methods(shape, device):
    run_both(lambda t, a: tuple(a.qr()), arr(*shape), device=device)
    run_both(lambda t, a: tuple(t.qr(a, some=False)) if a.shape[-2] <= 3 else tuple(a.qr(False))[1].abs(),
             arr(*shape), grad=False, device=device)
    # singular vectors are defined up to sign: compare |U|, |V| and the reconstruction
    run_both(lambda t, a: (lambda u, s, v: (u.abs(), s, v.abs(), u @ t.diag_embed(s) @ v.mT))(*a.svd()),
             arr(*shape), device=device)
    run_both(lambda t, a: (lambda r: (r.U, r.S, r.V))(t.svd(a, compute_uv=False)), arr(*shape), device=device)
    run_both(lambda t, a: (lambda r: (r.U.abs(), r.S, r.V.abs()))(a.svd(some=False)), arr(*shape), grad=False,
             device=device)
