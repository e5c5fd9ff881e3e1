"""The op machinery: one `OpDef` per primitive (name, forward, VJP, what it saves) and `apply`,
the single place where ops run, graph nodes are made and the capture layer hears about them.

Forward functions take the backend array namespace `xp` and arrays. VJPs take a math namespace
`m` (arrays for a plain backward, differentiable tensor functions under `create_graph=True`), the
incoming gradient, the node (for `params`, `shapes`, `needs`) and the saved values; they return one
gradient per input. Broadcasting and dtype promotion are undone centrally (autograd._fit_grads).
"""
import numpy as np

from .. import _state
from .._dtype import from_numpy_dtype
from ..autograd import OpNode, Node, SavedValue


class OpDef:
    __slots__ = ("name", "forward", "vjp", "save_inputs", "save_output", "saves", "kind", "result_device")

    def __init__(self, name, forward, vjp=None, save_inputs=(), save_output=False, kind=None):
        self.name = name              # PyTorch's node name, e.g. "MulBackward0"
        self.forward = forward
        self.vjp = vjp                # None: not differentiable (comparisons, argmax, ...)
        self.save_inputs = tuple(save_inputs)
        self.save_output = save_output
        self.saves = bool(self.save_inputs) or save_output
        self.kind = kind or name      # a short op name for the capture layer ("mul", "matmul")
        self.result_device = None     # set for ops whose output lives elsewhere (device copies)

    def __repr__(self):
        return f"OpDef({self.name})"


def defop(name, save=(), save_output=False, kind=None):
    """Decorator: `@defop("ExpBackward0", save_output=True)` on the forward, `.defvjp` for the VJP."""
    def wrap(forward):
        return _OpBuilder(OpDef(name, forward, None, save, save_output, kind))
    return wrap


class _OpBuilder:
    def __init__(self, op):
        self.op = op

    def defvjp(self, vjp):
        self.op.vjp = vjp
        return self.op


def _check_devices(inputs):
    dev = inputs[0].device
    for t in inputs[1:]:
        if t.device is not dev and t.device != dev:
            # PyTorch lets a zero-dim cpu tensor join an op on another device, as it does a scalar
            if t.device.type == "cpu" and t._data.ndim == 0:
                continue
            if dev.type == "cpu" and inputs[0]._data.ndim == 0:
                dev = t.device
                continue
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two "
                               f"devices, {_dev_name(dev)} and {_dev_name(t.device)}!")
    return dev


def _dev_name(dev):
    return str(dev)


def apply(op, inputs, params=()):
    """Run `op` on the input tensors (all on one device) with extra non-tensor `params`."""
    from ..tensor import Tensor
    if len(inputs) == 1:
        dev = inputs[0].device
    else:
        dev = _check_devices(inputs)
    xp = np if dev.type == "cpu" else dev.backend.xp
    out = op.forward(xp, *[t._data for t in inputs], *params)
    if out.__class__ is not np.ndarray and isinstance(out, np.generic):
        out = np.asarray(out)  # NumPy hands back scalars for 0-d results
    result = Tensor.__new__(Tensor)
    result._data = out
    result.dtype = from_numpy_dtype(out.dtype)
    result.device = dev if op.result_device is None else op.result_device(params)
    result.grad = None
    result._version_box = [0]
    result._base = None
    result._view_fn = None
    result._accumulator = None
    result._extra = None
    if _state.grad_enabled and op.vjp is not None:
        for t in inputs:
            if t._rg:
                break
        else:
            result._rg = False
            result.grad_fn = None
            if _state.recorder is not None:
                _state.recorder(op, inputs, result, params)
            return result
        node = OpNode.__new__(OpNode)
        Node.__init__(node, tuple([t._edge() for t in inputs]))
        node.op = op
        node.params = params
        node.shapes = tuple([t._data.shape for t in inputs])
        node.dtypes = tuple([t._data.dtype for t in inputs])
        node.needs = tuple([t._rg for t in inputs])
        node._freed = False
        if op.saves:
            saved = [SavedValue(inputs[i]) for i in op.save_inputs]
            if op.save_output:
                saved.append(SavedValue(result, is_output=True))
            node.saved = saved
        else:
            node.saved = None
        result._rg = result.dtype.is_floating_point
        result.grad_fn = node if result._rg else None
    else:
        result._rg = False
        result.grad_fn = None
    if _state.recorder is not None:
        _state.recorder(op, inputs, result, params)
    return result


