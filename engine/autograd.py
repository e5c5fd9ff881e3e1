"""Define-by-run autograd: graph nodes, grad mode, the iterative backward pass, `grad()`,
tensor hooks and user-defined `Function`s.

A node is created by each differentiable op and points at the nodes of its inputs through
`next_functions` (PyTorch's edges). Every node has exactly one output tensor. Leaves that require
grad get one `AccumulateGrad` node each. Backward walks the graph with an explicit work list, so a
chain of 100,000 ops needs no recursion.
"""
import functools
import itertools
import weakref

from . import _state

_sequence = itertools.count()


# ---------------------------------------------------------------------------------------------
# grad mode
class _GradModeContext:
    """Base for no_grad / enable_grad / set_grad_enabled: a context manager and a decorator."""

    _mode = True

    def __enter__(self):
        self._prev = _state.grad_enabled
        _state.grad_enabled = self._mode

    def __exit__(self, *exc):
        _state.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = _state.grad_enabled
            _state.grad_enabled = self._mode
            try:
                return fn(*args, **kwargs)
            finally:
                _state.grad_enabled = prev
        return wrapper


class no_grad(_GradModeContext):
    _mode = False


class enable_grad(_GradModeContext):
    _mode = True


class inference_mode(_GradModeContext):
    def __init__(self, mode=True):
        self._mode = not mode


class set_grad_enabled(_GradModeContext):
    """Like PyTorch: takes effect at once when called, and restores on exit when used with `with`."""

    def __init__(self, mode):
        self._prev = _state.grad_enabled
        self._mode = bool(mode)
        _state.grad_enabled = self._mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _state.grad_enabled = self._prev
        return False


def is_grad_enabled():
    return _state.grad_enabled


# ---------------------------------------------------------------------------------------------
# nodes
class Node:
    """A backward function in the graph. Subclasses implement `_apply(grad, create_graph)`
    returning one gradient per edge in `next_functions` (None where no gradient flows)."""

    __slots__ = ("next_functions", "_pre_hooks", "_post_hooks", "metadata", "_seq", "__weakref__")

    def __init__(self, next_functions):
        self.next_functions = next_functions
        self._pre_hooks = None
        self._post_hooks = None
        self.metadata = None
        self._seq = next(_sequence)

    def name(self):
        return type(self).__name__

    def register_prehook(self, fn):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        key = next(_sequence)
        self._pre_hooks[key] = fn
        return _RemovableHandle(self._pre_hooks, key)

    def register_hook(self, fn):
        if self._post_hooks is None:
            self._post_hooks = {}
        key = next(_sequence)
        self._post_hooks[key] = fn
        return _RemovableHandle(self._post_hooks, key)

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    def __call__(self, *grads):
        from .tensor import Tensor
        result = self._apply(grads[0]._data if isinstance(grads[0], Tensor) else grads[0], False)
        return tuple(None if g is None else _wrap(g) for g in result)


class _RemovableHandle:
    def __init__(self, table, key):
        self._table, self._key = table, key

    def remove(self):
        self._table.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class AccumulateGrad(Node):
    """The sink for a leaf tensor: adds incoming gradients into `.grad`."""

    __slots__ = ("_variable",)

    def __init__(self, variable):
        Node.__init__(self, ())
        self._variable = weakref.ref(variable)

    @property
    def variable(self):
        return self._variable()

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"


class SavedValue:
    """A tensor saved for backward, with the version it had so later in-place changes are caught."""

    __slots__ = ("tensor", "array", "version", "is_output")

    def __init__(self, tensor, is_output=False):
        self.tensor = None if is_output else tensor  # an output keeps no tensor: that would be a cycle
        self.array = tensor._data
        self.is_output = is_output
        self.version = (tensor._version_box, tensor._version_box[0])


def _version_error(saved, node, position):
    box, expected = saved.version
    t = saved.tensor
    shape = list(saved.array.shape)
    from ._dtype import from_numpy_dtype
    type_name = _legacy_type_name(from_numpy_dtype(saved.array.dtype))
    if saved.is_output:
        where = f", which is output 0 of {node.name()},"
    elif t is not None and t.grad_fn is not None:
        where = f", which is output 0 of {t.grad_fn.name()},"
    else:
        where = ""
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{type_name} {shape}]{where} is at version {box[0]}; expected version "
        f"{expected} instead. Hint: enable anomaly detection to find the operation that failed to "
        "compute its gradient, with torch.autograd.set_detect_anomaly(True).")


