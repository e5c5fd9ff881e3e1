"""Define-by-run autograd: graph nodes, grad mode, the iterative backward pass, `grad()`,
tensor hooks and user-defined `Function`s.

A node is created by each differentiable op and points at the nodes of its inputs through
`next_functions` (PyTorch's edges). Every node has exactly one output tensor. Leaves that require
grad get one `AccumulateGrad` node each. Backward walks the graph with an explicit work list, so a
chain of 100,000 ops needs no recursion.
"""
import functools
import heapq
import importlib
import itertools
import re
import sys
import weakref

import sys as _sys

import numpy as _np

from . import _state, backends
from .ops import _registry
from ._dtype import from_numpy_dtype, legacy_type_name
from .creation import tensor as _tensor, zeros_like, empty
from .tensor import Tensor

_sequence = itertools.count()
_node_sequence = itertools.count(1)


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


class _NoParamDecorator(_GradModeContext):
    """Usable as `@no_grad()` and as a bare `@no_grad`, as in PyTorch."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecorator):
    _mode = False


class enable_grad(_NoParamDecorator):
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

    def __call__(self, fn):
        # used as a decorator: the mode applies inside calls only, so undo what __init__ set
        _state.grad_enabled = self._prev
        return _GradModeContext.__call__(self, fn)


def is_grad_enabled():
    return _state.grad_enabled


# ---------------------------------------------------------------------------------------------
# nodes
class Node:
    """A backward function in the graph. Subclasses implement `_apply(grad, create_graph)`
    returning one gradient per input edge (None where no gradient flows).

    `_next` holds the input nodes (None for inputs that need no gradient); `next_functions`
    presents them as PyTorch does, as (node, output_nr) pairs.
    """

    __slots__ = ("_next", "_hooks", "_seq", "__weakref__")

    def __init__(self, next_nodes):
        self._next = next_nodes
        self._hooks = None
        self._seq = next(_node_sequence)  # creation order: the backward runs later nodes first

    @property
    def next_functions(self):
        return tuple((n, 0) for n in self._next)

    def name(self):
        return type(self).__name__

    def _hook_table(self, kind):
        if self._hooks is None:
            self._hooks = {}
        return self._hooks.setdefault(kind, {})

    @property
    def _pre_hooks(self):
        return self._hooks.get("pre") if self._hooks else None

    @property
    def _post_hooks(self):
        return self._hooks.get("post") if self._hooks else None

    @property
    def metadata(self):
        return self._hook_table("metadata")

    def register_prehook(self, fn):
        table = self._hook_table("pre")
        key = next(_sequence)
        table[key] = fn
        return _RemovableHandle(table, key)

    def register_hook(self, fn):
        table = self._hook_table("post")
        key = next(_sequence)
        table[key] = fn
        return _RemovableHandle(table, key)

    def __repr__(self):
        return f"<{self.short_name()} object at {hex(id(self))}>"

    def short_name(self):
        """The node's class name as PyTorch prints it (CopySlices for torch::autograd::CopySlices)."""
        return self.name().rpartition("::")[2]

    def __call__(self, *grads):
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


def _version_error(array, current, expected, producer):
    """PyTorch's message for a saved tensor changed in place before backward used it."""
    type_name = _legacy_type_name(from_numpy_dtype(array.dtype))
    where = f", which is output 0 of {_forward_name(producer.name())}," if producer is not None else ""
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{type_name} {list(array.shape)}]{where} is at version {current}; expected version "
        f"{expected} instead. Hint: enable anomaly detection to find the operation that failed to "
        "compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")


def _forward_name(node_name):
    """The forward op's name PyTorch's messages use for a node: MulBackward0 -> Mul, PowBackward1 -> Pow1."""
    name = node_name.rpartition("::")[2]
    match = re.fullmatch(r"(.*)Backward(\d+)", name)
    if match is None:
        return name
    return match.group(1) + ("" if match.group(2) == "0" else match.group(2))


def _legacy_type_name(dtype):
    return legacy_type_name(dtype)


_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.")


def _make_tensor(array, grad_fn=None, requires_grad=None):
    return Tensor._make(array, grad_fn=grad_fn, requires_grad=grad_fn is not None if requires_grad is None
                        else requires_grad)


def _wrap(value):
    if isinstance(value, Tensor):
        return value
    return Tensor._make(value)


