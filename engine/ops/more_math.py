"""More elementwise math and shape/indexing utilities (PyTorch functions beyond the core set).

Where PyTorch has one autograd node for a function it is one OpDef here, under PyTorch's node name;
where PyTorch decomposes a function (diff, trapezoid, meshgrid, tile, ...) it is the same composite
of engine ops, so its gradient comes for free."""
import itertools
import math

import numpy as np

from .._dtype import get_default_dtype, float64, int64, bool_, as_dtype, from_numpy_dtype
from ._core import OpDef, apply, ArrayMath
from ._registry import binds, register
from . import elementwise as ew, shape as sh, reduce as red, indexing as ix
from .elementwise import BinaryOp, UnaryOp, scipy_special, _type_title
from .reduce import normalize_dim, normalize_dims
from ..tensor import Tensor, Size


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
# special functions: SciPy on NumPy, cupyx on CuPy, else a NumPy fallback (through the host)
def _special(name, fallback):
    def forward(xp, x):
        if xp is np:
            fn = getattr(scipy_special, name) if scipy_special is not None else fallback
            return np.asarray(fn(x)).astype(x.dtype, copy=False)
        try:
            from cupyx.scipy import special
            return getattr(special, name)(x)
        except ImportError:  # no cupyx: through the host
            return xp.asarray(forward(np, xp.asnumpy(x)))
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
    try:
        from cupyx.scipy import special
        return special.polygamma(xp.ones_like(x), x)  # cupyx wants the order as an array
    except ImportError:
        return xp.asarray(_trigamma_forward(np, xp.asnumpy(x)))


# helpers for gradients (digamma's is trigamma, i0's is i1); not differentiable themselves
_trigamma_op = UnaryOp("PolygammaBackward0", _trigamma_forward, None, kind="polygamma")
_i1 = UnaryOp("SpecialI1Backward0", _special("i1", _i1_np), None, kind="i1")
digamma = UnaryOp("DigammaBackward0", _special("psi", lambda x: _polygamma_np(0, x)),
                  lambda m, g, x, out: g * _on(m, _trigamma_op, x), save="x", kind="digamma", torch='digamma', inplace=True, special=('digamma', 'psi'))
lgamma = UnaryOp("LgammaBackward0", _special("gammaln", _vectorized(math.lgamma)),
                 lambda m, g, x, out: g * _on(m, digamma, x), save="x", kind="lgamma", torch='lgamma', inplace=True, special='gammaln')
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
    try:
        from cupyx.scipy import special
        return special.polygamma(xp.full_like(x, n), x)
    except ImportError:
        return xp.asarray(_polygamma_forward(np, xp.asnumpy(x), n))


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


@binds('mvlgamma', inplace=True, special='multigammaln')
def mvlgamma(input, p):
    """The multivariate log-gamma of dimension p: log(pi) p(p-1)/4 + sum_i lgamma(x - i/2)."""
    if bool((input <= (p - 1) / 2).any()):
        raise RuntimeError("All elements must be greater than (p-1)/2")
    from ..creation import arange
    steps = arange(p, dtype=input.dtype if input.dtype.is_floating_point else get_default_dtype(),
                   device=input.device) / 2
    return lgamma(input.unsqueeze(-1) - steps).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


erfc = UnaryOp("ErfcBackward0", _special("erfc", _vectorized(math.erfc)),
               lambda m, g, x, out: g * m.exp(-x * x) * (-2 / math.sqrt(math.pi)), save="x", kind="erfc", torch='erfc', inplace=True, special='erfc')
erfinv = UnaryOp("ErfinvBackward0", _special("erfinv", _erfinv_np),
                 lambda m, g, x, out: g * m.exp(out * out) * (math.sqrt(math.pi) / 2), save="out", kind="erfinv", torch='erfinv', inplace=True, special='erfinv')
i0 = UnaryOp("I0Backward0", lambda xp, x: xp.i0(x), lambda m, g, x, out: g * _on(m, _i1, x), save="x", kind="i0", torch='i0', inplace=True, special='i0')

