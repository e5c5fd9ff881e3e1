"""Tensor printing must match PyTorch's str/repr exactly; real PyTorch is the reference."""
import contextlib
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is the reference for tensor printing")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from gradview.engine import _dtype  # noqa: E402
from gradview.engine._tensor_str import format_tensor, get_printoptions, set_printoptions  # noqa: E402

NP_DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8,
             np.uint8, np.bool_]


@contextlib.contextmanager
def options(default_dtype=None, **kwargs):
    """Apply the same print options (and default dtype) to both sides; always restore."""
    ours = get_printoptions()
    theirs = torch._tensor_str.get_printoptions()
    our_default, their_default = _dtype.get_default_dtype(), torch.get_default_dtype()
    try:
        if kwargs:
            set_printoptions(**kwargs)
            torch.set_printoptions(**kwargs)
        if default_dtype is not None:
            _dtype.set_default_dtype(default_dtype)
            torch.set_default_dtype(getattr(torch, default_dtype))
        yield
    finally:
        set_printoptions(**ours)
        torch.set_printoptions(**theirs)
        _dtype.set_default_dtype(our_default)
        torch.set_default_dtype(their_default)


def reference(arr, requires_grad=False, grad_fn=False):
    t = torch.from_numpy(np.array(arr, copy=True))
    if requires_grad or grad_fn:
        t.requires_grad_()
    if grad_fn:
        t = t.clone()  # prints grad_fn=<CloneBackward0>
    return str(t)


def ours(arr, requires_grad=False, grad_fn=False, **kwargs):
    arr = np.asarray(arr)
    return format_tensor(arr, _dtype.from_numpy_dtype(arr.dtype), requires_grad=requires_grad,
                         grad_fn_name="CloneBackward0" if grad_fn else None, **kwargs)


def check(arr, **kwargs):
    expected = reference(arr, **kwargs)
    got = ours(arr, **kwargs)
    assert got == expected, f"\nexpected:\n{expected}\ngot:\n{got}"


nan, inf = float("nan"), float("inf")
f32, f64, f16 = np.float32, np.float64, np.float16

HAND_PICKED = [
    # floats: integer-valued, fixed point, scientific switches
    np.array([2.0, 2.0], f32),
    np.array([[2.0, 2.0], [2.0, 2.0]], f32),
    np.array([1.5, 2.25, -3.125], f32),
    np.array([0.1, 0.2, 0.3], f32),
    np.array([1.0, 1000.0], f32),
    np.array([1.0, 1001.0], f32),
    np.array([1.5, 1001.0], f32),
    np.array([1e8], f32),
    np.array([1.1e8], f32),
    np.array([1e-4], f64),
    np.array([9.99e-5], f64),
    np.array([1e-10, 1e12], f64),
    np.array([123456789.0, 1.0], f64),
    np.array([1e300, 1e-300, -1e200], f64),
    np.array([0.00012345, 0.5], f32),
    np.array([1.23456789, 12345.6789], f64),
    np.array([0.99995, 9.99995, 99999.5], f64),
    np.array([1e20, 3.0], f32),
    # non-finite and signed zeros
    np.array([nan, inf, -inf], f32),
    np.array([nan, 1.0], f32),
    np.array([nan, 1.5], f32),
    np.array([inf, 1e-7], f32),
    np.array([-0.0], f32),
    np.array([-0.0, 0.0, 1.0], f32),
    np.array([-0.0, 0.5], f32),
    np.array([-0.0, 1e-6], f32),
    np.array([0.0, 0.0], f32),
    np.array([-0.00001, 0.5], f32),
    np.array([-0.00004, 1.0], f32),
    # other float widths
    np.array([1.0, 2.5, 65504.0, -0.001], f16),
    np.array([6e-8, 1.0], f16),
    np.array([inf, nan, 3.0], f16),
    np.array([1 / 3, 2 / 3], f64),
    # integers and bools
    np.array([1, -2, 300], np.int64),
    np.array([1, -2, 300], np.int32),
    np.array([0, 255, 7], np.uint8),
    np.array([-128, 127], np.int8),
    np.array([-32768, 5], np.int16),
    np.array([2**62, -(2**63)], np.int64),
    np.array([True, False]),
    np.array([True, True]),
    np.array([[False], [False]]),
    # 0-d
    np.array(3.0, f32),
    np.array(3.5, f32),
    np.array(-0.0, f32),
    np.array(nan, f32),
    np.array(-inf, f64),
    np.array(1e-9, f32),
    np.array(7, np.int64),
    np.array(7, np.uint8),
    np.array(True),
    np.array(False),
    np.array(1.0, f16),
    # empty
    np.zeros((0,), f32),
    np.zeros((0,), f64),
    np.zeros((0,), np.int64),
    np.zeros((0,), np.bool_),
    np.zeros((0, 3), f32),
    np.zeros((2, 0, 3), np.int32),
    np.zeros((0, 0), f16),
    # multi-dim layout, blank lines between blocks, wrapping
    np.arange(24, dtype=f32).reshape(2, 3, 4),
    np.arange(24, dtype=np.int64).reshape(2, 3, 2, 2) - 12,
    np.arange(120, dtype=f64).reshape(2, 3, 4, 5) / 3,
    np.linspace(-1, 1, 40, dtype=f32),
    np.linspace(-1e6, 1e-3, 40).reshape(4, 10),
    np.arange(100, dtype=np.int64) * 123457,
    np.ones((1, 1, 1, 1), f32),
    np.arange(60, dtype=f32).reshape(3, 20) * 1.5,
    # summarisation above 1000 elements
    np.arange(1001, dtype=f32),
    np.arange(2000, dtype=f32).reshape(20, 100) / 7,
    np.arange(5000, dtype=np.int64).reshape(10, 10, 50),
    np.arange(1200, dtype=f64).reshape(2, 600) * 1e-6,
    np.arange(3000, dtype=np.int32).reshape(1000, 3),
    (np.arange(4096) % 2).astype(np.bool_).reshape(8, 8, 8, 8),
]