def _legacy_type_name(dtype):
    names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
             "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
    return f"torch.{names.get(dtype.name, dtype.name)}Tensor"


_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.")


class OpNode(Node):
    """The backward of one primitive op (see engine/ops/_core.py); its name is PyTorch's."""

    __slots__ = ("op", "saved", "params", "shapes", "dtypes", "needs", "_freed")

    def name(self):
        return self.op.name

    def _unpack(self, create_graph):
        saved = self.saved
        if saved is None:
            raise RuntimeError(_FREED_MESSAGE)
        values = []
        for i, s in enumerate(saved):
            box, expected = s.version
            if box[0] != expected:
                raise _version_error(s, self, i)
            if not create_graph:
                values.append(s.array)
            elif s.is_output:
                values.append(_make_tensor(s.array, self))
            else:
                values.append(s.tensor)
        return values

    def _apply(self, grad, create_graph):
        op = self.op
        # ops that saved nothing can run again after release, as in PyTorch
        saved = self._unpack(create_graph) if op.saves else ()
        math = _math(create_graph, grad)
        grads = op.vjp(math, grad, self, *saved)
        if type(grads) is not tuple:
            grads = (grads,)
        return _fit_grads(math, grads, self.shapes, self.dtypes)

    def release(self):
        if self.op.saves:
            self.saved = None
        self._freed = True

    def __getattr__(self, name):
        # PyTorch exposes saved tensors as `_saved_self`, `_saved_other`, `_saved_result`
        if name.startswith("_saved_"):
            raise AttributeError(name)
        raise AttributeError(f"'{self.op.name}' object has no attribute '{name}'")


def _fit_grads(math, grads, shapes, dtypes):
    """Undo broadcasting and type promotion once, centrally, for every op."""
    fitted = []
    for g, shape, dt in zip(grads, shapes, dtypes):
        if g is not None:
            if g.shape != shape:
                g = math.sum_to(g, shape)
            if g.dtype != dt:
                g = math.astype(g, dt)
        fitted.append(g)
    return fitted


def _math(create_graph, grad):
    from .ops import _core
    if create_graph:
        return _core.TENSOR_MATH
    return _core.array_math_for(grad)


def _make_tensor(array, grad_fn=None, requires_grad=None):
    from .tensor import Tensor
    return Tensor._make(array, grad_fn=grad_fn, requires_grad=grad_fn is not None if requires_grad is None
                        else requires_grad)


def _wrap(value):
    from .tensor import Tensor
    if isinstance(value, Tensor):
        return value
    return Tensor._make(value)


# ---------------------------------------------------------------------------------------------
# the backward pass
def _graph_order(roots):
    """Count, for every node reachable from the roots, how many edges lead into it."""
    dependencies = {}
    stack = list(roots)
    seen = set(id(n) for n in roots)
    while stack:
        node = stack.pop()
        for child, _ in node.next_functions:
            if child is None:
                continue
            dependencies[child] = dependencies.get(child, 0) + 1
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return dependencies


def run_backward(roots, root_grads, retain_graph, create_graph, capture=None):
    """Propagate `root_grads` from the `roots` nodes to the leaves.

    With `capture` (a dict node -> None), gradients arriving at those nodes are recorded there and
    no `.grad` is touched: that is `autograd.grad`. Otherwise leaves accumulate into `.grad`.
    """
    dependencies = _graph_order(roots)
    buffers = {}
    for node, g in zip(roots, root_grads):
        buffers[node] = _add(buffers.get(node), g)
    ready = [n for n in dict.fromkeys(roots) if dependencies.get(n, 0) == 0]
    prev_mode = _state.grad_enabled
    _state.grad_enabled = create_graph
    executed = []
    try:
        while ready:
            node = ready.pop()
            grad = buffers.pop(node)
            if node._pre_hooks:
                grad = _run_pre_hooks(node, grad, create_graph)
            if capture is not None and node in capture:
                capture[node] = grad
            if type(node) is AccumulateGrad:
                if capture is None:
                    _accumulate(node, grad, create_graph)
                continue
            if capture is not None and not _leads_to(node, capture):
                continue
            input_grads = node._apply(grad, create_graph)
            executed.append(node)
            if node._post_hooks:
                for hook in list(node._post_hooks.values()):
                    hook(tuple(_wrap(g) if g is not None else None for g in input_grads), (_wrap(grad),))
            for (child, _), g in zip(node.next_functions, input_grads):
                if child is None:
                    continue
                if g is not None:
                    buffers[child] = _add(buffers.get(child), g)
                remaining = dependencies[child] - 1
                dependencies[child] = remaining
                if remaining == 0:
                    if child in buffers:
                        ready.append(child)
                    else:  # nothing flowed here: its subgraph gets no gradient from this path
                        _skip(child, dependencies, buffers, ready)
    finally:
        _state.grad_enabled = prev_mode
        if not retain_graph:
            for node in executed:
                node.release()


