"""Bessel-family special functions: bessel_j0/j1/y0/y1, modified_bessel_i0/i1/k0/k1,
scaled_modified_bessel_k0/k1, spherical_bessel_j0, airy_ai (no gradient in PyTorch either), and the
differentiable exponentially scaled i0e, i1, i1e. SciPy on NumPy (NumPy series where SciPy is
absent and a short one exists), else the backend's own (engine/backends `special`)."""
import numpy as np

from .. import backends
from .elementwise import UnaryOp, scipy_special
from .special import _i1_np, _on, i0 as _i0


def _needs_scipy(name):
    def fallback(x):
        raise RuntimeError(f"torch.special.{name} needs SciPy in this build")
    return fallback


def _host(scipy_fn, fallback):
    """values -> values on NumPy: SciPy's function, else the fallback."""
    def run(x):
        return scipy_fn(x) if scipy_special is not None else fallback(x)
    return run


def _forward(name, host):
    def forward(xp, x):
        if xp is np:
            return np.asarray(host(x)).astype(x.dtype, copy=False)
        return backends.of_namespace(xp).special(name, x, lambda v: forward(np, v))
    return forward


def _sc(name):
    return lambda x: getattr(scipy_special, name)(x)


def _spherical_j0_np(x):
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 1.0, np.sin(safe) / safe)


def _i1e_np(x):
    return _i1_np(x) * np.exp(-np.abs(x))


def _plain(op_name, scipy_name, special_name, fallback=None):
    host = _host(_sc(scipy_name), fallback or _needs_scipy(special_name))
    return UnaryOp(op_name, _forward(scipy_name, host), None, kind=special_name, method=False,
                   special=special_name)


bessel_j0 = _plain("SpecialBesselJ0Backward0", "j0", "bessel_j0")
bessel_j1 = _plain("SpecialBesselJ1Backward0", "j1", "bessel_j1")
bessel_y0 = _plain("SpecialBesselY0Backward0", "y0", "bessel_y0")
bessel_y1 = _plain("SpecialBesselY1Backward0", "y1", "bessel_y1")
modified_bessel_i0 = _plain("SpecialModifiedBesselI0Backward0", "i0", "modified_bessel_i0", np.i0)
modified_bessel_i1 = _plain("SpecialModifiedBesselI1Backward0", "i1", "modified_bessel_i1", _i1_np)
modified_bessel_k0 = _plain("SpecialModifiedBesselK0Backward0", "k0", "modified_bessel_k0")
modified_bessel_k1 = _plain("SpecialModifiedBesselK1Backward0", "k1", "modified_bessel_k1")
scaled_modified_bessel_k0 = _plain("SpecialScaledModifiedBesselK0Backward0", "k0e", "scaled_modified_bessel_k0")
scaled_modified_bessel_k1 = _plain("SpecialScaledModifiedBesselK1Backward0", "k1e", "scaled_modified_bessel_k1")
spherical_bessel_j0 = UnaryOp(
    "SpecialSphericalBesselJ0Backward0",
    _forward("spherical_j0", _host(lambda x: scipy_special.spherical_jn(0, x), _spherical_j0_np)), None,
    kind="spherical_bessel_j0", method=False, special="spherical_bessel_j0")
airy_ai = UnaryOp("SpecialAiryAiBackward0",
                  _forward("airy_ai", _host(lambda x: scipy_special.airy(x)[0], _needs_scipy("airy_ai"))), None,
                  kind="airy_ai", method=False, special="airy_ai")


# ---------------------------------------------------------------------------------------------
# differentiable: d/dx i0e = i1e - sign(x) i0e; d/dx i1 = i0 - i1 / x; d/dx i1e = i0e - i1e (sign(x) + 1/x)
def _i0e_np(x):
    return np.i0(x) * np.exp(-np.abs(x))


def _at_zero_half(m, x, d):
    """d, with 1/2 where x is 0 (the limit of i1(x) / x)."""
    zero = m.as_mask(x == 0)
    return m.where(zero, m.where(zero, d * 0, d) + 0.5, d)


def _i1e_grad(m, g, x, out):
    safe = m.where(m.as_mask(x == 0), x * 0 + 1, x)
    return g * _at_zero_half(m, x, _on(m, i0e, x) - out * (m.sign(x) + 1 / safe))


def _i1_grad(m, g, x, out):
    safe = m.where(m.as_mask(x == 0), x * 0 + 1, x)
    return g * _at_zero_half(m, x, _on(m, _i0, x) - out / safe)


i1e = UnaryOp("SpecialI1EBackward0", _forward("i1e", _host(_sc("i1e"), _i1e_np)), _i1e_grad, save="x,out",
              kind="i1e", method=False, special="i1e")
i0e = UnaryOp("SpecialI0EBackward0", _forward("i0e", _host(_sc("i0e"), _i0e_np)),
              lambda m, g, x, out: g * (_on(m, i1e, x) - m.sign(x) * out), save="x,out", kind="i0e",
              method=False, special="i0e")
i1 = UnaryOp("SpecialI1Backward0", _forward("i1", _host(_sc("i1"), _i1_np)), _i1_grad, save="x,out", kind="i1",
             method=False, special="i1")