# ---------------------------------------------------------------------------------------------
# the backward pass
def _graph_order(roots):
    """Count, for every node reachable from the roots, how many edges lead into it."""
    # roots start at 0, so a root that is also reached from another root is expanded only once
    dependencies = dict.fromkeys(roots, 0)
    stack = list(dependencies)
    while stack:
        node = stack.pop()
        for child in node._next:
            if child is None:
                continue
            if child in dependencies:
                dependencies[child] += 1
            else:
                dependencies[child] = 1
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
    # the ready nodes in the order PyTorch's engine takes them: AccumulateGrad first, then the node
    # created last (the highest sequence number); equal keys in the order they became ready
    ready = []
    pushed = itertools.count()
    for n in dict.fromkeys(roots):
        if dependencies.get(n, 0) == 0:
            heapq.heappush(ready, (_priority(n), next(pushed), n))
    prev_mode = _state.grad_enabled
    _state.grad_enabled = create_graph
    observe = _state.backward_observer  # graph capture: told what each node received and sent
    executed = []
    try:
        while ready:
            node = heapq.heappop(ready)[2]
            grad = buffers.pop(node)
            if node._hooks is not None and node._pre_hooks:
                grad = _run_pre_hooks(node, grad, create_graph)
            if capture is not None and node in capture:
                capture[node] = grad
            if type(node) is AccumulateGrad:
                if observe is not None:
                    observe(node, grad, ())
                if capture is None:
                    _accumulate(node, grad, create_graph, _owned=True)
                    if node._hooks is not None and node._hooks.get("post_accumulate"):
                        for hook in list(node._hooks["post_accumulate"].values()):
                            hook(node.variable)  # the leaf, its .grad now updated
                grad = None
                continue
            input_grads = node._apply(grad, create_graph)
            if observe is not None:
                observe(node, grad, input_grads)
            executed.append(node)
            if node._hooks is not None and node._post_hooks:
                for hook in list(node._post_hooks.values()):
                    hook(tuple(_wrap(g) if g is not None else None for g in input_grads), (_wrap(grad),))
            for child, g in zip(node._next, input_grads):
                if child is None:
                    continue
                if g is not None:
                    if child in buffers:
                        buffers[child] = buffers[child] + g
                    else:
                        buffers[child] = g
                remaining = dependencies[child] - 1
                dependencies[child] = remaining
                if remaining == 0:
                    if child in buffers:
                        heapq.heappush(ready, (_priority(child), next(pushed), child))
                    else:  # nothing flowed here: its subgraph gets no gradient from this path
                        _skip(child, dependencies, buffers, ready, pushed)
            # drop this loop's references so a leaf can tell it owns its gradient (_accumulate)
            input_grads = g = grad = None
    finally:
        _state.grad_enabled = prev_mode
        if not retain_graph:
            for node in executed:
                node.release()


def _priority(node):
    """The ready queue's key of a node: AccumulateGrad first, then the latest created."""
    return (0, 0) if type(node) is AccumulateGrad else (1, -node._seq)


def _skip(node, dependencies, buffers, ready, pushed):
    """A node that received no gradient at all still has to release its children's counts."""
    stack = [node]
    while stack:
        n = stack.pop()
        for child in n._next:
            if child is None:
                continue
            dependencies[child] -= 1
            if dependencies[child] == 0:
                if child in buffers:
                    heapq.heappush(ready, (_priority(child), next(pushed), child))
                else:
                    stack.append(child)


def _add(acc, g):
    if acc is None:
        return g
    return acc + g


def _run_pre_hooks(node, grad, create_graph):
    for hook in list(node._pre_hooks.values()):
        arg = grad if isinstance(grad, Tensor) else Tensor._make(grad)
        result = hook(arg)
        if result is not None:
            if isinstance(result, tuple):  # Node.register_prehook style
                result = result[0]
            grad = result if create_graph else result._data
    return grad


# references to a gradient array held while _accumulate inspects it: run_backward's `grad` was
# handed over, so these are the callee's argument and getrefcount's own
_OWNED_REFCOUNT = 3


def _whole_view_of_unshared(grad):
    """A contiguous view covering all of a base array that nothing else refers to (a gradient
    reshaped or transposed back on its way to a leaf): as good as owning the base."""
    base = grad.base
    return (base.base is None and grad.flags.c_contiguous and grad.size == base.size
            and _sys.getrefcount(base) <= 3)  # the view's reference, `base` and getrefcount's argument


def _may_keep(grad):
    """Whether an unshared gradient array can become .grad as it is: an array that owns its memory
    (or a whole view of an unshared one), on a backend whose views name their base (NumPy, CuPy)."""
    if grad.__class__ is _np.ndarray:
        return (grad.base is None or _whole_view_of_unshared(grad)) and grad.flags.writeable
    owner = backends.owner_of(grad)
    return owner is not None and owner.name == "cuda" and (grad.base is None or _whole_view_of_unshared(grad))


def _accumulate(node, grad, create_graph, _owned=False):
    variable = node.variable
    if variable is None:
        return
    if create_graph:
        new = grad if isinstance(grad, Tensor) else Tensor._make(grad)
        variable.grad = new if variable.grad is None else variable.grad + new
        return
    if isinstance(grad, Tensor):
        grad = grad._data
    if variable.grad is None:
        # Keep the array only when nothing else refers to it (as PyTorch steals a buffer whose
        # use count is 1); otherwise copy: x + y passes one gradient array to both leaves.
        if not (_owned and _sys.getrefcount(grad) <= _OWNED_REFCOUNT and _may_keep(grad)):
            grad = grad.copy()
        variable.grad = Tensor._make(grad)
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
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _root_grads(outputs, grad_outputs, create_graph):
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
                g = _tensor(g, dtype=out.dtype)
            if tuple(g.shape) != tuple(out.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                                   f"has a shape of {out.shape}.")
            grads.append(g if create_graph else g._data)
    return grads


