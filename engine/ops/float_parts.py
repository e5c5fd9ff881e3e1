"""frexp (mantissa and exponent of each float) and cumulative_trapezoid (the running trapezoid
rule, a composition of differentiable ops)."""
import numpy as np

from ._core import ArrayMath, OpDef, apply
from ._registry import binds
from ..tensor import Tensor


def _frexp_forward(xp, x, box):
    mantissa, exponent = xp.frexp(x)
    box.append(exponent)
    return mantissa


def _frexp_vjp(m, g, node):
    (box,) = node.params
    if isinstance(m, ArrayMath):
        return g * m.xp.exp2(-box[0].astype(g.dtype))
    # under create_graph: the scale as a constant tensor on g's device
    return g * Tensor._make(g._xp.exp2(-box[0].astype(g._data.dtype)), device=g.device)


_frexp = OpDef("FrexpBackward0", _frexp_forward, _frexp_vjp, kind="frexp")


@binds("frexp")
def frexp(input, *, out=None):
    """(mantissa, exponent) with input = mantissa * 2**exponent, |mantissa| in [0.5, 1); exponent int32.
    The mantissa's gradient is grad / 2**exponent."""
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    box = []
    mantissa = apply(_frexp, (input,), (box,))
    exponent = Tensor._make(box[0].astype(np.int32), device=input.device)
    return mantissa, exponent


@binds("cumulative_trapezoid", method=False)
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The cumulative integral of y by the trapezoid rule along dim (spacing x's differences, or dx)."""
    n = y.shape[dim]
    if n == 0:
        return y.narrow(dim, 0, 0)
    halves = (y.narrow(dim, 1, n - 1) + y.narrow(dim, 0, n - 1)) / 2
    if x is not None:
        if not hasattr(x, "shape"):
            raise TypeError("cumulative_trapezoid: x must be a Tensor")
        steps = x.diff(dim=dim if x.dim() > 1 else -1)
        if x.dim() == 1 and y.dim() > 1:
            shape = [1] * y.dim()
            shape[dim] = n - 1
            steps = steps.reshape(shape)
        halves = halves * steps
    else:
        halves = halves * (1.0 if dx is None else dx)
    return halves.cumsum(dim)
