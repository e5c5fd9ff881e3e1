"""Special functions of the normal distribution and its relatives: erfcx (the scaled complementary
error function), log_ndtr, ndtri (the normal quantile), xlog1py, zeta (Hurwitz). SciPy on NumPy,
NumPy fallbacks where SciPy is absent, else the backend's own (engine/backends `special`)."""
import math

import numpy as np

from .. import backends
from ._registry import register
from .binary import _binary
from .elementwise import UnaryOp, scipy_special
from .special import _erfinv_np, _hurwitz_zeta_np

_SQRT_2PI = math.sqrt(2 * math.pi)


def _forward(name, host):
    def forward(xp, x):
        if xp is np:
            return np.asarray(host(x)).astype(x.dtype, copy=False)
        return backends.of_namespace(xp).special(name, x, lambda v: forward(np, v))
    return forward


def _host(scipy_name, fallback):
    return lambda x: getattr(scipy_special, scipy_name)(x) if scipy_special is not None else fallback(x)


_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _erfcx_np(x):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(x * x) * _erfc(x)


def _log_ndtr_np(x):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(_erfc(-x / math.sqrt(2)) / 2)


def _ndtri_np(p):
    return math.sqrt(2) * _erfinv_np(2 * np.asarray(p, dtype=np.float64) - 1)


erfcx = UnaryOp("SpecialErfcxBackward0", _forward("erfcx", _host("erfcx", _erfcx_np)),
                lambda m, g, x, out: g * (2 * x * out - 2 / math.sqrt(math.pi)), save="x,out", kind="erfcx",
                method=False, special="erfcx")
log_ndtr = UnaryOp("SpecialLogNdtrBackward0", _forward("log_ndtr", _host("log_ndtr", _log_ndtr_np)),
                   lambda m, g, x, out: g * m.exp(-(out + x * x / 2)) / _SQRT_2PI, save="x,out",
                   kind="log_ndtr", method=False, special="log_ndtr")
ndtri = UnaryOp("SpecialNdtriBackward0", _forward("ndtri", _host("ndtri", _ndtri_np)),
                lambda m, g, x, out: g * m.exp(out * out / 2) * _SQRT_2PI, save="out", kind="ndtri",
                method=False, special="ndtri")


# ---------------------------------------------------------------------------------------------
# binary
def _xlog1py_forward(xp, a, b):
    out = a * xp.log1p(b)
    return xp.where((a == 0) & ~xp.isnan(b), xp.zeros((), dtype=out.dtype), out)


def _xlog1py_grad_a(m, g, a, b, out):
    # log1p(other), also where input is 0 (unlike xlogy's gradient, PyTorch does not mask it)
    return g * (math.log1p(b) if isinstance(b, (int, float)) else m.log1p(b))


_xlog1py = _binary("SpecialXlog1PyBackward0", _xlog1py_forward, _xlog1py_grad_a,
                   lambda m, g, a, b, out: g * a / (b + 1), rname="SpecialXlog1PyBackward1",
                   tsname="SpecialXlog1PyBackward2", kind="xlog1py")


def xlog1py(input, other, *, out=None):
    """input * log1p(other), 0 where input is 0 (and other is not nan)."""
    return _xlog1py(input, other, out=out)


def _zeta_forward(xp, x, q):
    if xp is np:
        if scipy_special is not None:
            out = scipy_special.zeta(x, q)
        else:
            x, q = np.broadcast_arrays(x, q)
            out = np.vectorize(lambda s, v: float(_hurwitz_zeta_np(s, v)) if s > 1 else
                               (math.inf if s == 1 else math.nan), otypes=[np.float64])(x, q)
        return np.asarray(out).astype(np.result_type(x, q), copy=False)
    backend = backends.of_namespace(xp)  # computed on the host, put back on the device
    return xp.asarray(_zeta_forward(np, backend.to_numpy(x), backend.to_numpy(q)))


_zeta = _binary("SpecialZetaBackward0", _zeta_forward, None, None, save="", differentiable=False, kind="zeta")


def zeta(input, other, *, out=None):
    """The Hurwitz zeta function zeta(input, other) = sum_k (other + k) ** -input."""
    return _zeta(input, other, out=out)


register(xlog1py, method=False, special="xlog1py")
register(zeta, method=False, special="zeta")
