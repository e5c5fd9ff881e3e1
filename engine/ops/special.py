"""Special functions: gamma-family (digamma, lgamma, polygamma, mvlgamma), error functions (erfc,
erfinv, ndtr), Bessel i0, entr; SciPy on NumPy, else the backend's own (engine/backends)."""
import math
import numpy as np
from .. import backends
from .._dtype import get_default_dtype
from ._core import OpDef, apply, ArrayMath
from ._registry import binds
from ..creation import arange
from . import elementwise as ew
from .elementwise import UnaryOp, scipy_special


def _on(m, unary, x):
    """A unary op inside a VJP: on arrays in a plain backward, differentiable under create_graph."""
    if isinstance(m, ArrayMath):
        return unary.op.forward(m.xp, x, None)
    return unary(x)


def _raise(message):
    def grad(*args):
        raise RuntimeError(message)
    return grad


# ---------------------------------------------------------------------------------------------
# special functions: SciPy on NumPy, else the backend's own (engine/backends: cupyx, or through the host)
def _special(name, fallback):
    def forward(xp, x):
        if xp is np:
            fn = getattr(scipy_special, name) if scipy_special is not None else fallback
            return np.asarray(fn(x)).astype(x.dtype, copy=False)
        return backends.of_namespace(xp).special(name, x, lambda v: forward(np, v))
    return forward


def _vectorized(fn, at_pole=math.inf):
    """A math-module function over an array; where math raises (lgamma at 0, -1, ...), SciPy's value."""
    def safe(v):
        try:
            return fn(v)
        except (ValueError, OverflowError):
            return at_pole
    return lambda x: np.vectorize(safe, otypes=[np.float64])(x) if x.size else x.astype(np.float64)


def _erfinv_np(y):
    # Winitzki's approximation, polished by Newton steps on erf
    y = np.asarray(y, dtype=np.float64)
    a = 0.147
    ln = np.log((1 - y) * (1 + y))
    t = 2 / (math.pi * a) + ln / 2
    x = np.sign(y) * np.sqrt(np.sqrt(t * t - ln / a) - t)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    for _ in range(3):
        x = x - (erf(x) - y) / (2 / math.sqrt(math.pi) * np.exp(-x * x))
    return np.where(np.abs(y) == 1, np.sign(y) * np.inf, x)


def _polygamma_np(order, x):
    """digamma (order 0) or trigamma (order 1): recurrence up to x >= 6, then the asymptotic series."""
    x = np.asarray(x, dtype=np.float64)
    reflect = x < 0.5
    z = np.where(reflect, 1 - x, x)
    acc = np.zeros_like(z)
    for _ in range(6):
        acc += -1 / z if order == 0 else 1 / (z * z)
        z = z + 1
    w = 1 / (z * z)
    if order == 0:
        series = np.log(z) - 0.5 / z - w * (1 / 12 - w * (1 / 120 - w * (1 / 252 - w * (1 / 240 - w / 132))))
        out = acc + series
        return np.where(reflect, out - math.pi / np.tan(math.pi * x), out)
    series = 1 / z + w / 2 + w / z * (1 / 6 - w * (1 / 30 - w * (1 / 42 - w / 30)))
    out = acc + series
    return np.where(reflect, math.pi ** 2 / np.sin(math.pi * x) ** 2 - out, out)


def _i1_np(x):
    x = np.asarray(x, dtype=np.float64)
    term = x / 2
    out = term.copy()
    for k in range(1, 80):
        term = term * (x / 2) ** 2 / (k * (k + 1))
        out = out + term
    return out


def _trigamma(x):
    return scipy_special.polygamma(1, x) if scipy_special is not None else _polygamma_np(1, x)


def _trigamma_forward(xp, x):
    if xp is np:
        return np.asarray(_trigamma(x)).astype(x.dtype, copy=False)
    return backends.of_namespace(xp).special("polygamma", x, lambda v: _trigamma_forward(np, v), n=1)


# helpers for gradients (digamma's is trigamma, i0's is i1); not differentiable themselves
_trigamma_op = UnaryOp("PolygammaBackward0", _trigamma_forward, None, kind="polygamma")
_i1 = UnaryOp("SpecialI1Backward0", _special("i1", _i1_np), None, kind="i1")
digamma = UnaryOp("DigammaBackward0", _special("psi", lambda x: _polygamma_np(0, x)),
                  lambda m, g, x, out: g * _on(m, _trigamma_op, x), save="x", kind="digamma",
                  torch="digamma", inplace=True, special=("digamma", "psi"))