@pytest.mark.parametrize("arr", HAND_PICKED, ids=lambda a: f"{a.dtype}{list(a.shape)}")
def test_matches_torch(arr):
    check(arr)


@pytest.mark.parametrize("arr", [np.array([1.5, -2.0], f32), np.array([[1e-6, 3.0]], f64),
                                 np.array(2.0, f32), np.zeros((0, 2), f32),
                                 np.zeros((0,), f16), np.arange(1500, dtype=f32)])
@pytest.mark.parametrize("grad", ["requires_grad", "grad_fn"])
def test_autograd_suffixes(arr, grad):
    check(arr, **{grad: True})


def test_grad_fn_takes_precedence_over_requires_grad():
    arr = np.array([2.0, 2.0], f32)
    got = format_tensor(arr, _dtype.float32, requires_grad=True, grad_fn_name="MulBackward0")
    assert got == "tensor([2., 2.], grad_fn=<MulBackward0>)"
    assert format_tensor(np.ones((2, 2), f32) * 2, _dtype.float32, grad_fn_name="MulBackward0") \
        == "tensor([[2., 2.],\n        [2., 2.]], grad_fn=<MulBackward0>)"


def _torch_with_suffixes(t, suffixes):
    """PyTorch's own layout of a CPU tensor plus extra suffixes (e.g. a device we lack)."""
    body = "tensor(" + torch._tensor_str._tensor_str(t, len("tensor("))
    return torch._tensor_str._add_suffixes(body, suffixes, len("tensor("), False)


def test_device_suffix():
    arr = np.array([1.0, 2.0], f32)
    assert ours(arr, device="cuda:0") == "tensor([1., 2.], device='cuda:0')"
    assert ours(arr, device=None) == ours(arr, device="cpu") == "tensor([1., 2.])"
    arr64 = np.array([1.25, 2.0], f64)
    assert ours(arr64, device="cuda:0", grad_fn=True) == _torch_with_suffixes(
        torch.from_numpy(arr64),
        ["device='cuda:0'", "dtype=torch.float64", "grad_fn=<CloneBackward0>"])
    assert ours(np.zeros((0, 2), np.int64), device="cuda:1") == \
        "tensor([], device='cuda:1', size=(0, 2), dtype=torch.int64)"


def test_suffixes_wrap_past_linewidth():
    arr = np.linspace(0, 1, 12, dtype=f64)
    for device in ("cuda:0", "cuda:12345678901234567890"):
        assert ours(arr, device=device, grad_fn=True) == _torch_with_suffixes(
            torch.from_numpy(arr),
            [f"device='{device}'", "dtype=torch.float64", "grad_fn=<CloneBackward0>"])
    check(np.linspace(0, 1, 9, dtype=f64), grad_fn=True)


@pytest.mark.parametrize("default", ["float64", "float16"])
def test_default_dtype_changes_suffix(default):
    with options(default_dtype=default):
        for arr in (np.array([1.5], f32), np.array([1.5], f64), np.array([1.5], f16),
                    np.zeros((0,), f64), np.zeros((0,), f32), np.array([3], np.int64)):
            check(arr)


