"""In-place ops (`add_`, `x[i] = v`, ...): write into the tensor's own memory, bump its version
counter, and, when autograd is involved, rebase its graph node so backward sees the new value.

An in-place op is its out-of-place twin applied to a snapshot of the old value, whose result is
copied back; the tensor joins the graph when it or any operand requires grad. If the tensor is a
view of a base that is in the graph, the base's node becomes a CopySlices node that writes the
new view value into the old base (PyTorch does the same).
"""
from .. import _state
from .._dtype import can_cast
from ._core import OpDef, apply
from ..tensor import Tensor
from ._core import broadcast_error


def needs_graph(x, *others):
    if not _state.grad_enabled:
        return False
    if x._rg or (x._base is not None and x._base._rg):
        return True
    return any(isinstance(o, Tensor) and o._rg for o in others)


def _tensors_in(operands):
    """The tensors among an op's arguments (nested in lists, tuples and dicts too)."""
    stack = [operands]
    while stack:
        value = stack.pop()
        if isinstance(value, Tensor):
            yield value
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())


def check_writable(x):
    if _state.grad_enabled:
        if x._rg and x.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        base = x._base
        if base is not None and base._rg and base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")


def _snapshot(x):
    """The old value of x as its own tensor with x's place in the graph (a copy: x is overwritten)."""
    snapshot = Tensor._make(x._data.copy(), grad_fn=x.grad_fn, requires_grad=x._rg)
    if x.grad_fn is None and _state.recorder is not None:
        _state.recorder.stands_for(snapshot, x)  # a constant's old value: drawn as that constant
    return snapshot


def run_inplace(x, compute, name, operands=()):
    """Apply `compute(old_x) -> new tensor` in place on x; returns x. `operands` are the other
    arguments of the op: a value that requires grad written into x puts x in the graph even when x
    itself needs none (`b[0] = w * 2`, `b.copy_(w)`, `loss += w.sum()`), as in PyTorch."""
    check_writable(x)
    if x._base is not None:
        x._sync_view()
    if not needs_graph(x, *_tensors_in(operands)):
        result = compute(x)
        _write(x, result, name)
        return x
    snapshot = _snapshot(x)
    result = compute(snapshot)
    if not result._rg and snapshot._rg:
        # the new value does not depend on anything that needs grad (zero_, fill_, normal_, ...):
        # the old value's gradient stops at a node of its own, as in PyTorch
        data = result._data if result.dtype is x.dtype else result._data.astype(x._data.dtype)
        result = apply(_overwrite_op(name), (snapshot,), (data,))
    _write(x, result, name)
    if not result._rg:
        return x  # an operand required grad, but the value written does not depend on it (eq_)
    if result.dtype is not x.dtype:
        result = result.to(x.dtype)
    base = x._base
    if base is None:
        x.grad_fn = result.grad_fn
        x._rg = True
    else:
        _rebase_view(x, base, result)
    return x


def _overwrite_forward(xp, old, value):
    return value


def _overwrite_vjp(m, g, node):
    return g * 0


def _copy_forward(xp, old, src):
    if src.shape != old.shape and (src.ndim > old.ndim or any(
            n != 1 and n != m for n, m in zip(src.shape[::-1], old.shape[::-1]))):
        error = broadcast_error([old.shape, src.shape])
        if error is None:
            shape = list(xp.broadcast_shapes(old.shape, src.shape))
            error = RuntimeError(f"output with shape {list(old.shape)} doesn't match the broadcast shape {shape}")
        raise error
    return xp.broadcast_to(src.astype(old.dtype, copy=False), old.shape).copy()


def _copy_vjp(m, g, node):
    return m.zeros_like(g), g  # broadcasting and the dtype change are undone centrally


# `dst.copy_(src)`: src's value, cast and broadcast to dst; the old value gets no gradient
copy_into = OpDef("torch::autograd::CopyBackwards", _copy_forward, _copy_vjp, kind="copy")
# `dst.fill_(value)` with a 0-dim tensor value: the same rule under PyTorch's name for it
fill_with = OpDef("FillBackward3", _copy_forward, _copy_vjp, kind="fill")

_overwrite_ops = {}
_OVERWRITE_NAMES = {"fill_": "FillBackward2",
                    "bernoulli_": "BernoulliBackward2"}


def _overwrite_op(name):
    """The node for an in-place op that replaced a value by a constant: fill_ -> FillBackward0."""
    op = _overwrite_ops.get(name)
    if op is None:
        node_name = _OVERWRITE_NAMES.get(name) or "".join(p.capitalize() for p in name.split("_")) + "Backward0"
        op = _overwrite_ops[name] = OpDef(node_name, _overwrite_forward, _overwrite_vjp, kind=name.rstrip("_"))
    return op


def _write(x, result, name):
    if not can_cast(result.dtype, x.dtype):
        raise RuntimeError(f"result type {result.dtype.title} can't be cast to the desired output type "
                           f"{x.dtype.title}")
    data = result._data
    if data.shape != x._data.shape:
        try:
            x._xp.broadcast_to(data, x._data.shape)
        except ValueError:
            raise RuntimeError(f"output with shape {list(x._data.shape)} doesn't match the broadcast shape "
                               f"{list(data.shape)}") from None
    if data is not x._data:
        x._data[...] = data
    x._version_box[0] += 1
    if _state.recorder is not None:
        _state.recorder.inplace(name, x, result)


def _copy_slices_forward(xp, base, value, view_fn, view_ops):
    out = base.copy()
    view_fn(out)[...] = value
    return out


def _copy_slices_vjp(m, g, node):
    view_fn, view_ops = node.params
    if hasattr(g, "_data"):
        return _copy_slices_vjp_differentiable(g, node, view_fn, view_ops)
    g_base = g.copy()
    view_fn(g_base)[...] = 0
    g_value = view_fn(g).copy() if (node._next[1] is not None) else None
    return g_base, g_value


def _copy_slices_vjp_differentiable(g, node, view_fn, view_ops):
    """create_graph: the same gradients as differentiable functions of g (a mask product, and the
    view ops replayed on g)."""
    keep = g._xp.ones(g._data.shape, dtype=g._data.dtype)
    view_fn(keep)[...] = 0
    g_base = g * Tensor._make(keep, device=g.device)
    g_value = None
    if node._next[1] is not None:
        if view_ops is None:  # a view made without grad mode: its ops were not recorded
            g_value = Tensor._make(view_fn(g._data).copy(), device=g.device)
        else:
            g_value = g
            for op, params in view_ops:
                g_value = apply(op, (g_value,), params)
    return g_base, g_value


_copy_slices = OpDef("torch::autograd::CopySlices", _copy_slices_forward, _copy_slices_vjp, kind="copy_slices")


def _rebase_view(x, base, result):
    """x (a view of base) now holds `result`: base's node becomes CopySlices(old base, result)."""
    old_base = Tensor._make(base._data, grad_fn=base.grad_fn, requires_grad=base._rg)
    if base._rg and base.grad_fn is None:
        old_base._accumulator = base._grad_accumulator()
    prev = _state.recorder
    _state.recorder = None  # the copy is bookkeeping, not a user op
    try:
        view_ops = x._extra.get("view_ops") if x._extra else None
        new_base = apply(_copy_slices, (old_base, result), (x._view_fn, view_ops))
    finally:
        _state.recorder = prev
    base.grad_fn = new_base.grad_fn
    base._rg = True
    x.grad_fn = result.grad_fn
    x._rg = True
    if x._extra is not None and "view_version" in x._extra:
        x._extra["view_version"] = x._version_box[0]  # x's own node is current
