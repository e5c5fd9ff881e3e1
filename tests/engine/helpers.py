"""Shared helpers for the engine tests: run one function on the engine and on PyTorch with the same
float64 inputs and compare outputs, dtypes, node names and input gradients; plus the table of
differentiable ops that the gradcheck and PyTorch comparison tests both walk."""
import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from gradview import engine


def reference_torch():
    """Real PyTorch, or skip the calling test when it is not installed."""
    return pytest.importorskip("torch", reason="PyTorch is the reference implementation")


# ---------------------------------------------------------------------------------------------
# inputs
def random_array(shape, rng, domain="real"):
    """Float64 test data for one input. Domains keep values where the op is smooth:
    `positive` (log, sqrt, ...), `unit` (asin, acos), `real` (away from 0, for abs/relu kinks)."""
    if domain == "positive":
        return np.asarray(rng.uniform(0.5, 2.0, size=shape))
    if domain == "unit":
        return np.asarray(rng.uniform(-0.8, 0.8, size=shape))
    values = rng.standard_normal(size=shape)
    # keep away from 0 (kinks of abs, relu, sign, clamp bounds) by more than any finite-difference step
    values = np.where(np.abs(values) < 0.05, values + np.sign(values + 1e-12) * 0.1, values)
    return np.asarray(values, dtype=np.float64)


def _to_lib(lib, value, grad, device="cpu"):
    if isinstance(value, np.ndarray):
        t = lib.tensor(value.copy(), device=device)
        if grad and value.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    return value


# ---------------------------------------------------------------------------------------------
# comparing results
def _flatten(out):
    if isinstance(out, (tuple, list)):
        items = []
        for o in out:
            items.extend(_flatten(o))
        return items
    return [out]


def _is_tensor(x):
    return type(x).__name__ == "Tensor"


def assert_same_value(ours, theirs, atol=1e-7, rtol=1e-6, what="output"):
    """One engine value against one PyTorch value: tensors by shape, dtype and values."""
    if _is_tensor(theirs):
        assert isinstance(ours, engine.Tensor), f"{what}: expected a Tensor, got {type(ours).__name__}"
        assert tuple(ours.shape) == tuple(theirs.shape), f"{what}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
        assert str(ours.dtype) == str(theirs.dtype), f"{what}: dtype {ours.dtype} != {theirs.dtype}"
        a = ours.detach().cpu().numpy()
        b = theirs.detach().numpy()
        if a.dtype.kind in "biu":
            np.testing.assert_array_equal(a, b, err_msg=what)
        else:
            np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, equal_nan=True, err_msg=what)
    elif isinstance(theirs, float):
        assert isinstance(ours, float), f"{what}: {type(ours).__name__} != float"
        assert ours == pytest.approx(theirs, rel=rtol, abs=atol, nan_ok=True), what
    elif isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs), f"{what}: {len(ours)} items != {len(theirs)}"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert_same_value(o, t, atol, rtol, f"{what}[{i}]")
    else:
        assert type(ours) is type(theirs) and ours == theirs, f"{what}: {ours!r} != {theirs!r}"


def run_both(fn, *inputs, grad=True, names=True, atol=1e-7, rtol=1e-6, seed=0, check_grad_dtype=True, device="cpu"):
    """Run fn(lib, *tensors) with lib = engine and lib = torch on the same inputs and compare.

    `inputs` are NumPy arrays (float ones become tensors that require grad when `grad`) or plain
    Python values passed through unchanged. Every floating output that requires grad is
    back-propagated with the same random upstream gradient on both sides, and the gradients of the
    inputs are compared. The engine side runs on `device` (its default device inside fn, so tensors
    fn makes land there too) and its outputs and gradients must stay there; PyTorch runs on the cpu.
    Returns (engine result, torch result).
    """
    torch = reference_torch()
    ours_in = [_to_lib(engine, v, grad, device) for v in inputs]
    theirs_in = [_to_lib(torch, v, grad) for v in inputs]
    with engine.device(device):
        ours = fn(engine, *ours_in)
    theirs = fn(torch, *theirs_in)
    assert_same_value(ours, theirs, atol, rtol)
    ours_flat, theirs_flat = _flatten(ours), _flatten(theirs)
    for i, (o, t) in enumerate(zip(ours_flat, theirs_flat)):
        if _is_tensor(t):
            assert o.device.type == device, f"output {i}: on {o.device}, expected {device}"
            assert o.requires_grad == t.requires_grad, f"output {i}: requires_grad {o.requires_grad} != {t.requires_grad}"
            if names and t.grad_fn is not None:
                assert o.grad_fn is not None and o.grad_fn.name() == t.grad_fn.name(), \
                    f"output {i}: grad_fn {o.grad_fn and o.grad_fn.name()} != {t.grad_fn.name()}"
    if not grad:
        return ours, theirs
    rng = np.random.default_rng(seed)
    pairs = [(o, t) for o, t in zip(ours_flat, theirs_flat) if _is_tensor(t) and t.requires_grad]
    if not pairs:
        return ours, theirs
    upstream = [rng.standard_normal(size=tuple(t.shape)) for _, t in pairs]
    engine.autograd.backward([o for o, _ in pairs],
                             [engine.tensor(u, dtype=o.dtype, device=o.device) for (o, _), u in zip(pairs, upstream)])
    torch.autograd.backward([t for _, t in pairs],
                            [torch.tensor(u, dtype=t.dtype) for (_, t), u in zip(pairs, upstream)])
    for i, (o, t) in enumerate(zip(ours_in, theirs_in)):
        if not _is_tensor(t) or not t.requires_grad:
            continue
        if t.grad is None:
            assert o.grad is None, f"input {i}: engine has a gradient where PyTorch has none"
            continue
        assert o.grad is not None, f"input {i}: no gradient (PyTorch has one)"
        assert o.grad.device == o.device, f"input {i}: gradient on {o.grad.device}, input on {o.device}"
        if not check_grad_dtype:
            o_grad = o.grad.double()
            t_grad = t.grad.double()
        else:
            o_grad, t_grad = o.grad, t.grad
        assert_same_value(o_grad, t_grad, atol * 10, rtol * 10, f"grad of input {i}")
    return ours, theirs


