"""Elementwise ops: unary, binary (with broadcasting, scalars on either side and PyTorch's type
promotion), comparisons, where and clamp. Each op's forward and gradient sit side by side."""
import math

import numpy as np

from .. import backends
from .._dtype import result_type, scalar_category, get_default_dtype, bool_
from ._core import OpDef, apply
from ._registry import binds, register
from .. import _state
from .._dtype import from_numpy_dtype
from ..creation import scalar_tensor

try:  # SciPy's ufuncs are faster and exact; NumPy-only fallbacks keep the engine dependency-free
    from scipy import special as scipy_special
except Exception:  # pragma: no cover - depends on the environment
    scipy_special = None


def _tensor_cls():
    return Tensor


# ---------------------------------------------------------------------------------------------
# binary ops
class BinaryOp:
    """One binary op in three OpDefs: tensor-tensor, tensor-scalar and scalar-tensor.

    grad_a(m, g, a, b, out) and grad_b(m, g, a, b, out) give the gradient for each side; `save`
    says which of "a", "b", "out" they read, so that only those are saved and version-checked.
    `save_ts` / `save_st` narrow that for a Python scalar on the right / left, where only one
    side's gradient is taken (x * 2 keeps nothing of x, as in PyTorch); `reads` says which saved
    inputs each side's gradient reads, so a * b keeps a only when b requires grad. `tsname` /
    `rname` are PyTorch's node names for the tensor-scalar / scalar-tensor forms where they differ.
    """

    def __init__(self, name, forward, grad_a, grad_b, save="", kind=None, differentiable=True,
                 rname=None, tsname=None, save_ts=None, save_st=None, reads=None, **bindings):
        self.kind = kind
        self.forward = forward
        self.tt = self._make(name, "tt", grad_a, grad_b, save, differentiable)
        if reads is not None:
            # reads = (what grad_a reads, what grad_b reads): keep a saved input only when needed
            self.tt.save_for = tuple(tuple(j for j in (0, 1) if k in reads[j]) for k in "ab" if k in save)
        self.ts = self._make(tsname or name, "ts", grad_a, grad_b, save if save_ts is None else save_ts,
                             differentiable)
        self.st = self._make(rname or name, "st", grad_a, grad_b, save if save_st is None else save_st,
                             differentiable)
        if bindings:  # torch=, method=, inplace=, special=: see _registry.register
            register(self, **bindings)

    def _make(self, name, form, grad_a, grad_b, save, differentiable):
        forward = self.forward
        save_output = "out" in save
        if form == "tt":
            fwd = forward
            save_inputs = tuple(i for i, k in enumerate("ab") if k in save)
            # where a, b and out sit among the saved values (None: not saved)
            order = [k for k in ("a", "b") if k in save] + (["out"] if save_output else [])
            ia, ib, io = (order.index(k) if k in order else None for k in ("a", "b", "out"))

            def vjp(m, g, node, *saved):
                a = saved[ia] if ia is not None else None
                b = saved[ib] if ib is not None else None
                out = saved[io] if io is not None else None
                nxt = node._next
                return (grad_a(m, g, a, b, out) if nxt[0] is not None else None,
                        grad_b(m, g, a, b, out) if nxt[1] is not None else None)
        elif form == "ts":
            def fwd(xp, a, scalar, dt):
                return forward(xp, a, scalar, dt)
            save_inputs = (0,) if "a" in save else ()

            def vjp(m, g, node, *saved):
                a = saved[0] if "a" in save else None
                out = saved[-1] if save_output else None
                return grad_a(m, g, a, node.params[0], out)
        else:
            def fwd(xp, b, scalar, dt):
                return forward(xp, scalar, b, dt)
            save_inputs = (0,) if "b" in save else ()

            def vjp(m, g, node, *saved):
                b = saved[0] if "b" in save else None
                out = saved[-1] if save_output else None
                return grad_b(m, g, node.params[0], b, out)
        op = OpDef(name, fwd, vjp if differentiable else None, save_inputs, save_output, self.kind,
                   elementwise=True)
        return op

    def __call__(self, input, other, out=None):  # PyTorch's parameter names
        a, b = input, other
        if a.__class__ is Tensor and b.__class__ is Tensor and a.dtype is b.dtype and out is None:
            return apply(self.tt, (a, b), _SAME_DTYPE)  # the common case, kept short
        if isinstance(a, Tensor):
            if isinstance(b, Tensor):
                if a.dtype is b.dtype:
                    params = _SAME_DTYPE
                else:
                    params = (_promote_tensors(a, b).np,)
                result = apply(self.tt, (a, b), params)
            else:
                rt = _promote_scalar(a, b)
                dt = None if rt is a.dtype else rt.np
                result = apply(self.ts, (a,), (_scalar_value(b), dt))
        elif isinstance(b, Tensor):
            rt = _promote_scalar(b, a)
            dt = None if rt is b.dtype else rt.np
            result = apply(self.st, (b,), (_scalar_value(a), dt))
        else:
            raise TypeError(f"{self.kind}(): argument 'input' must be Tensor, not {type(a).__name__}")
        if out is not None:
            return write_out(out, result)
        return result


