"""What the neural-network primitives share: the `Stash` a forward fills for its backward,
the tensor-mode test, and the create_graph VJP of a fused kernel through its composite twin."""

from .._core import TENSOR_MATH


class Stash:
    """A slot a forward fills with intermediate arrays its backward reuses."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = None

    def __repr__(self):
        return "<stash>"


def _tensor_mode(m):
    return m is TENSOR_MATH


def _engine():
    from gradview import engine
    return engine


def _wrap(array):
    from ...tensor import Tensor
    return Tensor._make(array)

def _composite_vjp(composite, saved, node, g):
    """create_graph VJP of a fused kernel: differentiate its composite twin, keeping the graph."""
    E = _engine()
    out = composite(*saved, params=node.params)
    wrt = [t for t, need in zip(saved, node.needs) if need]
    grads = iter(E.autograd.grad(out, wrt, g, create_graph=True, allow_unused=True))
    return tuple(next(grads) if need else None for need in node.needs)