def _skip(node, dependencies, buffers, ready):
    """A node that received no gradient at all still has to release its children's counts."""
    stack = [node]
    while stack:
        n = stack.pop()
        for child, _ in n.next_functions:
            if child is None:
                continue
            dependencies[child] -= 1
            if dependencies[child] == 0:
                if child in buffers:
                    ready.append(child)
                else:
                    stack.append(child)


def _leads_to(node, capture):
    # autograd.grad only needs the part of the graph above the requested inputs; walking it all
    # is correct too, so this stays a cheap yes.
    return True


def _add(acc, g):
    if acc is None:
        return g
    return acc + g


def _run_pre_hooks(node, grad, create_graph):
    from .tensor import Tensor
    for hook in list(node._pre_hooks.values()):
        arg = grad if isinstance(grad, Tensor) else Tensor._make(grad)
        result = hook(arg)
        if result is not None:
            if isinstance(result, tuple):  # Node.register_prehook style
                result = result[0]
            grad = result if create_graph else result._data
    return grad


def _accumulate(node, grad, create_graph):
    variable = node.variable
    if variable is None:
        return
    from .tensor import Tensor
    if create_graph:
        new = grad if isinstance(grad, Tensor) else Tensor._make(grad)
        variable.grad = new if variable.grad is None else variable.grad + new
        return
    if isinstance(grad, Tensor):
        grad = grad._data
    if variable.grad is None:
        # a copy: the same array may flow to several leaves (x + y passes one gradient to both)
        variable.grad = Tensor._make(grad.copy())
    elif variable.grad.requires_grad:
        variable.grad = variable.grad + Tensor._make(grad)
    else:
        existing = variable.grad._data
        if existing.shape == grad.shape:
            existing += grad
        else:
            variable.grad = Tensor._make(existing + grad)


# ---------------------------------------------------------------------------------------------
# public entry points
def _as_tuple(x):
    from .tensor import Tensor
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _root_grads(outputs, grad_outputs, create_graph):
    from .tensor import Tensor
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None and i < len(grad_outputs) else None
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not out.dtype.is_floating_point:
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got "
                                   f"{out.dtype}")
            xp = out._xp
            g = xp.ones(out.shape, dtype=out._data.dtype)
            grads.append(Tensor._make(g) if create_graph else g)
        else:
            if not isinstance(g, Tensor):
                from .creation import tensor as _tensor
                g = _tensor(g, dtype=out.dtype)
            if tuple(g.shape) != tuple(out.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                                   f"has a shape of {out.shape}.")
            grads.append(g if create_graph else g._data)
    return grads


def _root_nodes(outputs):
    nodes = []
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        nodes.append(out.grad_fn if out.grad_fn is not None else out._grad_accumulator())
    return nodes


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    outputs = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors) if grad_tensors is not None else None
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_nodes(outputs)
    grads = _root_grads(outputs, grad_tensors, create_graph)
    if inputs is not None:
        inputs = _as_tuple(inputs)
        capture = {_input_node(t): None for t in inputs}
        run_backward(roots, grads, retain_graph, create_graph, capture)
        for t in inputs:
            g = capture[_input_node(t)]
            if g is not None:
                t._accumulate_grad(g, create_graph)
        return
    run_backward(roots, grads, retain_graph, create_graph)


def _input_node(t):
    if t.grad_fn is not None:
        return t.grad_fn
    if not t.requires_grad:
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    return t._grad_accumulator()


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """Gradients of `outputs` with respect to `inputs`, without touching any `.grad`."""
    from .tensor import Tensor
    outputs = _as_tuple(outputs)
    single = isinstance(inputs, Tensor)
    inputs = _as_tuple(inputs)
    grad_outputs = _as_tuple(grad_outputs) if grad_outputs is not None else None
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_nodes(outputs)
    root_grads = _root_grads(outputs, grad_outputs, create_graph)
    capture = {}
    for t in inputs:
        capture[_input_node(t)] = None
    run_backward(roots, root_grads, retain_graph, create_graph, capture)
    result = []
    for i, t in enumerate(inputs):
        g = capture[_input_node(t)]
        if g is None:
            if materialize_grads:
                from .creation import zeros_like
                result.append(zeros_like(t))
                continue
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else Tensor._make(g))
    return tuple(result)