def assert_same_error(fn, *inputs, match_message=True, grad=False):
    """fn must raise on both libraries, with the same exception type (and message)."""
    torch = reference_torch()
    with pytest.raises(Exception) as theirs:
        fn(torch, *[_to_lib(torch, v, grad) for v in inputs])
    with pytest.raises(Exception) as ours:
        fn(engine, *[_to_lib(engine, v, grad) for v in inputs])
    assert isinstance(ours.value, theirs.type), \
        f"engine raised {ours.type.__name__}: {ours.value}; PyTorch raised {theirs.type.__name__}: {theirs.value}"
    if match_message:
        assert str(ours.value) == str(theirs.value)
    return ours.value, theirs.value


# ---------------------------------------------------------------------------------------------
# the table of differentiable ops
@dataclass
class Op:
    """One differentiable op: fn(lib, *tensors) and the input shapes it is tried on."""
    name: str
    fn: object
    shapes: list
    domain: str = "real"
    domains: tuple = field(default=())  # per-input domains, overriding `domain`
    atol: float = 1e-7
    gradcheck: bool = True

    def arrays(self, shapes, seed=0):
        rng = np.random.default_rng(seed)
        doms = self.domains or (self.domain,) * len(shapes)
        return [random_array(s, rng, d) for s, d in zip(shapes, doms)]


S0, V, M, B3 = (), (5,), (3, 4), (2, 3, 4)
UNARY = [(S0,), (V,), (M,), (B3,)]
BINARY = [(S0, S0), (V, V), (M, M), ((3, 1), (1, 4)), (B3, (4,)), (S0, M), ((2, 1, 4), (3, 1))]
REDUCE = [(V,), (M,), (B3,)]


def _u(name, fn, domain="real", shapes=UNARY, **kw):
    return Op(name, fn, shapes, domain, **kw)


def _b(name, fn, domain="real", shapes=BINARY, **kw):
    return Op(name, fn, shapes, domain, **kw)


def _set_mask(t, x):
    y = x * 1
    y[y > 0] = 0
    return y


def _set_slice(t, x, v):
    y = x * 2
    y[1:3] = v
    return y


def _setitem_view_inplace(t, x):
    y = x * 1
    y[0].mul_(3)
    return y


def _inplace_chain(t, x):
    y = x.sin()
    y.add_(1).mul_(x)
    return y


