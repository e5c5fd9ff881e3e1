"""The op machinery: one `OpDef` per primitive (name, forward, VJP, what it saves) and `apply`,
the single place where ops run, graph nodes are made and the capture layer hears about them.

Forward functions take the backend array namespace `xp` and arrays. VJPs take a math namespace
`m` (arrays for a plain backward, differentiable tensor functions under `create_graph=True`), the
incoming gradient, the node (for `params`, `shapes`, `needs`) and the saved values; they return one
gradient per input. Broadcasting and dtype promotion are undone centrally (_fit_grads).
"""
from time import perf_counter as _clock

import numpy as np

from .. import _state
from .._device import CPU
from .._dtype import as_dtype, _BY_NUMPY
from ._registry import register
from ..creation import zeros, zeros_like, ones_like
from ..autograd import Node, _FREED_MESSAGE, _version_error, _make_tensor


class OpDef:
    __slots__ = ("name", "forward", "vjp", "save_inputs", "save_output", "saves", "kind", "result_device",
                 "elementwise", "shown_edges", "save_for")

    def __init__(self, name, forward, vjp=None, save_inputs=(), save_output=False, kind=None, *,
                 elementwise=False, shown_edges=None, save_for=None, result_device=None):
        self.name = name              # PyTorch's node name, e.g. "MulBackward0"
        self.forward = forward
        self.vjp = vjp                # None: not differentiable (comparisons, argmax, ...)
        self.save_inputs = tuple(save_inputs)
        self.save_output = save_output
        self.saves = bool(self.save_inputs) or save_output
        self.kind = kind or name      # a short op name for the capture layer ("mul", "matmul")
        self.result_device = result_device  # params -> device, for ops whose output lives elsewhere (copies)
        self.elementwise = elementwise      # True: input shapes matter only for undoing broadcasting
        # how next_functions presents the input nodes, where PyTorch's edges differ from the inputs
        # (a Python scalar operand shows as a None edge; a where() condition or an index as none)
        self.shown_edges = shown_edges
        # for each saved input, the inputs whose gradients read it: it is kept only when one of
        # them requires grad, as PyTorch does (None: always kept)
        self.save_for = save_for

    def __repr__(self):
        return f"OpDef({self.name})"


def renamed(op, name, forward=None):
    """The same op under another of PyTorch's node names (unsafe_split's UnsafeSplitBackward0, ...)."""
    return OpDef(name, forward or op.forward, op.vjp, op.save_inputs, op.save_output, op.kind,
                 elementwise=op.elementwise, shown_edges=op.shown_edges, save_for=op.save_for)


# ---------------------------------------------------------------------------------------------
# the graph node of one op's run
class OpNode(Node):
    """The backward of one primitive op (see engine/ops/_core.py); its name is PyTorch's.

    `saved` holds the saved input tensors (in `op.save_inputs` order), then the output's array
    when `op.save_output`; `versions` their version counts at save time; `out_box` the output's
    version counter. The output itself is not kept: that would be a reference cycle.
    """

    __slots__ = ("op", "params", "shapes", "dtypes", "saved", "versions", "out_box", "_freed")

    def name(self):
        return self.op.name

    @property
    def next_functions(self):
        shown = self.op.shown_edges
        nodes = self._next if shown is None else shown(self._next)
        return tuple((n, 0) for n in nodes)

    @property
    def needs(self):
        return tuple(n is not None for n in self._next)

    def _unpack(self, create_graph):
        saved = self.saved
        if saved is None:
            raise RuntimeError(_FREED_MESSAGE)
        values = []
        versions = self.versions
        n_inputs = len(self.op.save_inputs)
        for i in range(n_inputs):
            t = saved[i]
            if t is None:  # not kept: no gradient that reads it is taken
                values.append(None)
                continue
            current = t._version_box[0]
            if current != versions[i]:
                raise _version_error(t._data, current, versions[i], t.grad_fn)
            values.append(t if create_graph else t._data)
        if self.op.save_output:
            array = saved[n_inputs]
            current = self.out_box[0]
            if current != versions[n_inputs]:
                raise _version_error(array, current, versions[n_inputs], self)
            values.append(_make_tensor(array, self) if create_graph else array)
        return values

    def _apply(self, grad, create_graph):
        op = self.op
        # ops that saved nothing can run again after release, as in PyTorch
        saved = self._unpack(create_graph) if op.saves else ()
        if create_graph:
            math = TENSOR_MATH
        elif grad.__class__ is np.ndarray:
            math = _numpy_math()
        elif isinstance(grad, np.generic):
            # NumPy hands back scalars from ufuncs on 0-d arrays; VJPs that write need an array
            grad = np.asarray(grad)
            math = _numpy_math()
        else:
            math = array_math_for(grad)
        grads = op.vjp(math, grad, self, *saved)
        if type(grads) is not tuple:
            grads = (grads,)
        return _fit_grads(math, grads, self.shapes, self.dtypes, grad.dtype)

    def release(self):
        if self.op.saves:
            self.saved = None
        self._freed = True