# ---------------------------------------------------------------------------------------------
# elementwise unary
def _inverse_hyperbolic(name, fn, grad):
    """The op, and its twin for the in-place form: PyTorch's ...Backward1 node, which has no derivative."""
    def no_grad(*args):
        raise NotImplementedError(f"the derivative for 'inplace version of {name}' is not implemented.")
    op, twin = (UnaryOp(f"{name.capitalize()}Backward{i}", lambda xp, x: getattr(xp, fn)(x), grad_fn, save="x",
                        kind=name) for i, grad_fn in ((0, grad), (1, no_grad)))
    register(op, torch=(name, fn), inplace={name + "_": twin, fn + "_": twin})
    return op, twin


acosh, _acosh_ = _inverse_hyperbolic("acosh", "arccosh", lambda m, g, x, out: g / m.sqrt(x * x - 1))
asinh, _asinh_ = _inverse_hyperbolic("asinh", "arcsinh", lambda m, g, x, out: g / m.sqrt(x * x + 1))
atanh, _atanh_ = _inverse_hyperbolic("atanh", "arctanh", lambda m, g, x, out: g / (-x * x + 1))
deg2rad = UnaryOp("Deg2RadBackward0", lambda xp, x: x * (math.pi / 180), lambda m, g, x, out: g * (math.pi / 180),
                  kind="deg2rad", torch='deg2rad', inplace=True)
rad2deg = UnaryOp("Rad2DegBackward0", lambda xp, x: x * (180 / math.pi), lambda m, g, x, out: g * (180 / math.pi),
                  kind="rad2deg", torch='rad2deg', inplace=True)
# sgn of a real number is its sign; its gradient is zero away from 0 (PyTorch's complex formula)
sgn = UnaryOp("SgnBackward0", lambda xp, x: xp.sign(x), lambda m, g, x, out: g * 0, floating=False, kind="sgn", torch='sgn', inplace=True)


def _sinc_grad(m, g, x, out):
    px = x * math.pi
    d = (m.cos(px) * px - m.sin(px)) / (px * x)
    return g * m.where(m.as_mask(x == 0), d * 0, d)


sinc = UnaryOp("SincBackward0", lambda xp, x: xp.sinc(x), _sinc_grad, save="x", kind="sinc", torch='sinc', inplace=True, special='sinc')


def _entr_forward(xp, x):
    safe = xp.where(x > 0, x, 1)
    return xp.where(x > 0, -x * xp.log(safe), xp.where(x == 0, 0.0, -xp.inf)).astype(x.dtype)


entr = UnaryOp("SpecialEntrBackward0", _entr_forward, lambda m, g, x, out: -g * (m.log(x) + 1), save="x",
               kind="entr", method=False, special='entr')


def _logit_forward(xp, x, eps):
    if eps is not None:
        x = xp.clip(x, eps, 1 - eps)
    return xp.log(x / (1 - x))


def _logit_grad(m, g, x, out, eps):
    d = g / (x * (-x + 1))
    if eps is None:
        return d
    return m.where(m.as_mask((x < eps) | (x > 1 - eps)), d * 0, d)  # flat where clamped


_logit = UnaryOp("LogitBackward0", _logit_forward, _logit_grad, save="x", kind="logit")


@binds('logit', inplace=True, special='logit')
def logit(input, eps=None, *, out=None):
    return _logit(input, eps, out=out)


def _nan_to_num_forward(xp, x, nan, posinf, neginf):
    if x.dtype.kind != "f":
        return x.copy()
    return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


_nan_to_num = UnaryOp("NanToNumBackward0", _nan_to_num_forward,
                      lambda m, g, x, out, *args: g * m.as_mask(m.isfinite(x)), save="x", floating=False,
                      kind="nan_to_num")


@binds('nan_to_num', inplace=True)
def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    return _nan_to_num(input, nan, posinf, neginf, out=out)


def _predicate(name, fn):
    return UnaryOp(name, fn, None, floating=False, kind=name)