OPS = [
    # arithmetic
    _b("add", lambda t, a, b: a + b),
    _b("add_alpha", lambda t, a, b: t.add(a, b, alpha=2.5)),
    _b("sub", lambda t, a, b: a - b),
    _b("sub_alpha", lambda t, a, b: t.sub(a, b, alpha=0.5)),
    _b("mul", lambda t, a, b: a * b),
    _b("div", lambda t, a, b: a / b, domains=("real", "positive")),
    _b("pow", lambda t, a, b: a ** b, domain="positive"),
    _b("maximum", lambda t, a, b: t.maximum(a, b)),
    _b("minimum", lambda t, a, b: t.minimum(a, b)),
    _b("atan2", lambda t, a, b: t.atan2(a, b)),
    _b("where", lambda t, a, b: t.where(a > 0, a, b)),
    _u("add_scalar", lambda t, x: x + 1.5),
    _u("radd_scalar", lambda t, x: 2 + x),
    _u("sub_scalar", lambda t, x: x - 3),
    _u("rsub_scalar", lambda t, x: 1 - x),
    _u("mul_scalar", lambda t, x: x * 0.5),
    _u("rmul_scalar", lambda t, x: 3 * x),
    _u("div_scalar", lambda t, x: x / 4),
    _u("rdiv_scalar", lambda t, x: 2 / x, "positive"),
    _u("pow_2", lambda t, x: x ** 2),
    _u("pow_3", lambda t, x: x ** 3),
    _u("pow_half", lambda t, x: x ** 0.5, "positive"),
    _u("pow_neg", lambda t, x: x ** -1.5, "positive"),
    _u("rpow", lambda t, x: 2 ** x),
    _u("neg", lambda t, x: -x),
    _u("remainder", lambda t, x: x % 0.7),
    # elementwise math
    _u("exp", lambda t, x: t.exp(x)),
    _u("log", lambda t, x: t.log(x), "positive"),
    _u("log1p", lambda t, x: t.log1p(x), "positive"),
    _u("log2", lambda t, x: x.log2(), "positive"),
    _u("sqrt", lambda t, x: t.sqrt(x), "positive"),
    _u("rsqrt", lambda t, x: t.rsqrt(x), "positive"),
    _u("reciprocal", lambda t, x: x.reciprocal(), "positive"),
    _u("abs", lambda t, x: t.abs(x)),
    _u("sign", lambda t, x: t.sign(x)),
    _u("sin", lambda t, x: t.sin(x)),
    _u("cos", lambda t, x: t.cos(x)),
    _u("tan", lambda t, x: t.tan(x), "unit"),
    _u("asin", lambda t, x: t.asin(x), "unit"),
    _u("atan", lambda t, x: t.atan(x)),
    _u("sinh", lambda t, x: t.sinh(x)),
    _u("tanh", lambda t, x: t.tanh(x)),
    _u("sigmoid", lambda t, x: t.sigmoid(x)),
    _u("relu", lambda t, x: t.relu(x)),
    _u("square", lambda t, x: t.square(x)),
    _u("expm1", lambda t, x: t.expm1(x)),
    _u("erf", lambda t, x: t.erf(x)),
    _u("clamp", lambda t, x: t.clamp(x, -0.5, 0.8)),
    _u("clamp_min", lambda t, x: x.clamp(min=0.2)),
    _u("clamp_max", lambda t, x: x.clamp(max=-0.2)),
    _u("where_scalar", lambda t, x: t.where(x > 0, x, 0.0)),
    _u("floor", lambda t, x: x.floor()),
    _u("frac", lambda t, x: x.frac()),
    # reductions
    _u("sum", lambda t, x: x.sum()),
    _u("sum_dim", lambda t, x: x.sum(-1), shapes=REDUCE),
    _u("sum_dims_keepdim", lambda t, x: x.sum((0, -1), keepdim=True), shapes=[(M,), (B3,)]),
    _u("mean", lambda t, x: x.mean()),
    _u("mean_dim", lambda t, x: t.mean(x, 0, keepdim=True), shapes=REDUCE),
    _u("prod", lambda t, x: x.prod()),
    _u("prod_dim", lambda t, x: x.prod(1), shapes=[(M,), (B3,)]),
    _u("max", lambda t, x: x.max()),
    _u("min", lambda t, x: x.min()),
    _u("max_dim", lambda t, x: x.max(dim=-1), shapes=REDUCE),
    _u("min_dim_keepdim", lambda t, x: t.min(x, 0, keepdim=True), shapes=REDUCE),
    _u("amax", lambda t, x: x.amax(dim=(0, 1)), shapes=[(M,), (B3,)]),
    _u("amin", lambda t, x: x.amin(-1), shapes=REDUCE),
    _u("var", lambda t, x: x.var(), shapes=REDUCE),
    _u("var_dim_biased", lambda t, x: x.var(-1, correction=0), shapes=REDUCE),
    _u("std", lambda t, x: x.std(), shapes=REDUCE),
    _u("std_dim", lambda t, x: t.std(x, dim=0, keepdim=True), shapes=REDUCE),
    _u("logsumexp", lambda t, x: t.logsumexp(x, -1), shapes=REDUCE),
    _u("norm", lambda t, x: x.norm(), shapes=REDUCE),
    _u("norm_p1_dim", lambda t, x: x.norm(p=1, dim=-1), shapes=REDUCE),
    _u("norm_p3", lambda t, x: x.norm(p=3), shapes=REDUCE),
    _u("norm_inf", lambda t, x: x.norm(p=math.inf), shapes=REDUCE),
    # shapes
    _u("view", lambda t, x: x.view(-1)),
    _u("reshape", lambda t, x: x.reshape(2, -1), shapes=[((4, 3),), (B3,)]),
    _u("reshape_noncontig", lambda t, x: x.t().reshape(-1), shapes=[(M,)]),
    _u("flatten", lambda t, x: x.flatten(), shapes=[(S0,), (M,), (B3,)]),
    _u("squeeze", lambda t, x: x.squeeze(), shapes=[((1, 3, 1),), ((2, 1),)]),
    _u("squeeze_dim", lambda t, x: x.squeeze(1), shapes=[((1, 1, 3),), (M,)]),
    _u("unsqueeze", lambda t, x: x.unsqueeze(-1)),
    _u("transpose", lambda t, x: x.transpose(0, -1), shapes=[(M,), (B3,)]),
    _u("t", lambda t, x: x.t(), shapes=[(V,), (M,)]),
    _u("T", lambda t, x: x.T, shapes=[(M,)]),
    _u("permute", lambda t, x: x.permute(2, 0, 1), shapes=[(B3,)]),
    _u("expand", lambda t, x: x.expand(2, 3, 4), shapes=[((3, 1),), ((4,),), (S0,)]),
    _u("expand_as", lambda t, x: x.expand_as(t.ones(3, 4, dtype=t.float64)), shapes=[((3, 1),)]),
    _u("repeat", lambda t, x: x.repeat(2, 1, 3), shapes=[(V,), ((2, 3),)]),
    _u("contiguous", lambda t, x: x.t().contiguous(), shapes=[(M,)]),
    _b("cat", lambda t, a, b: t.cat([a, b], dim=0), shapes=[((2, 3), (4, 3)), (V, V)]),
    _b("cat_dim1", lambda t, a, b: t.cat((a, b), -1), shapes=[((2, 3), (2, 1))]),
    _b("stack", lambda t, a, b: t.stack([a, b], dim=-1), shapes=[(M, M), (S0, S0)]),
    _u("split", lambda t, x: x.split(2, dim=-1), shapes=[(M,), (V,)]),
    _u("split_sizes", lambda t, x: t.split(x, [1, 3], dim=1), shapes=[(M,)]),
    _u("chunk", lambda t, x: x.chunk(2), shapes=[(V,), (M,)]),
    _u("unbind", lambda t, x: x.unbind(1), shapes=[(M,)]),
    _u("index_select", lambda t, x: x.index_select(0, t.tensor([2, 0, 2])), shapes=[(M,), (V,)]),
    _u("gather", lambda t, x: x.gather(1, t.tensor([[0, 3], [1, 1], [2, 0]])), shapes=[(M,)]),
    # indexing
    _u("index_int", lambda t, x: x[1], shapes=[(V,), (M,)]),
    _u("index_neg", lambda t, x: x[-1, 2], shapes=[(M,)]),
    _u("index_slice_step", lambda t, x: x[::2, 1:], shapes=[(M,), (B3,)]),
    _u("index_none_ellipsis", lambda t, x: x[None, ..., 1], shapes=[(M,), (B3,)]),
    _u("index_mask", lambda t, x: x[x > 0], shapes=[(V,), (M,)]),
    _u("index_list", lambda t, x: x[[0, 2, 2]], shapes=[(V,), (M,)]),
    _u("index_tensor", lambda t, x: x[:, t.tensor([2, 0])], shapes=[(M,), (B3,)]),
    _u("index_two_tensors", lambda t, x: x[t.tensor([0, 2]), t.tensor([1, 3])], shapes=[(M,)]),
    _u("setitem_mask", _set_mask, shapes=[(V,), (M,)]),
    _b("setitem_slice_value", _set_slice, shapes=[((4, 3), (2, 3)), ((4, 3), (3,))]),
    _u("setitem_view_inplace", _setitem_view_inplace, shapes=[(M,)]),
    _u("inplace_chain", _inplace_chain),
    # products
    _b("matmul_mm", lambda t, a, b: a @ b, shapes=[((3, 4), (4, 2))]),
    _b("matmul_vec", lambda t, a, b: t.matmul(a, b), shapes=[((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2))]),
    _b("matmul_batched", lambda t, a, b: a @ b, shapes=[((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)),
                                                     ((4,), (2, 4, 3)), ((2, 1, 3, 4), (5, 4, 2))]),
    _b("mm", lambda t, a, b: t.mm(a, b), shapes=[((3, 4), (4, 2))]),
    _b("bmm", lambda t, a, b: a.bmm(b), shapes=[((2, 3, 4), (2, 4, 5))]),
    _b("dot", lambda t, a, b: t.dot(a, b), shapes=[(V, V)]),
]


def op_cases():
    """(op, shapes) pairs with readable ids, for parametrize."""
    params = []
    for op in OPS:
        for shapes in op.shapes:
            label = ",".join("x".join(map(str, s)) or "0d" for s in shapes)
            params.append(pytest.param(op, shapes, id=f"{op.name}-{label}"))
    return params