def _fit_grads(math, grads, shapes, dtypes, grad_dtype):
    """Undo broadcasting and type promotion once, centrally, for every op. Where the inputs share
    the output's dtype (`dtypes` None) a gradient still comes back in the incoming gradient's dtype,
    whatever constants a VJP's arithmetic promoted it to."""
    if shapes is None and dtypes is None:
        for g in grads:
            if g is not None and g.dtype != grad_dtype:
                break
        else:
            return grads
    fitted = []
    for i, g in enumerate(grads):
        if g is not None:
            if shapes is not None and g.shape != shapes[i]:
                g = math.sum_to(g, shapes[i])
            want = dtypes[i] if dtypes is not None else grad_dtype
            if g.dtype != want:
                g = math.astype(g, want)
        fitted.append(g)
    return fitted


_math_cache = {}


def _numpy_math():
    m = _math_cache.get("numpy")
    if m is None:
        m = _math_cache["numpy"] = array_math_for(np.zeros(0))
    return m



def _check_devices(inputs):
    """The device an op on `inputs` runs on. PyTorch lets a zero-dim cpu tensor join an op on
    another device, as a scalar would: then (device, inputs with those tensors copied there)."""
    dev = inputs[0].device
    scalars = False
    for t in inputs[1:]:
        if t.device is not dev and t.device != dev:
            if t.device.type == "cpu" and t._data.ndim == 0:
                scalars = True
                continue
            if dev.type == "cpu" and inputs[0]._data.ndim == 0:
                dev = t.device
                scalars = True
                continue
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two "
                               f"devices, {_dev_name(dev)} and {_dev_name(t.device)}!")
    if scalars:  # a differentiable copy, so a cpu scalar's gradient comes back to the cpu
        return dev, tuple(t if t.device == dev else t.to(dev) for t in inputs)
    return dev


def _dev_name(dev):
    return str(dev)


def broadcast_error(shapes):
    """PyTorch's error for shapes that do not broadcast (None when they do). Shapes are combined
    left to right; each pair is compared from the last dimension, as torch's infer_size does."""
    acc = tuple(shapes[0]) if shapes else ()
    for shape in shapes[1:]:
        shape = tuple(shape)
        ndim = max(len(acc), len(shape))
        merged = [0] * ndim
        for i in range(ndim - 1, -1, -1):
            offset = ndim - 1 - i
            size_a = acc[len(acc) - 1 - offset] if len(acc) - 1 - offset >= 0 else 1
            size_b = shape[len(shape) - 1 - offset] if len(shape) - 1 - offset >= 0 else 1
            if size_a != size_b and size_a != 1 and size_b != 1:
                return RuntimeError(f"The size of tensor a ({size_a}) must match the size of tensor b ({size_b}) "
                                    f"at non-singleton dimension {i}")
            merged[i] = size_b if size_a == 1 else size_a
        acc = tuple(merged)
    return None


def apply(op, inputs, params=()):
    """Run `op` on the input tensors (all on one device) with extra non-tensor `params`.

    This is the hot path of the engine: it is written to allocate as little as possible.
    """
    first = inputs[0]
    n = len(inputs)
    if n == 1:
        dev = first.device
    else:
        dev = _check_devices(inputs)
        if dev.__class__ is tuple:
            dev, inputs = dev
            first = inputs[0]
    xp = np if dev is CPU else dev.backend.xp
    if _state.recorder is not None:
        _state.op_started = _clock()
    try:
        if n == 1:
            out = op.forward(xp, first._data, *params)
        elif n == 2:
            out = op.forward(xp, first._data, inputs[1]._data, *params)
        else:
            out = op.forward(xp, *[t._data for t in inputs], *params)
    except ValueError:
        # NumPy's broadcasting error, reworded as PyTorch's (a RuntimeError naming both sizes)
        error = broadcast_error([t._data.shape for t in inputs]) if n > 1 else None
        if error is None:
            raise
        raise error from None
    if out.__class__ is not np.ndarray and isinstance(out, np.generic):
        out = np.asarray(out)  # NumPy hands back scalars for 0-d results
    result = _new_tensor(Tensor)
    out_np_dtype = out.dtype
    result._init_from(out, first.dtype if out_np_dtype is first._data.dtype else _BY_NUMPY[out_np_dtype],
                      dev if op.result_device is None else op.result_device(params))
    if _state.grad_enabled and op.vjp is not None and result.dtype.is_floating_point:
        if n == 1:
            needed = first._rg
        elif n == 2:
            needed = first._rg or inputs[1]._rg
        else:
            needed = any([t._rg for t in inputs])
        if not needed:
            needed = _views_joined_graph(inputs)
        if needed:
            _attach_node(op, inputs, params, result, out_np_dtype)
    if _state.recorder is not None:
        _state.recorder(op, inputs, result, params)
    return result