lgamma = UnaryOp("LgammaBackward0", _special("gammaln", _vectorized(math.lgamma)),
                 lambda m, g, x, out: g * _on(m, digamma, x), save="x", kind="lgamma",
                 torch="lgamma", inplace=True, special="gammaln")
def _hurwitz_zeta_np(s, q):
    """zeta(s, q) = sum_k (q + k)^-s for s > 1, q > 0: nine terms, then Euler-Maclaurin's tail."""
    q = np.asarray(q, dtype=np.float64)
    total = sum((q + k) ** -s for k in range(9))
    a = q + 9
    total = total + a ** (1 - s) / (s - 1) + 0.5 * a ** -s
    rising, power = s, a ** (-s - 1)
    for j, b2j in enumerate((1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730), 1):
        total = total + b2j / math.factorial(2 * j) * rising * power
        rising *= (s + 2 * j - 1) * (s + 2 * j)
        power = power / (a * a)
    return np.where(q > 0, total, np.nan)


def _polygamma_np_any(n, x):
    if n < 2:
        return _polygamma_np(n, x)
    return (-1) ** (n + 1) * math.factorial(n) * _hurwitz_zeta_np(n + 1, x)


def _polygamma_forward(xp, x, n):
    if xp is np:
        out = scipy_special.polygamma(n, x) if scipy_special is not None else _polygamma_np_any(n, x)
        return np.asarray(out).astype(x.dtype, copy=False)
    return backends.of_namespace(xp).special("polygamma", x, lambda v: _polygamma_forward(np, v, n), n=n)


def _polygamma_grad(m, g, x, out, n):
    if isinstance(m, ArrayMath):
        return g * _polygamma_op.op.forward(m.xp, x, None, n + 1)
    return g * _polygamma_op(x, n + 1)


_polygamma_op = UnaryOp("PolygammaBackward0", _polygamma_forward, _polygamma_grad, save="x", kind="polygamma")


def _polygamma_method(self, n):
    """x.polygamma(n): the order comes first in torch.polygamma(n, input), last in the methods."""
    return polygamma(n, self)


@binds("polygamma", method={"polygamma": _polygamma_method}, inplace={"polygamma_": _polygamma_method},
       special="polygamma")
def polygamma(n, input, *, out=None):
    """The n-th derivative of digamma (n = 0 is digamma itself)."""
    if int(n) < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return _polygamma_op(input, int(n), out=out)


@binds("mvlgamma", inplace=True, special="multigammaln")
def mvlgamma(input, p):
    """The multivariate log-gamma of dimension p: log(pi) p(p-1)/4 + sum_i lgamma(x - i/2)."""
    if bool((input <= (p - 1) / 2).any()):
        raise RuntimeError("All elements must be greater than (p-1)/2")
    steps = arange(p, dtype=input.dtype if input.dtype.is_floating_point else get_default_dtype(),
                   device=input.device) / 2
    return lgamma(input.unsqueeze(-1) - steps).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


erfc = UnaryOp("ErfcBackward0", _special("erfc", _vectorized(math.erfc)),
               lambda m, g, x, out: g * m.exp(-x * x) * (-2 / math.sqrt(math.pi)), save="x", kind="erfc",
               torch="erfc", inplace=True, special="erfc")
erfinv = UnaryOp("ErfinvBackward0", _special("erfinv", _erfinv_np),
                 lambda m, g, x, out: g * m.exp(out * out) * (math.sqrt(math.pi) / 2), save="out", kind="erfinv",
                 torch="erfinv", inplace=True, special="erfinv")
i0 = UnaryOp("I0Backward0", lambda xp, x: xp.i0(x), lambda m, g, x, out: g * _on(m, _i1, x), save="x", kind="i0",
             torch="i0", inplace=True, special="i0")


# ---------------------------------------------------------------------------------------------
# scalar scalings with PyTorch's Tensor-Scalar node names (the last node of its decompositions)
def _scalar_op(name, fn):
    op = OpDef(name, lambda xp, x, s: fn(x, s), lambda m, g, node: fn(g, node.params[0]), kind=name)
    op.elementwise = True
    return lambda x, s: apply(op, (x,), (s,))


_mul_scalar = _scalar_op("MulBackward1", lambda x, s: x * s)
_div_scalar = _scalar_op("DivBackward1", lambda x, s: x / s)


@binds(method=False, special="ndtr")
def ndtr(input):
    x = input if input.dtype.is_floating_point else input.to(get_default_dtype())
    return _mul_scalar(ew.erf(x * (1 / math.sqrt(2))) + 1, 0.5)