@pytest.mark.parametrize("kwargs", [
    dict(precision=2), dict(precision=0), dict(precision=10), dict(sci_mode=True),
    dict(sci_mode=False), dict(linewidth=30), dict(linewidth=200), dict(threshold=5),
    dict(threshold=5, edgeitems=1), dict(threshold=5, edgeitems=0), dict(edgeitems=0),
    dict(profile="short"), dict(profile="full"), dict(profile="default"),
    dict(profile="short", precision=6),
])
def test_print_options(kwargs):
    arrays = [np.linspace(-3, 1e5, 50, dtype=f32).reshape(5, 10), np.array([1e-6, 2.0], f32),
              np.array([1.0, 2.0, nan], f32), np.array([0.0, -0.0], f32),
              np.arange(24, dtype=np.int64).reshape(2, 3, 4), np.array([12.345678], f64),
              np.arange(2000, dtype=f32) / 3, np.array(2.5, f32), np.zeros((0, 4), f32)]
    with options(**kwargs):
        assert get_printoptions() == torch._tensor_str.get_printoptions()
        for arr in arrays:
            check(arr)


def test_printoptions_semantics():
    with options():
        set_printoptions(profile="full")
        assert get_printoptions() == dict(precision=4, threshold=math.inf, edgeitems=3,
                                          linewidth=80, sci_mode=None)
        set_printoptions(sci_mode=True)
        set_printoptions(precision=3)  # like PyTorch, omitting sci_mode resets it
        assert get_printoptions()["sci_mode"] is None
        set_printoptions(profile="default")
        assert get_printoptions() == dict(precision=4, threshold=1000, edgeitems=3,
                                          linewidth=80, sci_mode=None)


def test_values_converted_to_dtype():
    got = format_tensor(np.array([1, 2]), _dtype.float32)
    assert got == "tensor([1., 2.])"


# ---- random sweep ------------------------------------------------------------------------------

@st.composite
def tensors(draw):
    np_dtype = draw(st.sampled_from(NP_DTYPES))
    ndim = draw(st.integers(0, 4))
    max_side = [1, 40, 12, 6, 4][ndim]
    shape = tuple(draw(st.lists(st.integers(0, max_side), min_size=ndim, max_size=ndim)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = int(np.prod(shape))
    style = draw(st.sampled_from(["wide", "narrow", "integral", "tiny", "huge"]))
    if np_dtype == np.bool_:
        vals = rng.random(n) < 0.5
    elif np.issubdtype(np_dtype, np.integer):
        info = np.iinfo(np_dtype)
        hi = min(info.max, 10 ** draw(st.integers(0, 18)))
        lo = max(info.min, -hi) if draw(st.booleans()) else 0
        vals = rng.integers(lo, hi, size=n, endpoint=True)
    else:
        lo_exp, hi_exp = {"wide": (-10, 12), "narrow": (-1, 2), "integral": (0, 4),
                          "tiny": (-10, -4), "huge": (7, 12)}[style]
        vals = 10.0 ** rng.uniform(lo_exp, hi_exp, size=n)
        if style == "integral":
            vals = np.round(vals)
        if draw(st.booleans()):
            vals *= rng.choice([-1.0, 1.0], size=n)
        if n and draw(st.booleans()):
            # sprinkle values that never decide the style
            specials = np.array([nan, inf, -inf, 0.0, -0.0])
            mask = rng.random(n) < 0.2
            vals[mask] = rng.choice(specials, size=int(mask.sum()))
    with np.errstate(over="ignore"):  # float16 overflow to inf is wanted here
        return vals.astype(np_dtype).reshape(shape)


print_options = st.fixed_dictionaries({}, optional={
    "precision": st.integers(0, 8),
    "threshold": st.sampled_from([0, 3, 10, 50, 1000]),
    "edgeitems": st.integers(0, 4),
    "linewidth": st.integers(10, 140),
    "sci_mode": st.sampled_from([None, True, False]),
    "profile": st.sampled_from(["default", "short", "full"]),
})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arr=tensors(), opts=print_options, default=st.sampled_from([None, "float64"]),
       grad=st.sampled_from([None, "requires_grad", "grad_fn"]))
def test_random_sweep(arr, opts, default, grad):
    kwargs = {grad: True} if grad and arr.dtype.kind == "f" else {}
    with options(default_dtype=default, **opts):
        check(arr, **kwargs)