def _root_nodes(outputs):
    nodes = []
    for i, out in enumerate(outputs):
        if out._base is not None:
            out._sync_view()
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        nodes.append(out.grad_fn if out.grad_fn is not None else out._grad_accumulator())
    return nodes


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    recorder = _state.recorder
    if recorder is not None:  # graph capture: a backward closes a step (the recorder pauses meanwhile)
        recorder.begin_backward(_as_tuple(tensors))
        try:
            return backward(tensors, grad_tensors, retain_graph, create_graph, inputs)
        finally:
            recorder.end_backward(_as_tuple(tensors))
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


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of `outputs` with respect to `inputs`, without touching any `.grad`.
    (`only_inputs` is PyTorch's deprecated no-op, accepted so old scripts run.)"""
    if is_grads_batched:
        raise NotImplementedError("autograd.grad: is_grads_batched is not supported")
    outputs = _as_tuple(outputs)
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
                result.append(zeros_like(t))
                continue
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else Tensor._make(g))
    return tuple(result)


# ---------------------------------------------------------------------------------------------
# user-defined functions
class _VariableType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor)  # every tensor is a Variable since PyTorch 0.4


class Variable(metaclass=_VariableType):
    """`torch.autograd.Variable(t, requires_grad=...)`, the pre-0.4 wrapper: a new leaf sharing t's
    memory (`volatile=` is accepted and, as in PyTorch, has no effect)."""

    def __new__(cls, data=None, requires_grad=False, volatile=False):
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        t = data.detach()
        if requires_grad:
            t.requires_grad_(True)
        return t


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
        for t, expected in self._saved:
            if t is None:
                values.append(None)
                continue
            current = t._version_box[0]
            if current != expected:
                raise _version_error(t._data, current, expected, t.grad_fn)
            values.append(t)
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
        g = grad if isinstance(grad, Tensor) else Tensor._make(grad)
        with set_grad_enabled(create_graph):
            result = self.fn_cls.backward(self.ctx, g)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self._next)
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

    def apply(self, *grads):
        """Run the Function's backward by hand, as `y.grad_fn.apply(g)` does in PyTorch."""
        return self.fn_cls.backward(self.ctx, *grads)


class _FunctionMeta(type):
    """Gives each Function subclass its own backward node class, `<Name>Backward`, as PyTorch does
    (`type(y.grad_fn).__name__` names the Function)."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        cls._backward_cls = type(name + "Backward", (FunctionNode,),
                                 {"__slots__": (), "__module__": cls.__module__, "_forward_cls": cls})


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
            # backward returns one gradient per forward argument, tensors or not
            node = cls._backward_cls.__new__(cls._backward_cls)
            Node.__init__(node, tuple(a._edge() if isinstance(a, Tensor) else None for a in args))
            node.fn_cls, node.ctx = cls, ctx
            node.shapes = tuple(tuple(a.shape) if isinstance(a, Tensor) else () for a in args)
            node.dtypes = None
            ctx._node = node
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
        ctx._saved = tuple((t, t._version_box[0]) if t is not None else (None, 0)
                           for t in getattr(ctx, "to_save", ()))
        return outputs if isinstance(output, tuple) else outputs[0]


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


# ---------------------------------------------------------------------------------------------
# the Tensor methods that are autograd's (bound onto Tensor by the registry, so tensor.py needs no autograd)
def _grad_accumulator(self):
    """The leaf's AccumulateGrad node, made once."""
    if self._accumulator is None:
        self._accumulator = AccumulateGrad(self)
    return self._accumulator


def _tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    backward(self, gradient, retain_graph, create_graph, inputs)


def _accumulate_grad(self, g, create_graph):
    _accumulate(self._grad_accumulator(), g, create_graph)


def register_post_accumulate_grad_hook(self, hook):
    """hook(tensor) runs after backward has accumulated this leaf's .grad (optimizer-in-backward)."""
    if not self._rg:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    table = self._grad_accumulator()._hook_table("post_accumulate")
    key = next(_sequence)
    table[key] = hook
    return _RemovableHandle(table, key)


_registry.register(_grad_accumulator, method="_grad_accumulator")
_tensor_backward.__name__ = "backward"  # the module's own backward() has the name here
_registry.register(_tensor_backward, method="backward")
_registry.register(_accumulate_grad, method="_accumulate_grad")
_registry.register(register_post_accumulate_grad_hook, method="register_post_accumulate_grad_hook")


def __getattr__(name):
    if name == "OpNode":  # the op node lives beside OpDef and apply, which import this module
        from .ops._core import OpNode
        return OpNode
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _register_submodules():
    """torch.autograd.functional and torch.autograd.profiler import as in PyTorch, though this
    module is a file: their modules are registered under its name."""
    globals()["__path__"] = []  # a package to the import system, so `import torch.autograd.functional` works
    for name in ("functional", "profiler"):
        module = importlib.import_module(f"{__package__}._autograd_{name}")
        sys.modules[f"{__name__}.{name}"] = module
        globals()[name] = module


_register_submodules()