# ---------------------------------------------------------------------------------------------
# math namespaces for VJPs
class ArrayMath:
    """VJP math on raw backend arrays: the fast path of a plain backward()."""

    def __init__(self, xp):
        self.xp = xp

    def sum_to(self, g, shape):
        """Sum a broadcast gradient back down to `shape`."""
        xp = self.xp
        lead = g.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        if lead:
            g = g.reshape(shape)
        return xp.asarray(g)

    def astype(self, g, np_dtype):
        return g.astype(np_dtype)

    def __getattr__(self, name):
        return getattr(self.xp, name)

    # names the VJPs use that differ from plain NumPy
    def sum(self, g, axis=None, keepdims=False):
        return self.xp.sum(g, axis=axis, keepdims=keepdims)

    def expand_to(self, g, shape):
        return self.xp.broadcast_to(g, shape)

    def zeros(self, shape, like):
        return self.xp.zeros(shape, dtype=like.dtype)

    def scatter_into(self, shape, index, g, accumulate=True):
        """zeros(shape) with g added at index (the backward of indexing)."""
        out = self.xp.zeros(shape, dtype=g.dtype)
        if accumulate:
            self.xp.add.at(out, index, g)
        else:
            out[index] = g
        return out

    def index(self, g, index):
        return g[index]

    def index_put(self, g, index, value):
        out = g.copy()
        out[index] = value
        return out

    def as_mask(self, cond):
        return cond

    def matmul(self, a, b):
        return self.xp.matmul(a, b)

    def flip(self, g, axes):
        return self.xp.flip(g, axis=axes)

    def cumsum(self, g, axis):
        return self.xp.cumsum(g, axis=axis)

    def roll(self, g, shifts, axes):
        return self.xp.roll(g, shifts, axis=axes)

    def mT(self, a):
        return self.xp.swapaxes(a, -1, -2)


_array_math = {}


def array_math_for(array):
    xp = _xp_of(array)
    m = _array_math.get(id(xp))
    if m is None:
        m = _array_math[id(xp)] = ArrayMath(xp)
    return m


def _xp_of(array):
    if isinstance(array, np.ndarray):
        return np
    module = type(array).__module__.split(".")[0]
    if module == "cupy":
        import cupy
        return cupy
    from .. import backends
    for name in ("webgpu",):
        backend = backends._loaded.get(name)
        if backend is not None and isinstance(array, backend.ndarray):
            return backend.xp
    return np


class TensorMath:
    """VJP math on tensors, so a backward with create_graph=True is itself differentiable."""

    def sum_to(self, g, shape):
        return g.sum_to_size(shape)

    def astype(self, g, np_dtype):
        return g.to(from_numpy_dtype(np_dtype))

    def sum(self, g, axis=None, keepdims=False):
        if axis is None:
            out = g.sum()
            return out.reshape((1,) * g.dim()) if keepdims else out
        return g.sum(dim=axis, keepdim=keepdims)

    def expand_to(self, g, shape):
        return g.expand(shape)

    def broadcast_to(self, g, shape):
        return g.expand(shape)

    def reshape(self, g, shape):
        return g.reshape(shape)

    def zeros(self, shape, like):
        from ..creation import zeros
        return zeros(shape, dtype=like.dtype, device=like.device)

    def zeros_like(self, a):
        from ..creation import zeros_like
        return zeros_like(a)

    def ones_like(self, a):
        from ..creation import ones_like
        return ones_like(a)

    def scatter_into(self, shape, index, g, accumulate=True):
        from . import shape as shape_ops
        return shape_ops.scatter_into(shape, index, g)

    def index(self, g, index):
        return g[index]

    def index_put(self, g, index, value):
        from .indexing import index_put
        return index_put(g, index, value)

    def as_mask(self, cond):
        return cond.detach()

    def matmul(self, a, b):
        return a.matmul(b)

    def swapaxes(self, g, a, b):
        return g.transpose(a, b)

    def transpose(self, g, axes):
        return g.permute(axes)

    def expand_dims(self, g, axis):
        return g.unsqueeze(axis)

    def flip(self, g, axes):
        import engine
        return engine.flip(g, axes)

    def cumsum(self, g, axis):
        return g.cumsum(axis)

    def roll(self, g, shifts, axes):
        import engine
        return engine.roll(g, shifts, axes)

    def mT(self, a):
        return a.transpose(-1, -2)

    def __getattr__(self, name):
        import engine
        fn = getattr(engine, name, None)
        if fn is None:
            raise AttributeError(f"no differentiable '{name}' for create_graph backward")
        return fn


TENSOR_MATH = TensorMath()