signbit = register(_predicate("signbit", lambda xp, x: xp.signbit(x)), torch='signbit')
isneginf = register(_predicate("isneginf", lambda xp, x: xp.isneginf(x)), torch='isneginf')
isposinf = register(_predicate("isposinf", lambda xp, x: xp.isposinf(x)), torch='isposinf')
isreal = register(_predicate("isreal", lambda xp, x: xp.ones(x.shape, dtype=bool)), torch='isreal')  # real dtypes only


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
            raise NotImplementedError(f'"{kind}_cpu" not implemented for \'{_type_title(from_numpy_dtype(a.dtype))}\'')
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
                save="about", floating=False, integers=False, kind="hypot"), torch='hypot', inplace=True)


def _logaddexp_grad(base, side):
    # d/da log_b(b^a + b^c) = 1 / (1 + b^(c - a))
    def grad(m, g, a, b, out):
        other, own = (b, a) if side == 0 else (a, b)
        return g / (m.exp((other - own) * math.log(base)) + 1)
    return grad


logaddexp = register(_binary("LogaddexpBackward0", lambda xp, a, b: xp.logaddexp(a, b), _logaddexp_grad(math.e, 0),
                    _logaddexp_grad(math.e, 1), floating=False, integers=False, kind="logaddexp"), torch='logaddexp')
logaddexp2 = register(_binary("Logaddexp2Backward0", lambda xp, a, b: xp.logaddexp2(a, b), _logaddexp_grad(2, 0),
                     _logaddexp_grad(2, 1), floating=False, integers=False, kind="logaddexp2"), torch='logaddexp2')


def _fminmax_grad(less, side):
    # the whole gradient goes to the chosen side: `input` on ties, the non-nan one otherwise
    def grad(m, g, a, b, out):
        pick_a = ((a <= b) if less else (a >= b)) | m.isnan(b)
        mask = m.as_mask(pick_a if side == 0 else ~pick_a)
        return m.where(mask, g, g * 0)
    return grad


fmax = register(_binary("FmaxBackward0", lambda xp, a, b: xp.fmax(a, b), _fminmax_grad(False, 0), _fminmax_grad(False, 1),
               floating=False, kind="fmax"), torch='fmax')
fmin = register(_binary("FminBackward0", lambda xp, a, b: xp.fmin(a, b), _fminmax_grad(True, 0), _fminmax_grad(True, 1),
               floating=False, kind="fmin"), torch='fmin')


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
                lambda m, g, a, b, out: g * out * math.log(2), save="about", floating=False, kind="ldexp"), torch='ldexp', inplace=True)


@binds('float_power', inplace=True)
def float_power(input, exponent, *, out=None):
    # both sides in double precision, then pow (PyTorch's own decomposition)
    input = input.to(float64) if isinstance(input, Tensor) else float(input)
    exponent = exponent.to(float64) if isinstance(exponent, Tensor) else exponent
    return ew.pow(input, exponent, out=out)


gcd = register(_binary("gcd", lambda xp, a, b: xp.gcd(a, b), None, None, floating=False, differentiable=False, kind="gcd"), torch='gcd', inplace=True)
lcm = register(_binary("lcm", lambda xp, a, b: xp.lcm(a, b), None, None, floating=False, differentiable=False, kind="lcm"), torch='lcm', inplace=True)
# PyTorch passes the gradient straight to `input` (the step is below its resolution)
nextafter = register(_binary("NextafterBackward0", lambda xp, a, b: xp.nextafter(a, b), lambda m, g, a, b, out: g,
                    lambda m, g, a, b, out: g * 0, save="", floating=False, integers=False, kind="nextafter"), torch='nextafter', inplace=True)


@binds('heaviside', inplace=True)
def heaviside(input, values, *, out=None):
    if isinstance(values, Tensor) and values.dtype is not input.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
    return _heaviside(input, values, out=out)


_heaviside = _binary("torch::autograd::NotImplemented", lambda xp, a, b: xp.heaviside(a, b).astype(a.dtype),
                     _raise("derivative for aten::heaviside is not implemented"),
                     _raise("derivative for aten::heaviside is not implemented"), save="", floating=False,
                     kind="heaviside")


@binds('isin', method=False)
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    ref = elements if isinstance(elements, Tensor) else test_elements
    a = elements._data if isinstance(elements, Tensor) else ref._xp.asarray(elements)
    b = test_elements._data if isinstance(test_elements, Tensor) else ref._xp.asarray(test_elements)
    out = ref._xp.isin(a, b, invert=invert)
    return Tensor._make(ref._xp.asarray(out), device=ref.device)


