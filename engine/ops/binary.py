"""Elementwise binary math beyond the core ops (in elementwise.py): xlogy, hypot, logaddexp, fmax/fmin,
copysign, heaviside, float_power, ldexp, gcd/lcm, nextafter, isin, and the bit shifts."""
import math
import numpy as np
from .._dtype import get_default_dtype, float64, from_numpy_dtype
from ._registry import binds, register
from .special import _raise
from . import elementwise as ew
from .elementwise import BinaryOp
from ..tensor import Tensor


# ---------------------------------------------------------------------------------------------
# elementwise binary
def _cast(a, b, dt):
    if dt is not None:
        a = a.astype(dt) if hasattr(a, "astype") else a
        b = b.astype(dt) if hasattr(b, "astype") else b
    return a, b


def _integral(v):
    return not v.dtype.is_floating_point if isinstance(v, Tensor) else isinstance(v, (bool, int))


def _binary(name, fn, grad_a, grad_b, save="ab", rname=None, floating=True, integers=True, **kw):
    """A BinaryOp called as torch calls it: `floating` ops give the default float dtype for integer
    inputs; ops without integer kernels (`integers=False`) raise PyTorch's error for them."""
    def forward(xp, a, b, dt):
        a, b = _cast(a, b, dt)
        # a Python scalar takes the tensor's (already promoted) dtype, so NumPy keeps it
        a = a if hasattr(a, "dtype") else xp.asarray(a, dtype=b.dtype)
        b = b if hasattr(b, "dtype") else xp.asarray(b, dtype=a.dtype)
        if not integers and a.dtype.kind in "biu":
            raise NotImplementedError(f'"{kind}_cpu" not implemented for \'{from_numpy_dtype(a.dtype).title}\'')
        return fn(xp, a, b)
    kind = kw.pop("kind")
    op = BinaryOp(name, forward, grad_a, grad_b, save=save, rname=rname, kind=kind, **kw)

    def call(input, other, *, out=None):
        if floating and _integral(input) and _integral(other):
            dt = get_default_dtype()
            input, other = (v.to(dt) if isinstance(v, Tensor) else v for v in (input, other))
        return op(input, other, out=out)
    call.op = op
    return call


def _log(m, v):
    return math.log(v) if isinstance(v, (int, float)) else m.log(v)


def _xlogy_forward(xp, a, b):
    out = a * xp.log(b)
    # 0 * log(y) is 0, except for a nan y
    return xp.where((a == 0) & ~xp.isnan(b), xp.zeros((), dtype=out.dtype), out)


def _xlogy_grad_a(m, g, a, b, out):
    d = g * _log(m, b)
    return d if isinstance(a, (int, float)) else m.where(m.as_mask(a != 0), d, d * 0)


xlogy = register(_binary("XlogyBackward0", _xlogy_forward, _xlogy_grad_a, lambda m, g, a, b, out: g * a / b,
                         rname="XlogyBackward1", tsname="XlogyBackward2", kind="xlogy"),
                 torch="xlogy", inplace=True, special="xlogy")


def _hypot_grad(side):
    return lambda m, g, a, b, out: g * (a if side == 0 else b) / out


hypot = register(_binary("HypotBackward0", lambda xp, a, b: xp.hypot(a, b), _hypot_grad(0), _hypot_grad(1),
                save="about", floating=False, integers=False, kind="hypot"), torch="hypot", inplace=True)


def _logaddexp_grad(base, side):
    # d/da log_b(b^a + b^c) = 1 / (1 + b^(c - a))
    def grad(m, g, a, b, out):
        other, own = (b, a) if side == 0 else (a, b)
        return g / (m.exp((other - own) * math.log(base)) + 1)
    return grad


logaddexp = register(_binary("LogaddexpBackward0", lambda xp, a, b: xp.logaddexp(a, b), _logaddexp_grad(math.e, 0),
                    _logaddexp_grad(math.e, 1), floating=False, integers=False, kind="logaddexp"), torch="logaddexp")
logaddexp2 = register(_binary("Logaddexp2Backward0", lambda xp, a, b: xp.logaddexp2(a, b), _logaddexp_grad(2, 0),
                     _logaddexp_grad(2, 1), floating=False, integers=False, kind="logaddexp2"), torch="logaddexp2")


def _fminmax_grad(less, side):
    # the whole gradient goes to the chosen side: `input` on ties, the non-nan one otherwise
    def grad(m, g, a, b, out):
        pick_a = ((a <= b) if less else (a >= b)) | m.isnan(b)
        mask = m.as_mask(pick_a if side == 0 else ~pick_a)
        return m.where(mask, g, g * 0)
    return grad