# ---------------------------------------------------------------------------------------------
# user-defined functions
class FunctionCtx:
    def __init__(self):
        self.saved_tensors_ = ()
        self.needs_input_grad = ()
        self._non_differentiable = set()
        self._materialize = True

    def save_for_backward(self, *tensors):
        self.to_save = tensors

    @property
    def saved_tensors(self):
        if self._released:
            raise RuntimeError(_FREED_MESSAGE)
        values = []
        for s in self._saved:
            if s is None:
                values.append(None)
                continue
            box, expected = s.version
            if box[0] != expected:
                raise _version_error(s, self._node, 0)
            values.append(s.tensor)
        return tuple(values)

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        pass

    def set_materialize_grads(self, value):
        self._materialize = value


class FunctionNode(Node):
    """The backward of a user-defined `Function`: calls its static `backward(ctx, grad)`."""

    __slots__ = ("fn_cls", "ctx", "shapes", "dtypes")

    def name(self):
        return self.fn_cls.__name__ + "Backward"

    def _apply(self, grad, create_graph):
        from .tensor import Tensor
        g = grad if isinstance(grad, Tensor) else Tensor._make(grad)
        with set_grad_enabled(create_graph):
            result = self.fn_cls.backward(self.ctx, g)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.next_functions)
        if len(result) < n:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        grads = []
        for r, shape in zip(result[:n], self.shapes):
            if r is None:
                grads.append(None)
                continue
            if tuple(r.shape) != shape:
                raise RuntimeError(f"Function {self.name()} returned an invalid gradient at index "
                                   f"{len(grads)} - got {list(r.shape)} but expected shape compatible with "
                                   f"{list(shape)}")
            grads.append(r if create_graph else r._data)
        return grads

    def release(self):
        self.ctx._released = True
        self.ctx._saved = ()


class _FunctionMeta(type):
    pass


class Function(metaclass=_FunctionMeta):
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grads)`, call `.apply(*args)`."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        from .tensor import Tensor
        ctx = FunctionCtx()
        ctx._released = False
        ctx._saved = ()
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            output = cls.forward(ctx, *args, **kwargs)
        needs_graph = _state.grad_enabled and any(t.requires_grad for t in tensor_args)
        outputs = output if isinstance(output, tuple) else (output,)
        if needs_graph:
            edges = []
            shapes = []
            dtypes = []
            for a in args:
                if isinstance(a, Tensor):
                    edges.append(_edge(a))
                    shapes.append(tuple(a.shape))
                    dtypes.append(a._data.dtype)
            node = FunctionNode.__new__(FunctionNode)
            Node.__init__(node, tuple(edges))
            node.fn_cls, node.ctx, node.shapes, node.dtypes = cls, ctx, tuple(shapes), dtypes
            ctx._node = node
            # gradients come back per Tensor argument, so map positions of all args to tensors
            node.next_functions = tuple(_edge(a) if isinstance(a, Tensor) else (None, 0) for a in args)
            node.shapes = tuple(tuple(a.shape) if isinstance(a, Tensor) else () for a in args)
            new_outputs = []
            for out in outputs:
                if isinstance(out, Tensor) and id(out) not in ctx._non_differentiable \
                        and out.dtype.is_floating_point:
                    if any(out is a for a in tensor_args):
                        out = out.view_as(out)
                    out.grad_fn = node
                    out._rg = True
                new_outputs.append(out)
            outputs = tuple(new_outputs)
        ctx._saved = tuple(SavedValue(t) if t is not None else None for t in getattr(ctx, "to_save", ()))
        return outputs if isinstance(output, tuple) else outputs[0]


def _edge(t):
    if not t.requires_grad:
        return (None, 0)
    if t.grad_fn is not None:
        return (t.grad_fn, 0)
    return (t._grad_accumulator(), 0)


class _AnomalyMode:
    def __init__(self, mode=True):
        self.mode = mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def set_detect_anomaly(mode):
    return _AnomalyMode(mode)


detect_anomaly = _AnomalyMode


def gradcheck(func, inputs, **kwargs):
    """`torch.autograd.gradcheck`: see engine/testing.py."""
    from .testing import gradcheck as check
    return check(func, inputs, **kwargs)


def gradgradcheck(func, inputs, grad_outputs=None, **kwargs):
    """`torch.autograd.gradgradcheck`: see engine/testing.py."""
    from .testing import gradgradcheck as check
    return check(func, inputs, grad_outputs, **kwargs)