def _views_joined_graph(inputs):
    """Whether an input is a view whose base joined the graph after the view was made (an in-place
    write of a value that requires grad): the view takes its node from the base, as in PyTorch."""
    joined = False
    for t in inputs:
        base = t._base
        if base is not None and base._rg:
            t._sync_view()
            joined = joined or t._rg
    return joined


def _attach_node(op, inputs, params, result, out_np_dtype):
    node = _new_node(OpNode)
    node._next = tuple([t._edge() for t in inputs])
    node._hooks = None
    node.op = op
    node.params = params
    out_shape = result._data.shape
    if op.elementwise and all([t._data.shape == out_shape for t in inputs]):
        node.shapes = None  # nothing was broadcast: no gradient needs summing back
    else:
        node.shapes = tuple([t._data.shape for t in inputs])
    # dtypes only when some input differs from the output (type promotion to undo in backward)
    dtypes = None
    for t in inputs:
        if t._data.dtype is not out_np_dtype:
            dtypes = tuple([t._data.dtype for t in inputs])
            break
    node.dtypes = dtypes
    node._freed = False
    if op.saves:
        save_for = op.save_for
        if save_for is None:
            saved = [inputs[i] for i in op.save_inputs]
            versions = [t._version_box[0] for t in saved]
        else:
            saved = []
            versions = []
            for i, users in zip(op.save_inputs, save_for):
                for j in users:
                    if inputs[j]._rg:
                        t = inputs[i]
                        saved.append(t)
                        versions.append(t._version_box[0])
                        break
                else:
                    saved.append(None)
                    versions.append(0)
        if op.save_output:
            saved.append(result._data)
            versions.append(0)
            node.out_box = result._version_box
        node.saved = saved
        node.versions = versions
    else:
        node.saved = None
    result.grad_fn = node
    result._rg = True


def sync_view(self):
    """A view whose base was changed in place after the view's node was made (through the base
    or another view) takes its gradient from the base's current node, as PyTorch's views do:
    the view ops are replayed on the base to make its new node."""
    extra = self._extra
    version = self._version_box[0]
    if extra is None or extra.get("view_version", version) == version or not _state.grad_enabled:
        return
    extra["view_version"] = version
    base = self._base
    if not base._rg:
        return
    recorder, _state.recorder = _state.recorder, None  # bookkeeping, not a user op
    try:
        t = base
        for op, params in extra["view_ops"]:
            t = apply(op, (t,), params)
    finally:
        _state.recorder = recorder
    self.grad_fn = t.grad_fn
    self._rg = t._rg


register(sync_view, method="_sync_view")


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


_array_maths = {}


def array_math_for(array):
    xp = _xp_of(array)
    m = _array_maths.get(id(xp))
    if m is None:
        m = _array_maths[id(xp)] = ArrayMath(xp)
    return m


def is_raw_array(value):
    """A backend array (NumPy, CuPy, WebGPU), as opposed to a Tensor or a Python value."""
    return isinstance(value, np.ndarray) or (hasattr(value, "shape") and hasattr(value, "dtype")
                                             and not hasattr(value, "grad_fn") and not isinstance(value, np.generic))


def _xp_of(array):
    """The array namespace of a backend array: NumPy's, or that of the loaded backend owning it."""
    if isinstance(array, np.ndarray):
        return np
    from .. import backends  # only for arrays of a loaded backend; backends import the engine
    backend = backends.owner_of(array)
    return np if backend is None else backend.xp


class TensorMath:
    """VJP math on tensors, so a backward with create_graph=True is itself differentiable."""

    def sum_to(self, g, shape):
        return g.sum_to_size(shape)

    def astype(self, g, dtype):
        return g.to(as_dtype(dtype))

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
        return zeros(shape, dtype=like.dtype, device=like.device)

    def zeros_like(self, a):
        return zeros_like(a)

    def ones_like(self, a):
        return ones_like(a)

    def scatter_into(self, shape, index, g, accumulate=True):
        from . import shape as shape_ops  # the op modules are built on this one
        return shape_ops.scatter_into(shape, index, g)

    def index(self, g, index):
        return g[index]

    def index_put(self, g, index, value):
        from .indexing import index_put  # the op modules are built on this one
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
        from gradview import engine  # the torch namespace, complete only once every op module has loaded
        return engine.flip(g, axes)

    def cumsum(self, g, axis):
        return g.cumsum(axis)

    def roll(self, g, shifts, axes):
        from gradview import engine  # the torch namespace, complete only once every op module has loaded
        return engine.roll(g, shifts, axes)

    def mT(self, a):
        return a.transpose(-1, -2)

    def __getattr__(self, name):
        from gradview import engine  # the torch namespace, complete only once every op module has loaded
        fn = getattr(engine, name, None)
        if fn is None:
            raise AttributeError(f"no differentiable '{name}' for create_graph backward")
        return fn


TENSOR_MATH = TensorMath()


from ..tensor import Tensor  # noqa: E402  (tensor.py imports this module's users lazily)

_new_tensor = object.__new__
_new_node = object.__new__