# ---------------------------------------------------------------------------------------------
# scalar scalings with PyTorch's Tensor-Scalar node names (the last node of its decompositions)
def _scalar_op(name, fn):
    op = OpDef(name, lambda xp, x, s: fn(x, s), lambda m, g, node: fn(g, node.params[0]), kind=name)
    op.elementwise = True
    return lambda x, s: apply(op, (x,), (s,))


_mul_scalar = _scalar_op("MulBackward1", lambda x, s: x * s)
_div_scalar = _scalar_op("DivBackward1", lambda x, s: x / s)


@binds(method=False, special='ndtr')
def ndtr(input):
    x = input if input.dtype.is_floating_point else input.to(get_default_dtype())
    return _mul_scalar(ew.erf(x * (1 / math.sqrt(2))) + 1, 0.5)


# ---------------------------------------------------------------------------------------------
# reductions and scans
def _nansum_forward(xp, x, axes, keepdim, dt):
    if x.dtype.kind in "biu":
        return xp.sum(x, axis=axes, keepdims=keepdim, dtype=dt or np.int64)
    return xp.nansum(x, axis=axes, keepdims=keepdim, dtype=dt)


def _nansum_vjp(m, g, node, x):
    axes, keepdim, _ = node.params
    g = red._restore(m, g, node.shapes[0], axes, keepdim)
    return m.where(m.as_mask(m.isnan(x)), g * 0, g)


_nansum = OpDef("NansumBackward0", _nansum_forward, _nansum_vjp, save_inputs=(0,), kind="nansum")


@binds('nansum')
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    dt = as_dtype(dtype).np if dtype is not None else None
    return apply(_nansum, (input,), (normalize_dims(dim, input._data.ndim), keepdim, dt))


@binds('nanmean')
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    if not input.dtype.is_floating_point:
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_type_title(input.dtype)}")
    count = red.sum(ew.logical_not(ew.isnan(input)), dim, keepdim)
    return ew.div(nansum(input, dim, keepdim, dtype=dtype), count)


def _logcumsumexp_forward(xp, x, axis):
    if x.ndim == 0:
        return x.copy()
    try:
        return xp.logaddexp.accumulate(x, axis=axis)
    except (AttributeError, NotImplementedError, TypeError):  # a backend without ufunc.accumulate
        top = xp.max(x, axis=axis, keepdims=True)
        top = xp.where(xp.isfinite(top), top, 0)
        return xp.log(xp.cumsum(xp.exp(x - top), axis=axis)) + top


def _logcumsumexp_vjp(m, g, node, x, out):
    # d out_j / d x_i = exp(x_i - out_j) for j >= i: a reversed cumulative sum, shifted by the
    # largest out (the last one) so that nothing overflows
    axis = node.params[0]
    if not node.shapes[0]:
        return g
    last = m.index(out, (slice(None),) * axis + (slice(-1, None),))
    scaled = g * m.exp(last - out)
    rev = m.flip(m.cumsum(m.flip(scaled, (axis,)), axis), (axis,))
    return rev * m.exp(x - last)


_logcumsumexp = OpDef("LogcumsumexpBackward0", _logcumsumexp_forward, _logcumsumexp_vjp, save_inputs=(0,),
                      save_output=True, kind="logcumsumexp")


@binds('logcumsumexp')
def logcumsumexp(input, dim):
    if not input.dtype.is_floating_point:
        input = input.to(get_default_dtype())
    return apply(_logcumsumexp, (input,), (normalize_dim(dim, input._data.ndim),))


def _slices(x, dim, start, stop):
    return sh.narrow(x, dim, start, stop - start)


@binds('diff')
def diff(input, n=1, dim=-1, prepend=None, append=None):
    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    dim = normalize_dim(dim, input._data.ndim)
    parts = [p for p in (prepend, input, append) if p is not None]
    if len(parts) > 1:
        parts = [p if p._data.ndim else sh.expand(p, input.shape[:dim] + (1,) + input.shape[dim + 1:])
                 for p in parts]
        input = sh.cat(parts, dim)
    for _ in range(n):
        size = input.shape[dim]
        if size == 0:
            break
        hi, lo = _slices(input, dim, 1, size), _slices(input, dim, 0, size - 1)
        input = ew.logical_xor(hi, lo) if input.dtype is bool_ else ew.sub(hi, lo)
    return input


