"""Elementwise unary math beyond the core ops (in elementwise.py): inverse hyperbolics, degrees and
radians, sgn, sinc, logit, nan_to_num, sign and infinity predicates."""
import math
from ._registry import binds, register
from .elementwise import UnaryOp


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
                  kind="deg2rad", torch="deg2rad", inplace=True)
rad2deg = UnaryOp("Rad2DegBackward0", lambda xp, x: x * (180 / math.pi), lambda m, g, x, out: g * (180 / math.pi),
                  kind="rad2deg", torch="rad2deg", inplace=True)
# sgn of a real number is its sign; its gradient is zero away from 0 (PyTorch's complex formula)
sgn = UnaryOp("SgnBackward0", lambda xp, x: xp.sign(x), lambda m, g, x, out: g * 0, floating=False, kind="sgn",
              torch="sgn", inplace=True)


def _sinc_grad(m, g, x, out):
    px = x * math.pi
    d = (m.cos(px) * px - m.sin(px)) / (px * x)
    return g * m.where(m.as_mask(x == 0), d * 0, d)


sinc = UnaryOp("SincBackward0", lambda xp, x: xp.sinc(x), _sinc_grad, save="x", kind="sinc",
               torch="sinc", inplace=True, special="sinc")


def _entr_forward(xp, x):
    safe = xp.where(x > 0, x, 1)
    return xp.where(x > 0, -x * xp.log(safe), xp.where(x == 0, 0.0, -xp.inf)).astype(x.dtype)


entr = UnaryOp("SpecialEntrBackward0", _entr_forward, lambda m, g, x, out: -g * (m.log(x) + 1), save="x",
               kind="entr", method=False, special="entr")


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


@binds("logit", inplace=True, special="logit")
def logit(input, eps=None, *, out=None):
    return _logit(input, eps, out=out)


def _nan_to_num_forward(xp, x, nan, posinf, neginf):
    if x.dtype.kind != "f":
        return x.copy()
    return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


_nan_to_num = UnaryOp("NanToNumBackward0", _nan_to_num_forward,
                      lambda m, g, x, out, *args: g * m.as_mask(m.isfinite(x)), save="x", floating=False,
                      kind="nan_to_num")


@binds("nan_to_num", inplace=True)
def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    return _nan_to_num(input, nan, posinf, neginf, out=out)


def _predicate(name, fn):
    return UnaryOp(name, fn, None, floating=False, kind=name)


signbit = register(_predicate("signbit", lambda xp, x: xp.signbit(x)), torch="signbit")
isneginf = register(_predicate("isneginf", lambda xp, x: xp.isneginf(x)), torch="isneginf")
isposinf = register(_predicate("isposinf", lambda xp, x: xp.isposinf(x)), torch="isposinf")
isreal = register(_predicate("isreal", lambda xp, x: xp.ones(x.shape, dtype=bool)), torch="isreal")  # real dtypes only