fmax = register(_binary("FmaxBackward0", lambda xp, a, b: xp.fmax(a, b), _fminmax_grad(False, 0),
                        _fminmax_grad(False, 1), floating=False, kind="fmax"), torch="fmax")
fmin = register(_binary("FminBackward0", lambda xp, a, b: xp.fmin(a, b), _fminmax_grad(True, 0), _fminmax_grad(True, 1),
               floating=False, kind="fmin"), torch="fmin")


def _copysign_grad(m, g, a, b, out):
    ratio = out / a
    return g * m.where(m.as_mask(a == 0), ratio * 0, ratio)


copysign = register(_binary("CopysignBackward0", lambda xp, a, b: xp.copysign(a, b), _copysign_grad,
                            lambda m, g, a, b, out: g * 0, save="aout", tsname="CopysignBackward1", kind="copysign"),
                    torch="copysign", inplace=True)


def _ldexp_forward(xp, a, b):
    a = xp.asarray(a)
    dt = a.dtype if a.dtype.kind == "f" else get_default_dtype().np
    return (a * xp.exp2(xp.asarray(b, dtype=dt))).astype(dt)


ldexp = register(_binary("LdexpBackward0", _ldexp_forward, lambda m, g, a, b, out: g * out / a,
                lambda m, g, a, b, out: g * out * math.log(2), save="about", floating=False, kind="ldexp"),
                torch="ldexp", inplace=True)


@binds("float_power", inplace=True)
def float_power(input, exponent, *, out=None):
    # both sides in double precision, then pow (PyTorch's own decomposition)
    input = input.to(float64) if isinstance(input, Tensor) else float(input)
    exponent = exponent.to(float64) if isinstance(exponent, Tensor) else exponent
    return ew.pow(input, exponent, out=out)


gcd = register(_binary("gcd", lambda xp, a, b: xp.gcd(a, b), None, None, floating=False, differentiable=False, kind="gcd"),
               torch="gcd", inplace=True)
lcm = register(_binary("lcm", lambda xp, a, b: xp.lcm(a, b), None, None, floating=False, differentiable=False, kind="lcm"),
               torch="lcm", inplace=True)
# PyTorch passes the gradient straight to `input` (the step is below its resolution)
nextafter = register(_binary("NextafterBackward0", lambda xp, a, b: xp.nextafter(a, b), lambda m, g, a, b, out: g,
                    lambda m, g, a, b, out: g * 0, save="", floating=False, integers=False, kind="nextafter"),
                    torch="nextafter", inplace=True)


@binds("heaviside", inplace=True)
def heaviside(input, values, *, out=None):
    if isinstance(values, Tensor) and values.dtype is not input.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
    return _heaviside(input, values, out=out)


_heaviside = _binary("torch::autograd::NotImplemented", lambda xp, a, b: xp.heaviside(a, b).astype(a.dtype),
                     _raise("derivative for aten::heaviside is not implemented"),
                     _raise("derivative for aten::heaviside is not implemented"), save="", floating=False,
                     kind="heaviside")


@binds("isin", method=False)
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    ref = elements if isinstance(elements, Tensor) else test_elements
    a = elements._data if isinstance(elements, Tensor) else ref._xp.asarray(elements)
    b = test_elements._data if isinstance(test_elements, Tensor) else ref._xp.asarray(test_elements)
    out = ref._xp.isin(a, b, invert=invert)
    return Tensor._make(ref._xp.asarray(out), device=ref.device)


# ---------------------------------------------------------------------------------------------
# bit shifts: PyTorch defines shifts by a negative count or by the width or more (C++ leaves them
# undefined): a left shift gives 0, a right shift the sign (-1 or 0)
def _shift(name, left):
    def forward(xp, a, b, dt):
        dt = np.dtype(dt) if dt is not None else (a.dtype if hasattr(a, "dtype") else b.dtype)
        if dt.kind not in "iu":
            raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                      f"'{from_numpy_dtype(dt).title}'")
        a, b = xp.asarray(a).astype(dt), xp.asarray(b).astype(dt)
        bits = dt.itemsize * 8
        inside = (b >= 0) & (b < bits)
        b = xp.where(inside, b, 0)
        if left:  # through the unsigned type, so overflow wraps instead of being undefined
            unsigned = np.dtype(f"u{dt.itemsize}")
            return xp.where(inside, xp.left_shift(a.astype(unsigned), b.astype(unsigned)).astype(dt), 0).astype(dt)
        return xp.where(inside, xp.right_shift(a, b), xp.where(a < 0, -1, 0)).astype(dt)
    return ew.BinaryOp(name, forward, None, None, kind=name, differentiable=False)


bitwise_left_shift = register(_shift("lshift", True), torch="bitwise_left_shift", inplace=True)
bitwise_right_shift = register(_shift("rshift", False), torch="bitwise_right_shift", inplace=True)