@binds('trapezoid', method=False)
def trapezoid(y, x=None, *, dx=None, dim=-1):
    dim = normalize_dim(dim, y._data.ndim)
    size = y.shape[dim]
    if x is not None and isinstance(x, Tensor):
        if x._data.ndim == 1:  # a 1-d x lies along `dim`
            x = sh.reshape(x, (-1,) + (1,) * (y._data.ndim - dim - 1))
        dxs = diff(x, dim=-1 if x._data.ndim == 1 else dim - y._data.ndim)
        return _div_scalar(red.sum(dxs * (_slices(y, dim, 1, size) + _slices(y, dim, 0, size - 1)), dim), 2.0)
    spacing = 1.0 if dx is None and x is None else (dx if dx is not None else x)
    if size == 0:
        return red.sum(y, dim) * 0
    ends = sh.select(y, dim, 0) + sh.select(y, dim, -1)
    return _mul_scalar(red.sum(y, dim) - ends * 0.5, spacing)


@binds('trapz', method=False)
def trapz(y, x=None, *, dx=None, dim=-1):
    if x is not None and not isinstance(x, Tensor):
        dx, x = x, None  # trapz(y, dx, dim) in the old signature
    return trapezoid(y, x, dx=dx, dim=dim)


@binds('histc')
def histc(input, bins=100, min=0, max=0, *, out=None):
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_type_title(input.dtype)}'")
    xp, x = input._xp, input._data
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError("torch.histogram(): max must be larger than min")
    inside = (x >= lo) & (x <= hi)
    index = xp.floor((x[inside] - lo) * bins / (hi - lo)).astype(np.int64)
    index = xp.minimum(index, bins - 1)  # the top edge belongs to the last bin
    counts = xp.bincount(index, minlength=bins).astype(x.dtype)
    result = Tensor._make(counts, device=input.device)
    return ew.write_out(out, result) if out is not None else result


