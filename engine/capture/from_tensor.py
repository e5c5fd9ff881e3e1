"""A graph from a tensor's autograd history alone, without a capture (as torchviz's make_dot sees it)."""
from .frames import getframe, user_frame
from .records import Node
from .schema import Step
from .summaries import summarize


def from_tensor(tensor, names=None, full_values=64):
    """A Step built from `tensor.grad_fn` and what it leads to, as torchviz's make_dot sees it.

    Op nodes carry their PyTorch name and the shape flowing out of them; values are known for the
    output and the leaves (and their `.grad` when set). `names` maps leaf tensors to labels
    (default: looked up in the caller's variables).
    """
    from ..autograd import AccumulateGrad
    caller = user_frame(getframe(1))
    label_of = {}
    if names:
        label_of.update({id(v): k for k, v in names.items()})
    elif caller is not None:
        try:
            for k, v in caller.f_locals.items():
                label_of.setdefault(id(v), k)
        except Exception:  # noqa: BLE001
            pass
    root_fn = tensor.grad_fn if tensor.grad_fn is not None else (
        tensor._grad_accumulator() if tensor.requires_grad else None)
    nodes = []
    edges = []
    if root_fn is None:
        nodes.append(_leaf_node("n0", tensor, label_of, "output", full_values))
        return Step.from_nodes(0, nodes, edges, loss=_scalar(tensor), closed=False, full_values=full_values)
    ids = {root_fn: "n0"}
    info = {root_fn: (list(tensor.shape), tensor._data.dtype.name)}
    order = [root_fn]
    stack = [root_fn]
    while stack:
        node = stack.pop()
        shapes = getattr(node, "shapes", None)
        dtypes = getattr(node, "dtypes", None)
        for k, child in enumerate(_inputs_of(node)):
            if child is None:
                continue
            if child not in ids:
                ids[child] = f"n{len(ids)}"
                # shapes/dtypes are left out when every input matches the output
                shape = list(shapes[k]) if shapes and k < len(shapes) else info[node][0]
                dt = dtypes[k] if dtypes and k < len(dtypes) else None
                info[child] = (shape, getattr(dt, "name", str(dt)) if dt is not None else info[node][1])
                order.append(child)
                stack.append(child)
            edges.append((ids[child], ids[node]))
    for node in order:
        nid = ids[node]
        if type(node) is AccumulateGrad:
            var = node.variable
            if var is None:
                nodes.append(Node(id=nid, label="tensor", kind="leaf", op=None, shape=info[node][0],
                                  dtype=info[node][1], device="cpu"))
            else:
                nodes.append(_leaf_node(nid, var, label_of, None, full_values))
            continue
        shape, dt = info[node]
        op = getattr(node, "op", None)
        fn = op.kind if op is not None else node.name()
        n = Node(id=nid, label=fn, kind="output" if node is root_fn else "op", op=node.name(), shape=shape,
                 dtype=dt, device=str(tensor.device), fn=fn, requires_grad=True,
                 inputs=[ids[c] for c in _inputs_of(node) if c is not None])
        if node is root_fn:
            n.value = summarize(tensor._data, full_values, device=tensor.device)
            n.var = label_of.get(id(tensor))
        nodes.append(n)
    nodes.reverse()  # inputs first, as in run order
    for i, n in enumerate(nodes):
        n.index = i
    edges = list(dict.fromkeys(edges))
    return Step.from_nodes(0, nodes, edges, loss=_scalar(tensor), closed=False, full_values=full_values)


def _inputs_of(node):
    """The input nodes of an autograd node, one per op input (None where none is needed)."""
    nxt = getattr(node, "_next", None)
    if nxt is not None:
        return nxt
    return [c for c, _ in node.next_functions]


def _leaf_node(nid, t, label_of, kind, full_values):
    is_param = type(t).__name__ == "Parameter"
    label = label_of.get(id(t)) or ("param" if is_param else "tensor")
    return Node(id=nid, label=label, kind=kind or ("param" if is_param else "leaf"), op=None,
                shape=list(t.shape), dtype=t._data.dtype.name, device=str(t.device),
                value=summarize(t._data, full_values, device=t.device),
                grad=summarize(t.grad._data, full_values, device=t.device) if t.grad is not None else None,
                requires_grad=bool(t.requires_grad), var=label_of.get(id(t)))


def _scalar(t):
    if t._data.size == 1 and t.dtype.is_floating_point:
        try:
            return float(t.item())
        except Exception:  # noqa: BLE001
            return None
    return None

