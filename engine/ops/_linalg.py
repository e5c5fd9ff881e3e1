"""Helpers shared by the linear-algebra op files (contract, matrix, decompose, norms)."""
import numpy as np
from . import _registry
from ._core import apply, TENSOR_MATH
from ..tensor import Tensor


def _Tensor():
    return Tensor


def _call(m, op, inputs, params=()):
    """Run one of this module's ops inside a VJP: through apply under create_graph (so the gradient
    is differentiable again), straight on the arrays otherwise."""
    if m is TENSOR_MATH:
        return apply(op, tuple(inputs), tuple(params))
    return op.forward(m.xp, *inputs, *params)


def _const(m, like, array_fn):
    """A constant (eye, ones) for a VJP, as an array or as a tensor on `like`'s device."""
    if m is TENSOR_MATH:
        xp = like._xp
        return _Tensor()._make(array_fn(xp, like._data.dtype), device=like.device)
    return array_fn(m.xp, like.dtype)


def _eye(m, like, n, k=None):
    return _const(m, like, lambda xp, dt: xp.eye(n, n if k is None else k, dtype=dt))


class _TensorLinalg:
    """torch.linalg's functions, read from the registry when called (the ops declare them)."""

    def __getattr__(self, name):
        return _registry.LINALG[name]


_TENSOR_LINALG = _TensorLinalg()


def _linalg(m):
    """xp.linalg for arrays, torch.linalg's functions for tensors (same names and argument order)."""
    if m is TENSOR_MATH:
        return _TENSOR_LINALG
    return m.xp.linalg


def _unsq(m, x, axis):
    return m.expand_dims(x, axis)


def _linalg_error(fn):
    """NumPy's LinAlgError is a ValueError; PyTorch's is a RuntimeError."""
    def forward(xp, *args):
        try:
            return fn(xp, *args)
        except np.linalg.LinAlgError as e:
            raise RuntimeError(str(e)) from None
    return forward