@binds('histogram')
def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    """Counts (or weights, or a density) per bin and the bin edges: NumPy's histogram, whose rules
    (edges, a degenerate range widened by 0.5, the top edge in the last bin) are PyTorch's."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_type_title(input.dtype)}'")
    edges = bins._host() if isinstance(bins, Tensor) else int(bins)
    weights = weight._host() if weight is not None else None
    hist, edges = np.histogram(input._host(), edges, range=range, weights=weights, density=density)
    from .. import creation
    from .reduce import return_type
    dtype = input._data.dtype
    hist, edges = (creation.tensor(a.astype(dtype), device=input.device) for a in (hist, edges))
    if out is not None:
        ew.write_out(out[0], hist), ew.write_out(out[1], edges)
        hist, edges = out
    return return_type("histogram", ("hist", "bin_edges"))(hist, edges)


@binds('bincount')
def bincount(input, weights=None, minlength=0):
    if input._data.ndim != 1 or input.dtype.is_floating_point:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    xp = input._xp
    if input._data.size and bool(xp.any(input._data < 0)):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        counts = xp.bincount(input._data, minlength=minlength).astype(np.int64)
    else:
        wd = weights._data
        counts = xp.bincount(input._data, weights=wd, minlength=minlength)
        counts = counts.astype(wd.dtype if wd.dtype == np.float32 else np.float64)
    return Tensor._make(counts, device=input.device)


# ---------------------------------------------------------------------------------------------
# shape
@binds('tile')
def tile(input, *dims):
    dims = tuple(int(d) for d in sh._shape_arg(dims))
    dims = (1,) * (input._data.ndim - len(dims)) + dims
    return sh.repeat(input, dims)


@binds('ravel')
def ravel(input):
    return sh.view(sh.contiguous(input), -1)


@binds('repeat_interleave')
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    if repeats is None:  # repeat_interleave(repeats): each index repeated that many times
        counts = input
        index = Tensor._make(counts._xp.arange(counts._data.shape[0], dtype=np.int64), device=counts.device)
        return repeat_interleave(index, counts)
    if dim is None:
        input, dim = sh.flatten(input), 0
    dim = normalize_dim(dim, input._data.ndim)
    if isinstance(repeats, Tensor) and repeats._data.ndim and repeats._data.size != 1:
        xp = input._xp
        if repeats._data.shape[0] != input.shape[dim]:
            raise RuntimeError("repeats must have the same size as input along dim")
        index = xp.repeat(xp.arange(repeats._data.shape[0]), repeats._data)
        if output_size is not None and index.shape[0] != output_size:
            raise RuntimeError("allocated size does not match required size")
        return ix.index_select(input, dim, Tensor._make(index.astype(np.int64), device=input.device))
    r = int(repeats.item()) if isinstance(repeats, Tensor) else int(repeats)
    shape = input.shape
    x = sh.unsqueeze(input, dim + 1)
    x = sh.expand(x, shape[:dim + 1] + (r,) + shape[dim + 1:])
    return sh.reshape(sh.clone(x), shape[:dim] + (shape[dim] * r,) + shape[dim + 1:])


def _rot90_forward(xp, x, k, dims):
    return xp.ascontiguousarray(xp.rot90(x, k, axes=dims))


_rot90 = OpDef("Rot90Backward0", _rot90_forward,
               lambda m, g, node: m.rot90(g, -node.params[0], node.params[1]), kind="rot90")


@binds('rot90')
def rot90(input, k=1, dims=(0, 1)):
    dims = tuple(dims)
    nd = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    dims = tuple(normalize_dim(d, nd) for d in dims)
    if dims[0] == dims[1]:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
    return apply(_rot90, (input,), (k % 4, dims))


@binds('fliplr')
def fliplr(input):
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return sh.flip(input, (1,))


@binds('flipud')
def flipud(input):
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return sh.flip(input, (0,))


@binds('tensor_split')
def tensor_split(input, indices_or_sections, dim=0):
    dim = normalize_dim(dim, input._data.ndim)
    size = input.shape[dim]
    sections = indices_or_sections
    if isinstance(sections, Tensor):
        sections = sections.item() if sections._data.ndim == 0 else sections.tolist()
    if isinstance(sections, int):
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        q, r = divmod(size, sections)
        bounds = [i * q + min(i, r) for i in range(sections + 1)]
    else:
        bounds = [0] + [min(max(int(i), 0), size) for i in sections] + [size]
    return tuple(_slices(input, dim, lo, max(lo, hi)) for lo, hi in zip(bounds[:-1], bounds[1:]))


def _split_fn(name, dim, min_dims):
    def split(input, indices_or_sections):
        nd = input._data.ndim
        if nd < min_dims:
            raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a "
                               f"tensor with {nd} dimensions!")
        d = 0 if (name == "hsplit" and nd == 1) else dim
        if isinstance(indices_or_sections, int) and input.shape[d] % indices_or_sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {d}, but the size of the "
                               f"dimension {input.shape[d]} is not divisible by the split_size "
                               f"{indices_or_sections}!")
        return tensor_split(input, indices_or_sections, d)
    return split


hsplit = register(_split_fn("hsplit", 1, 1), torch='hsplit')
vsplit = register(_split_fn("vsplit", 0, 2), torch='vsplit')
dsplit = register(_split_fn("dsplit", 2, 3), torch='dsplit')


def _atleast(ndim):
    def one(t):
        n = t._data.ndim
        if n >= ndim:
            return t
        if n == 0:
            return sh.reshape(t, (1,) * ndim)
        if ndim == 2 or n == 2:  # (n,) -> (1, n); (a, b) -> (a, b, 1)
            return sh.unsqueeze(t, 0 if n == 1 else -1)
        return sh.unsqueeze(sh.unsqueeze(t, 0), -1)  # (n,) -> (1, n, 1)

    def atleast(*tensors):
        if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
            return tuple(one(t) for t in tensors[0])
        return one(tensors[0]) if len(tensors) == 1 else tuple(one(t) for t in tensors)
    return atleast


atleast_1d, atleast_2d, atleast_3d = (register(_atleast(n), torch=f"atleast_{n}d", method=False) for n in (1, 2, 3))


@binds('dstack', method=False)
def dstack(tensors):
    return sh.cat(list(atleast_3d(list(tensors))), 2)


@binds('column_stack', method=False)
def column_stack(tensors):
    return sh.cat([sh.reshape(t, (t.numel(), 1)) if t._data.ndim <= 1 else t for t in tensors], 1)


def _as_block(shape):
    return tuple(shape) if len(shape) == 2 else (1, shape[0] if shape else 1)  # 0-d: 1x1, (n,): 1xn


def _block_diag_forward(xp, *arrays):
    arrays = [a.reshape(_as_block(a.shape)) for a in arrays]
    out = xp.zeros((sum(a.shape[0] for a in arrays), sum(a.shape[1] for a in arrays)), dtype=arrays[0].dtype)
    r = c = 0
    for a in arrays:
        out[r:r + a.shape[0], c:c + a.shape[1]] = a
        r, c = r + a.shape[0], c + a.shape[1]
    return out


def _block_diag_vjp(m, g, node):
    grads, r, c = [], 0, 0
    for shape, edge in zip(node.shapes, node._next):
        h, w = _as_block(shape)
        block = m.index(g, (slice(r, r + h), slice(c, c + w)))
        grads.append(m.reshape(block, shape) if edge is not None else None)
        r, c = r + h, c + w
    return tuple(grads)


_block_diag = OpDef("BlockDiagBackward0", _block_diag_forward, _block_diag_vjp, kind="block_diag")


@binds('block_diag', method=False)
def block_diag(*tensors):
    for i, t in enumerate(tensors):
        if t._data.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t._data.ndim} dimensions")
    if len(tensors) == 0:
        from ..creation import empty
        return empty(1, 0)
    rt = sh._common_dtype(tensors)
    return apply(_block_diag, tuple(t.to(rt) for t in tensors))  # promoted first: one dtype in the node


@binds('meshgrid', method=False)
def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    # "xy": the first two inputs swap places, and so do their grids (PyTorch's way)
    swap = indexing == "xy" and len(tensors) >= 2
    order = list(tensors)
    if swap:
        order[0], order[1] = order[1], order[0]
    shape = tuple(t.numel() for t in order)
    grids = [sh.expand(sh.view(t, tuple(-1 if j == i else 1 for j in range(len(order)))), shape)
             for i, t in enumerate(order)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@binds('cartesian_prod', method=False)
def cartesian_prod(*tensors):
    if len(tensors) == 1:
        return tensors[0]
    return sh.stack([sh.flatten(g) for g in meshgrid(*tensors, indexing="ij")], 1)


@binds('combinations', method=False)
def combinations(input, r=2, with_replacement=False):
    if input._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        from ..creation import empty
        return empty(0, dtype=input.dtype, device=input.device)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    cols = [ix.index_select(input, 0, Tensor._make(input._xp.asarray(rows[:, j]), device=input.device))
            for j in range(r)]
    return sh.stack(cols, 1)


@binds('unravel_index', method=False)
def unravel_index(indices, shape):
    if not isinstance(indices, Tensor):
        from ..creation import tensor
        indices = tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype is bool_:
        raise TypeError("expected 'indices' to be integer dtype, but got " + str(indices.dtype))
    shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    xp, flat = indices._xp, indices._data.astype(np.int64)
    total = math.prod(shape)
    if flat.size and (bool(xp.any(flat < -total)) or bool(xp.any(flat >= total))):
        raise RuntimeError("index out of bounds for the given shape")
    flat = xp.where(flat < 0, flat + total, flat)
    out = []
    for size in reversed(shape):
        out.append(flat % size)
        flat = flat // size
    return tuple(Tensor._make(a, device=indices.device) for a in reversed(out))


@binds('vander', method=False)
def vander(x, N=None, increasing=False):
    if x._data.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if not x.dtype.is_floating_point and x.dtype is not int64:
        x = x.to(int64)  # integers (and bools) promote to long, as PyTorch's vander does
    from ..creation import ones
    cols = [ones(x.shape[0], 1, dtype=x.dtype, device=x.device)] if n else []
    if n > 1:
        cols.append(red.cumprod(sh.expand(sh.unsqueeze(x, 1), (x.shape[0], n - 1)), 1))
    result = sh.cat(cols, 1) if cols else ones(x.shape[0], 0, dtype=x.dtype, device=x.device)
    return result if increasing else sh.flip(result, (1,))


@binds('broadcast_shapes', method=False)
def broadcast_shapes(*shapes):
    shapes = [tuple(s) if isinstance(s, (tuple, list)) else (int(s),) for s in shapes]
    from ._core import broadcast_error
    error = broadcast_error(shapes)
    if error is not None:
        raise error
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i, n in enumerate(s):
            j = ndim - len(s) + i
            out[j] = n if out[j] == 1 else out[j]
    return Size(out)


def _tri_indices(upper):
    def indices(row, col, offset=0, *, dtype=None, device=None, layout=None, requires_grad=False):
        from ..creation import tensor
        rows, cols = (np.triu_indices if upper else np.tril_indices)(row, offset, col)
        dt = as_dtype(dtype) if dtype is not None else int64
        return tensor(np.stack([rows, cols]).astype(dt.np), dtype=dt, device=device)
    return indices


tril_indices, triu_indices = (register(_tri_indices(upper), torch=f"{part}_indices", method=False)
                              for upper, part in ((False, "tril"), (True, "triu")))


# ---------------------------------------------------------------------------------------------
# views: Tensor.unfold and the diagonal fill_diagonal_ writes through
def _as_strided(xp, x, shape, strides):
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def _unfold_forward(xp, x, dim, size, step):
    if x.ndim == 0:
        return x.reshape(1)
    n = (x.shape[dim] - size) // step + 1
    st = x.strides
    return _as_strided(xp, x, x.shape[:dim] + (n,) + x.shape[dim + 1:] + (size,),
                       st[:dim] + (st[dim] * step,) + st[dim + 1:] + (st[dim],))


def _unfold_vjp(m, g, node):
    # each window position k scatters its slice of the gradient back over the input
    dim, size, step = node.params
    shape = node.shapes[0]
    if not shape:
        return m.reshape(g, ())
    n = g.shape[dim]
    total = None
    for k in range(size):
        part = m.scatter_into(shape, (slice(None),) * dim + (slice(k, k + step * (n - 1) + 1, step),),
                              m.index(g, (Ellipsis, k)))
        total = part if total is None else total + part
    return total


_unfold = OpDef("UnfoldBackward0", _unfold_forward, _unfold_vjp, kind="unfold")


@binds(method='unfold')
def unfold(self, dimension, size, step):
    nd = self._data.ndim
    dim = normalize_dim(dimension, nd)
    length = self.shape[dim] if nd else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return sh.make_view(_unfold, self, (dim, size, step))


def _diagonal_view_forward(xp, x, count):
    return _as_strided(xp, x, (count,), (sum(x.strides),))


def _diagonal_view_vjp(m, g, node):
    shape = node.shapes[0]
    xp = m.xp if isinstance(m, ArrayMath) else g._xp
    step = sum(math.prod(shape[i + 1:]) for i in range(len(shape)))
    flat = np.arange(node.params[0]) * step
    index = tuple(xp.asarray(i) for i in np.unravel_index(flat, shape))
    return m.scatter_into(shape, index, g)


_diagonal_view = OpDef("AsStridedBackward0", _diagonal_view_forward, _diagonal_view_vjp, kind="as_strided")


@binds(method='fill_diagonal_')
def fill_diagonal_(self, fill_value, wrap=False):
    shape = self.shape
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    count = min(shape)
    if wrap and len(shape) == 2 and shape[0] > shape[1] + 1:
        count = (shape[0] * shape[1] - 1) // (shape[1] + 1) + 1  # the diagonal restarts every n + 1 rows
    if count:  # through a view, as PyTorch does: the tensor's node becomes CopySlices
        sh.make_view(_diagonal_view, self, (count,)).fill_(fill_value)
    return self


@binds(method='where')
def _tensor_where(self, condition, other):
    return ew.where(condition, self, other)

