"""The regularized incomplete gamma functions: igamma (torch.special.gammainc, the lower one P(a, x))
and igammac (gammaincc, the upper one Q(a, x)). SciPy on NumPy, through the host for other
backends. As in PyTorch, only the second argument has a gradient: +-x^(a-1) e^-x / Gamma(a)."""
import math

import numpy as np

from .. import backends
from ._registry import register
from .binary import _binary
from .elementwise import scipy_special
from .special import _on, lgamma


def _forward(name):
    def forward(xp, a, x):
        if xp is not np:
            backend = backends.of_namespace(xp)
            return xp.asarray(forward(np, backend.to_numpy(a), backend.to_numpy(x)))
        if scipy_special is None:
            raise RuntimeError(f"torch.{name} needs SciPy in this build")
        return np.asarray(getattr(scipy_special, "gammainc" if name == "igamma" else "gammaincc")(a, x)) \
            .astype(np.result_type(a, x), copy=False)
    return forward


def _no_input_grad(name):
    def grad(m, g, a, x, out):
        raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
    return grad


def _density(m, a, x):
    """x^(a-1) e^-x / Gamma(a), the derivative of P(a, x) in x."""
    lg = math.lgamma(a) if isinstance(a, (int, float)) else _on(m, lgamma, a)
    return m.exp((a - 1) * m.log(x) - x - lg)


def _declare(name, sign, special):
    op = _binary(f"{name.capitalize()}Backward0", _forward(name), _no_input_grad(name),
                 lambda m, g, a, x, out: g * sign * _density(m, a, x), rname=f"{name.capitalize()}Backward1",
                 tsname=f"{name.capitalize()}Backward2", kind=name)

    def fn(input, other, *, out=None):
        return op(input, other, out=out)
    fn.__name__ = fn.__qualname__ = name
    return register(fn, torch=name, inplace=True, special=special)


igamma = _declare("igamma", 1, "gammainc")
igammac = _declare("igammac", -1, "gammaincc")