_SAME_DTYPE = (None,)  # params of a tensor-tensor op whose inputs share a dtype


def _promote_tensors(a, b):
    dims, zero = [], []
    (dims if a._data.ndim else zero).append(a.dtype)
    (dims if b._data.ndim else zero).append(b.dtype)
    return result_type(dims, zero, ())


def _promote_scalar(t, scalar):
    cat = scalar_category(scalar)
    if cat <= t.dtype.category:
        return t.dtype
    return result_type((t.dtype,) if t._data.ndim else (), () if t._data.ndim else (t.dtype,), (cat,))


def _scalar_value(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_out(out, result):
    """`out=`: write the result into an existing tensor, as PyTorch does (no autograd through it)."""
    if _state.grad_enabled and (result.requires_grad or out.requires_grad):
        op = getattr(result.grad_fn, "op", None)
        raise RuntimeError(f"{op.kind if op is not None else 'op'}(): functions with out=... "
                           "arguments don't support automatic differentiation, but one of the arguments "
                           "requires grad.")
    if result.dtype.category > out.dtype.category:
        raise RuntimeError(f"result type {result.dtype.title} can't be cast to the desired output type "
                           f"{out.dtype.title}")
    if out._data.shape != result._data.shape:
        # PyTorch resizes an out= tensor of the wrong size (and warns when it was not empty)
        out._data = result._data.astype(out._data.dtype, copy=True)
    else:
        out._data[...] = result._data
    out._version_box[0] += 1
    return out



def _ufunc(name):
    def forward(xp, a, b, dt):
        return getattr(xp, name)(a, b, dtype=dt) if dt is not None else getattr(xp, name)(a, b)
    return forward


def _true_div(xp, a, b, dt):
    # integer (and bool) division by "/" gives the default float dtype in PyTorch
    if dt is None:
        if not _is_float(a, b):
            dt = get_default_dtype().np
    elif dt.kind != "f":
        dt = get_default_dtype().np
    return xp.true_divide(a, b, dtype=dt) if dt is not None else xp.true_divide(a, b)


def _is_float(a, b):
    for v in (a, b):
        kind = getattr(getattr(v, "dtype", None), "kind", None)
        if kind == "f" or isinstance(v, float):
            return True
    return False


def _pow(xp, a, b, dt):
    if dt is not None:
        a = a.astype(dt) if hasattr(a, "astype") else a
        b = b.astype(dt) if hasattr(b, "astype") else b
    if _is_integral(a) and _is_integral(b):
        if _is_bool(a) and _is_bool(b):  # bool ** bool: only with a Python bool exponent
            if not isinstance(b, bool):
                raise NotImplementedError('"pow" not implemented for \'Bool\'')
            return xp.asarray(xp.power(a, b)).astype(bool)
        if bool(xp.any(xp.asarray(b) < 0)):
            raise RuntimeError("Integers to negative integer powers are not allowed.")
    return xp.power(a, b)


def _is_bool(v):
    return isinstance(v, bool) or getattr(getattr(v, "dtype", None), "kind", "") == "b"


def _is_integral(v):
    if isinstance(v, (bool, int)):
        return True
    return getattr(getattr(v, "dtype", None), "kind", "f") in "iub"


def _neg_grad(m, g, a, b, out):
    return -g


add = BinaryOp("AddBackward0", _ufunc("add"), lambda m, g, a, b, out: g, lambda m, g, a, b, out: g,
               kind="add")
sub = BinaryOp("SubBackward0", _ufunc("subtract"), lambda m, g, a, b, out: g, _neg_grad, kind="sub",
               rname="RsubBackward1")
mul = BinaryOp("MulBackward0", _ufunc("multiply"), lambda m, g, a, b, out: g * b,
               lambda m, g, a, b, out: g * a, save="ab", kind="mul", save_ts="", save_st="",
               reads=("b", "a"))
div = BinaryOp("DivBackward0", _true_div, lambda m, g, a, b, out: g / b,
               lambda m, g, a, b, out: -g * a / (b * b), save="ab", kind="div", save_ts="", save_st="b",
               reads=("b", "ab"))



def _with_scalar_edge(nodes):
    return nodes + (None,)


# PyTorch wraps a Python scalar operand of add/sub/mul/div into a tensor: it shows as a None edge
for _op in (add.ts, add.st, sub.ts, mul.ts, mul.st, div.ts):
    _op.shown_edges = _with_scalar_edge


# add/sub with alpha=: one node, like PyTorch's (input + alpha * other, alpha a Python number)
def _add_scaled_forward(xp, a, b, dt, alpha):
    if dt is not None:
        a, b = a.astype(dt), b.astype(dt)
    return xp.add(a, xp.multiply(b, alpha))


def _add_scaled_vjp(m, g, node):
    alpha = node.params[1]
    nxt = node._next
    return (g if nxt[0] is not None else None), (g * alpha if nxt[1] is not None else None)


add_scaled_op = OpDef("AddBackward0", _add_scaled_forward, _add_scaled_vjp, kind="add", elementwise=True)
sub_scaled_op = OpDef("SubBackward0", _add_scaled_forward, _add_scaled_vjp, kind="sub", elementwise=True)


def add_scaled(a, b, alpha, out=None, op=add_scaled_op):
    if isinstance(alpha, Tensor):
        alpha = alpha.item()  # a Scalar argument, as PyTorch reads a 0-d tensor given for it
    dt = None if a.dtype is b.dtype else _promote_tensors(a, b).np
    result = apply(op, (a, b), (dt, alpha))
    return write_out(out, result) if out is not None else result

def _pow_grad_a(m, g, a, b, out):
    if isinstance(b, (int, float)):
        return g * 0 if b == 0 else g * b * a ** (b - 1)
    # an exponent of 0 gives a zero gradient even where a ** -1 is infinite
    return m.where(m.as_mask(b == 0), g * 0, g * b * a ** (b - 1))


def _pow_grad_b(m, g, a, b, out):
    # d/db a**b = a**b * log(a), taken as 0 where a == 0 (PyTorch's convention)
    if isinstance(a, (int, float)):
        log_a = math.log(a) if a > 0 else (0.0 if a == 0 else math.nan)
        return g * out * log_a
    safe = m.where(m.as_mask(a == 0), 1.0, a)
    return g * out * m.log(safe)


pow = BinaryOp("PowBackward1", _pow, _pow_grad_a, _pow_grad_b, save="about", kind="pow",
               rname="PowBackward2", tsname="PowBackward0", save_ts="a", save_st="out", reads=("ab", "a"))


def _max_grad(m, g, a, b, out, first):
    # ties split the gradient evenly, as PyTorch's maximum does
    mask_a = m.as_mask(a > b) if first else m.as_mask(b > a)
    tie = m.as_mask(a == b)
    return m.where(mask_a, g, m.where(tie, g / 2, g * 0))


def _min_grad(m, g, a, b, out, first):
    mask_a = m.as_mask(a < b) if first else m.as_mask(b < a)
    tie = m.as_mask(a == b)
    return m.where(mask_a, g, m.where(tie, g / 2, g * 0))


maximum = BinaryOp("MaximumBackward0", _ufunc("maximum"), lambda m, g, a, b, o: _max_grad(m, g, a, b, o, True),
                   lambda m, g, a, b, o: _max_grad(m, g, a, b, o, False), save="ab", kind="maximum",
                   torch="maximum", inplace=True)
minimum = BinaryOp("MinimumBackward0", _ufunc("minimum"), lambda m, g, a, b, o: _min_grad(m, g, a, b, o, True),
                   lambda m, g, a, b, o: _min_grad(m, g, a, b, o, False), save="ab", kind="minimum",
                   torch="minimum", inplace=True)


def _integer_division(kernel):
    """Forward of //, %, fmod and rounded div with PyTorch's integer rules: bool operands are not
    supported and an integer division by zero raises instead of giving 0."""
    ufunc = {"div_floor": "floor_divide", "remainder": "remainder", "fmod": "fmod", "div_trunc": None}[kernel]

    def forward(xp, a, b, dt):
        result = np.dtype(dt) if dt is not None else np.result_type(a, b)
        if result.kind in "biu":
            if result.kind == "b":
                raise NotImplementedError(f'"{kernel}_cpu" not implemented for \'Bool\'')
            if not (xp.all(b) if hasattr(b, "shape") else b):  # b: an array, or a Python scalar
                raise RuntimeError("ZeroDivisionError")
        if dt is not None:
            a = a.astype(dt) if hasattr(a, "astype") else a
            b = b.astype(dt) if hasattr(b, "astype") else b
        if ufunc is not None:
            return getattr(xp, ufunc)(a, b)
        if result.kind == "f":
            return xp.trunc(xp.true_divide(a, b))
        quotient = xp.floor_divide(a, b)  # integers: floor, then one step towards zero where inexact
        return quotient + ((quotient < 0) & (quotient * b != a))
    return forward


def _zero_grad(m, g, a, b, out):
    return g * 0


def _not_implemented_grad(m, g, a, b, out):
    raise RuntimeError("derivative for aten::floor_divide is not implemented")


# `//` has no derivative in PyTorch; div(..., rounding_mode=) has a zero one
floor_divide = BinaryOp("torch::autograd::NotImplemented", _integer_division("div_floor"), _not_implemented_grad,
                        _not_implemented_grad, kind="floor_divide", torch="floor_divide", inplace=True)
div_floor = BinaryOp("DivBackward2", _integer_division("div_floor"), _zero_grad, _zero_grad, kind="div")
div_trunc = BinaryOp("DivBackward2", _integer_division("div_trunc"), _zero_grad, _zero_grad, kind="div")
remainder = BinaryOp("RemainderBackward0", _integer_division("remainder"), lambda m, g, a, b, out: g,
                     lambda m, g, a, b, out: -g * m.floor(a / b), save="ab", kind="remainder",
                     save_ts="", save_st="b", reads=("", "ab"), torch="remainder", inplace=True)
fmod = BinaryOp("FmodBackward0", _integer_division("fmod"), lambda m, g, a, b, out: g,
                lambda m, g, a, b, out: -g * m.trunc(a / b), save="ab", kind="fmod",
                save_ts="", save_st="b", reads=("", "ab"), torch="fmod", inplace=True)
atan2 = BinaryOp("Atan2Backward0", _ufunc("arctan2"), lambda m, g, a, b, out: g * b / (a * a + b * b),
                 lambda m, g, a, b, out: -g * a / (a * a + b * b), save="ab", kind="atan2",
                 torch=("atan2", "arctan2"), inplace=True)


def _compare(ufunc):
    def forward(xp, a, b, dt):
        if dt is not None:
            a = a.astype(dt) if hasattr(a, "astype") else a
            b = b.astype(dt) if hasattr(b, "astype") else b
        return getattr(xp, ufunc)(a, b)
    return forward


def _logical(ufunc):
    def forward(xp, a, b, dt):
        result = np.dtype(dt) if dt is not None else np.result_type(a, b)
        if result.kind == "f":
            raise NotImplementedError(f'"{ufunc}_cpu" not implemented for \'{from_numpy_dtype(result).title}\'')
        return getattr(xp, ufunc)(a, b, dtype=dt) if dt is not None else getattr(xp, ufunc)(a, b)
    return forward


eq = BinaryOp("EqBackward0", _compare("equal"), None, None, kind="eq", differentiable=False, torch="eq", inplace=True)
ne = BinaryOp("NeBackward0", _compare("not_equal"), None, None, kind="ne", differentiable=False,
              torch=("ne", "not_equal"), inplace=True)
lt = BinaryOp("LtBackward0", _compare("less"), None, None, kind="lt", differentiable=False,
              torch=("lt", "less"), inplace=True)
le = BinaryOp("LeBackward0", _compare("less_equal"), None, None, kind="le", differentiable=False,
              torch=("le", "less_equal"), inplace=True)
gt = BinaryOp("GtBackward0", _compare("greater"), None, None, kind="gt", differentiable=False,
              torch=("gt", "greater"), inplace=True)
ge = BinaryOp("GeBackward0", _compare("greater_equal"), None, None, kind="ge", differentiable=False,
              torch=("ge", "greater_equal"), inplace=True)
bitwise_and = BinaryOp("BitwiseAnd", _logical("bitwise_and"), None, None, kind="bitwise_and", differentiable=False,
                       torch="bitwise_and", inplace=True)
bitwise_or = BinaryOp("BitwiseOr", _logical("bitwise_or"), None, None, kind="bitwise_or", differentiable=False,
                      torch="bitwise_or", inplace=True)
bitwise_xor = BinaryOp("BitwiseXor", _logical("bitwise_xor"), None, None, kind="bitwise_xor", differentiable=False,
                       torch="bitwise_xor", inplace=True)


def _as_bool_op(ufunc, kind):
    def forward(xp, a, b, dt):
        return getattr(xp, ufunc)(a.astype(bool) if hasattr(a, "astype") else bool(a),
                                  b.astype(bool) if hasattr(b, "astype") else bool(b))
    return BinaryOp(kind, forward, None, None, kind=kind, differentiable=False)


logical_and = register(_as_bool_op("logical_and", "logical_and"), torch="logical_and", inplace=True)
logical_or = register(_as_bool_op("logical_or", "logical_or"), torch="logical_or", inplace=True)
logical_xor = register(_as_bool_op("logical_xor", "logical_xor"), torch="logical_xor", inplace=True)


# ---------------------------------------------------------------------------------------------
# unary ops
class UnaryOp:
    """A unary op. `grad(m, g, x, out)` reads the saved input and/or output named in `save`.
    `floating` ops turn integer inputs into the default float dtype, as PyTorch does."""

    def __init__(self, name, forward, grad, save="", floating=True, kind=None, **bindings):
        self.floating = floating
        save_inputs = (0,) if "x" in save else ()
        save_output = "out" in save

        def vjp(m, g, node, *saved):
            x = saved[0] if save_inputs else None
            out = saved[-1] if save_output else None
            return grad(m, g, x, out, *node.params[1:])

        def fwd(xp, x, dt, *params):
            if dt is not None:
                x = x.astype(dt)
            return forward(xp, x, *params)
        self.op = OpDef(name, fwd, vjp if grad is not None else None, save_inputs, save_output, kind,
                        elementwise=True)
        if bindings:  # torch=, method=, inplace=, special=: see _registry.register
            register(self, **bindings)

    def __call__(self, input, *params, out=None):  # PyTorch's parameter name
        if self.floating and not input.dtype.is_floating_point:
            params = (get_default_dtype().np,) + params
        else:
            params = (None,) + params if params else _SAME_DTYPE
        result = apply(self.op, (input,), params)
        if out is not None:
            return write_out(out, result)
        return result


def _xp_fn(name):
    return lambda xp, x: getattr(xp, name)(x)


neg = UnaryOp("NegBackward0", _xp_fn("negative"), lambda m, g, x, out: -g, floating=False, kind="neg")
exp = UnaryOp("ExpBackward0", _xp_fn("exp"), lambda m, g, x, out: g * out, save="out", kind="exp",
              torch="exp", inplace=True)
exp2 = UnaryOp("Exp2Backward0", _xp_fn("exp2"), lambda m, g, x, out: g * out * float(np.log(2.0)), save="out",
               kind="exp2", torch="exp2", inplace=True, special="exp2")
expm1 = UnaryOp("Expm1Backward0", _xp_fn("expm1"), lambda m, g, x, out: g * (out + 1), save="out", kind="expm1",
                torch="expm1", inplace=True, special="expm1")
log = UnaryOp("LogBackward0", _xp_fn("log"), lambda m, g, x, out: g / x, save="x", kind="log",
              torch="log", inplace=True)
log2 = UnaryOp("Log2Backward0", _xp_fn("log2"), lambda m, g, x, out: g / (x * float(np.log(2.0))), save="x",
               kind="log2", torch="log2", inplace=True)
log10 = UnaryOp("Log10Backward0", _xp_fn("log10"), lambda m, g, x, out: g / (x * float(np.log(10.0))), save="x",
                kind="log10", torch="log10", inplace=True)
log1p = UnaryOp("Log1PBackward0", _xp_fn("log1p"), lambda m, g, x, out: g / (x + 1), save="x", kind="log1p",
                torch="log1p", inplace=True, special="log1p")
sqrt = UnaryOp("SqrtBackward0", _xp_fn("sqrt"), lambda m, g, x, out: g / (out * 2), save="out", kind="sqrt",
               torch="sqrt", inplace=True)
rsqrt = UnaryOp("RsqrtBackward0", lambda xp, x: 1 / xp.sqrt(x), lambda m, g, x, out: g * out * out * out * -0.5,
                save="out", kind="rsqrt", torch="rsqrt", inplace=True)
reciprocal = UnaryOp("ReciprocalBackward0", lambda xp, x: 1 / x, lambda m, g, x, out: -g * out * out,
                     save="out", kind="reciprocal", torch="reciprocal", inplace=True)
square = UnaryOp("PowBackward0", lambda xp, x: x * x, lambda m, g, x, out: g * 2 * x, save="x", floating=False,
                 kind="square")
sin = UnaryOp("SinBackward0", _xp_fn("sin"), lambda m, g, x, out: g * m.cos(x), save="x", kind="sin",
              torch="sin", inplace=True)
cos = UnaryOp("CosBackward0", _xp_fn("cos"), lambda m, g, x, out: -g * m.sin(x), save="x", kind="cos",
              torch="cos", inplace=True)
tan = UnaryOp("TanBackward0", _xp_fn("tan"), lambda m, g, x, out: g * (out * out + 1), save="out", kind="tan",
              torch="tan", inplace=True)
asin = UnaryOp("AsinBackward0", _xp_fn("arcsin"), lambda m, g, x, out: g / m.sqrt(-x * x + 1), save="x",
               kind="asin", torch=("asin", "arcsin"), inplace=True)
acos = UnaryOp("AcosBackward0", _xp_fn("arccos"), lambda m, g, x, out: -g / m.sqrt(-x * x + 1), save="x",
               kind="acos", torch=("acos", "arccos"), inplace=True)
atan = UnaryOp("AtanBackward0", _xp_fn("arctan"), lambda m, g, x, out: g / (x * x + 1), save="x", kind="atan",
               torch=("atan", "arctan"), inplace=True)
sinh = UnaryOp("SinhBackward0", _xp_fn("sinh"), lambda m, g, x, out: g * m.cosh(x), save="x", kind="sinh",
               torch="sinh", inplace=True)
cosh = UnaryOp("CoshBackward0", _xp_fn("cosh"), lambda m, g, x, out: g * m.sinh(x), save="x", kind="cosh",
               torch="cosh", inplace=True)
tanh = UnaryOp("TanhBackward0", _xp_fn("tanh"), lambda m, g, x, out: g * (-out * out + 1), save="out",
               kind="tanh", torch="tanh", inplace=True)


def _sigmoid(xp, x):
    # PyTorch's formula: exp may overflow to inf (the engine silences that warning), giving exactly 0
    # where PyTorch gives 0, rather than a denormal
    return 1 / (1 + xp.exp(-x))


sigmoid = UnaryOp("SigmoidBackward0", _sigmoid, lambda m, g, x, out: g * out * (-out + 1), save="out",
                  kind="sigmoid", torch="sigmoid", inplace=True, special="expit")
abs = UnaryOp("AbsBackward0", _xp_fn("abs"), lambda m, g, x, out: g * m.sign(x), save="x", floating=False,
              kind="abs", torch=("abs", "absolute"), inplace=True)
sign = UnaryOp("SignBackward0", _xp_fn("sign"), lambda m, g, x, out: g * 0, floating=False, kind="sign",
               torch="sign", inplace=True)
floor = UnaryOp("FloorBackward0", _xp_fn("floor"), lambda m, g, x, out: g * 0, floating=False, kind="floor",
                torch="floor", inplace=True)
ceil = UnaryOp("CeilBackward0", _xp_fn("ceil"), lambda m, g, x, out: g * 0, floating=False, kind="ceil",
               torch="ceil", inplace=True)
trunc = UnaryOp("TruncBackward0", _xp_fn("trunc"), lambda m, g, x, out: g * 0, floating=False, kind="trunc",
                torch=("trunc", "fix"), inplace=True)
frac = UnaryOp("FracBackward0", lambda xp, x: x - xp.trunc(x), lambda m, g, x, out: g, floating=False,
               kind="frac", torch="frac", inplace=True)


def _round(xp, x, decimals=0):
    return xp.round(x, decimals)


round = UnaryOp("RoundBackward0", _round, lambda m, g, x, out, decimals=0: g * 0, floating=False, kind="round")
_round_decimals = UnaryOp("RoundBackward1", _round, lambda m, g, x, out, decimals: g * 0, floating=False,
                          kind="round")


@binds("round", inplace=True)
def round_decimals(x, *, decimals=0, out=None):
    """torch.round(input, *, decimals=0): half to even, at `decimals` places (a node of its own)."""
    if decimals == 0:
        return round(x, out=out)
    return _round_decimals(x, int(decimals), out=out)


def round_decimals_node(x, decimals):
    """round's decimals overload whatever `decimals` is: torch.special.round's RoundBackward1 node."""
    return _round_decimals(x, decimals)
relu = UnaryOp("ReluBackward0", lambda xp, x: xp.maximum(x, 0),
               lambda m, g, x, out: g * m.as_mask(out > 0), save="out", floating=False, kind="relu")
logical_not = UnaryOp("LogicalNot", lambda xp, x: xp.logical_not(x), None, floating=False, kind="logical_not",
                      torch="logical_not", inplace=True)
bitwise_not = UnaryOp("BitwiseNot", lambda xp, x: xp.invert(x), None, floating=False, kind="bitwise_not",
                      torch="bitwise_not", inplace=True)
isnan = UnaryOp("IsNan", _xp_fn("isnan"), None, floating=False, kind="isnan", torch="isnan")
isinf = UnaryOp("IsInf", _xp_fn("isinf"), None, floating=False, kind="isinf", torch="isinf")
isfinite = UnaryOp("IsFinite", _xp_fn("isfinite"), None, floating=False, kind="isfinite", torch="isfinite")


def erf_array(xp, x):
    if xp is np:
        if scipy_special is not None:
            return scipy_special.erf(x)
        return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()
    return backends.of_namespace(xp).special("erf", x, lambda v: erf_array(np, v))


erf = UnaryOp("ErfBackward0", erf_array,
              lambda m, g, x, out: g * m.exp(-x * x) * float(2 / np.sqrt(np.pi)), save="x", kind="erf",
              torch="erf", inplace=True, special="erf")


def _clamp_forward(xp, x, lo, hi):
    if lo is not None and hi is not None:
        return xp.minimum(xp.maximum(x, lo), hi)  # PyTorch: min wins when lo > hi
    if lo is not None:
        return xp.maximum(x, lo)
    return xp.minimum(x, hi)


def _clamp_grad(m, g, x, out, lo, hi):
    mask = None
    if lo is not None:
        mask = x >= lo
    if hi is not None:
        mask = (x <= hi) if mask is None else (mask & (x <= hi))
    return g * m.as_mask(mask)


_clamp = UnaryOp("ClampBackward1", _clamp_forward, _clamp_grad, save="x", floating=False, kind="clamp")


@binds("clamp", "clip", inplace=True)
def clamp(x, min=None, max=None, out=None):
    Tensor = _tensor_cls()
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        result = x
        if min is not None:
            result = maximum(result, min)
        if max is not None:
            result = minimum(result, max)
        return write_out(out, result) if out is not None else result
    dt = None
    if (isinstance(min, float) or isinstance(max, float)) and not x.dtype.is_floating_point:
        dt = get_default_dtype().np
    result = apply(_clamp.op, (x,), (dt, min, max))
    return write_out(out, result) if out is not None else result


# ---------------------------------------------------------------------------------------------
# where
def _without_first(nodes):
    return nodes[1:]


def _where_forward(xp, cond, a, b, dt):
    if dt is not None:
        a, b = a.astype(dt), b.astype(dt)
    return xp.where(cond, a, b)


def _where_vjp(m, g, node, cond):
    zero = m.zeros_like(g)  # not g * 0: a nan or inf gradient of the unchosen side stays out, as in PyTorch
    return (None,
            m.where(cond, g, zero) if (node._next[1] is not None) else None,
            m.where(cond, zero, g) if (node._next[2] is not None) else None)


# the condition is no edge in PyTorch
_where = OpDef("WhereBackward0", _where_forward, _where_vjp, save_inputs=(0,), kind="where", shown_edges=_without_first)


@binds("where", method=False)
def where(condition, input=None, other=None, out=None):
    Tensor = _tensor_cls()
    if input is None and other is None:
        from .indexing import nonzero  # indexing's ops are built on the elementwise ones
        return nonzero(condition, as_tuple=True)
    if condition.dtype is not bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{condition.dtype.title}")
    ref = input if isinstance(input, Tensor) else other
    dims, zero, scalars = [], [], []
    for v in (input, other):
        if isinstance(v, Tensor):
            (dims if v._data.ndim else zero).append(v.dtype)
        else:
            scalars.append(scalar_category(v))
    rt = result_type(dims, zero, scalars)
    if not isinstance(input, Tensor):
        input = scalar_tensor(input, dtype=rt, device=ref.device)
    if not isinstance(other, Tensor):
        other = scalar_tensor(other, dtype=rt, device=ref.device)
    dt = None if input.dtype is rt and other.dtype is rt else rt.np
    result = apply(_where, (condition, input, other), (dt,))
    return write_out(out, result) if out is not None else result


from ..tensor import Tensor  # noqa: E402
