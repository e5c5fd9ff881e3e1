"""The backward graph a captured backward() ran through, as PyTorch builds it, with what flowed
along it: the gradient each node received, the gradient it sent along each of its edges
(`next_functions` order) and the tensors it saved.

During a captured backward(), `gradview.engine._state.backward_observer` is a `Flow`; the backward loop
(`autograd.run_backward`) calls it once per node it runs, with the gradient the node received
and the gradients it produced, one per input (`node._next` order). Arrays are kept by
reference and summarised only when the backward graph is read.
"""
from .records import R_FN, R_OP, R_T
from .summaries import summarize


class Flow:
    """What one backward() sent through the autograd graph."""
    __slots__ = ("received", "sent", "saved", "order", "_keep")

    def __init__(self):
        self.received = {}  # id(node) -> the gradient it received (w.r.t. its forward op's output)
        self.sent = {}      # id(node) -> the gradients it produced, one per entry of node._next
        self.saved = {}     # id(node) -> its saved tensors, as they were when it ran
        self.order = []     # id(node) in the order the backward ran them
        self._keep = []     # the nodes (their ids stay unique while the flow lives)

    def __call__(self, node, grad, sent):
        k = id(node)
        self.received[k] = grad
        self.sent[k] = sent
        saved = getattr(node, "saved", None)
        if saved is not None and getattr(getattr(node, "op", None), "saves", False):
            self.saved[k] = saved
        self.order.append(k)
        self._keep.append(node)


def _slots_of(node, kind_op):
    """(input nodes as next_functions presents them, the position in node._next of each)."""
    nxt = node._next
    if kind_op:
        shown = node.op.shown_edges
        if shown is None:
            return nxt, range(len(nxt))
        # the presentation picks among the inputs (or adds None slots): apply it to their positions
        positions = list(shown(tuple(range(len(nxt)))))
        return [nxt[p] if p is not None else None for p in positions], positions
    return [c for c, _ in node.next_functions], range(len(node.next_functions))


def structure(roots, recs, keep=None):
    """The autograd graph a backward() ran through, from its roots (the outputs' grad_fn) along
    next_functions (breadth first, each node once): [(node, name, record index of the op or leaf
    it belongs to or None, [(position of the next node, input slot, position in node._next)])].
    With `keep` (record indices), the walk does not go past nodes of other records (a trimmed
    step)."""
    from ..autograd import AccumulateGrad, OpNode
    by_fn = {}
    leaves = {}
    for i, r in enumerate(recs):
        if r[R_FN] is not None:
            by_fn[id(r[R_FN])] = i
        elif r[R_OP] is None:
            leaves[id(r[R_T])] = i
    pos, order = {}, []
    for fn in roots:
        if id(fn) not in pos:
            pos[id(fn)] = len(order)
            order.append(fn)
    out = []
    k = 0
    while k < len(order):
        node = order[k]
        k += 1
        kind = type(node)
        if kind is AccumulateGrad:
            var = node.variable
            forward = leaves.get(id(var)) if var is not None else None
        else:
            forward = by_fn.get(id(node))
        if keep is not None and forward is not None and forward not in keep:
            out.append((node, node.name(), forward, []))
            continue
        inputs, positions = _slots_of(node, kind is OpNode)
        nexts = []
        for slot, (child, p) in enumerate(zip(inputs, positions)):
            if child is None:
                continue
            j = pos.get(id(child))
            if j is None:
                j = pos[id(child)] = len(order)
                order.append(child)
            nexts.append((j, slot, p))
        out.append((node, node.name(), forward, nexts))
    return out


def saved_names(op):
    """PyTorch's names for what an op saves (`_saved_self`, `_saved_other`, `_saved_result`)."""
    names = []
    n = len(op.save_inputs)
    for i in op.save_inputs:
        names.append("self" if i == 0 else "other" if i == 1 and n <= 2 else f"input{i}")
    if op.save_output:
        names.append("result")
    return names


class Summaries:
    """Summaries of arrays, each array summarised once: a step's gradients are passed on along
    edges unchanged, and what a node saved is often another node's value. The summaries are shared,
    not copied: change a copy."""

    def __init__(self, full_values):
        self.full = full_values
        self.done = {}  # id(array) -> (array, summary, whether only its statistics)

    def __call__(self, g, device=None, stats_only=False):
        if g is None:
            return None
        if hasattr(g, "_data"):
            g = g._data  # a backward with create_graph=True passes tensors
        hit = self.done.get(id(g))
        if hit is None or hit[0] is not g or (hit[2] and not stats_only):
            hit = self.done[id(g)] = (g, summarize(g, self.full, device=device, stats_only=stats_only), stats_only)
        return hit[1]


def as_dict(struct, forward_nodes, kept_only=False, flow=None, full_values=64, arrays=None, recs=None,
            summaries=None):
    """The backward graph's nodes and edges (see Step.backward_graph) from its structure and the
    forward nodes by record index; `flow`: what the backward sent (gradients on nodes and edges,
    saved tensors); `kept_only`: leave out the backward nodes of forward nodes not given (a
    trimmed step)."""
    nodes, edges, kept = [], [], set()
    summ = summaries or Summaries(full_values)
    ran_at = {k: n for n, k in enumerate(flow.order)} if flow is not None else {}
    by_tensor = {}
    if flow is not None and flow.saved and recs is not None:
        by_tensor = {id(r[R_T]): i for i, r in enumerate(recs)}
    for k, (node, name, forward, nexts) in enumerate(struct):
        fnode = forward_nodes.get(forward) if forward is not None else None
        if kept_only and forward is not None and fnode is None:
            continue
        kept.add(k)
        d = {"id": f"b{k}", "name": name, "forward_id": fnode.id if fnode is not None else None,
             "grad": fnode.grad if fnode is not None else None}
        if flow is not None:
            nid = id(node)
            received = flow.received.get(nid)
            sent = flow.sent.get(nid) or ()
            d["ran"] = nid in flow.received
            d["ran_at"] = ran_at.get(nid)  # its place in the order the backward ran the nodes
            d["outputs_grad"] = [summ(received)] if received is not None else [None]
            d["inputs_grad"] = [summ(sent[p], stats_only=True) if p < len(sent) else None for _, _, p in nexts]
            d["saved"] = _saved(node, flow.saved.get(nid), summ, by_tensor, arrays)
        nodes.append(d)
    for k, (node, _, _, nexts) in enumerate(struct):
        if k not in kept:
            continue
        sent = flow.sent.get(id(node)) or () if flow is not None else ()
        for j, slot, p in nexts:
            if j in kept:
                e = {"source": f"b{k}", "target": f"b{j}", "slot": slot}
                if flow is not None:
                    e["grad"] = summ(sent[p], stats_only=True) if p < len(sent) else None
                edges.append(e)
    return {"nodes": nodes, "edges": edges}


def _saved(node, saved, summ, by_tensor, arrays):
    """[{"name", "value"}] of the tensors a node saved, as they were when it ran (a tensor changed
    in place since is shown from the copy the step kept, else marked "stale")."""
    if not saved:
        return []
    op = node.op
    out = []
    n_in = len(op.save_inputs)
    for k, name in enumerate(saved_names(op)):
        if k >= len(saved) or saved[k] is None:
            continue
        item = saved[k]
        if k < n_in:
            array = _kept_copy(item, by_tensor, arrays)
            array = item._data if array is None else array
            value = summ(array, item.device)
            if array is item._data and item._version_box[0] != node.versions[k]:
                value = dict(value, stale=True)
        else:
            value = summ(item)
        out.append({"name": name, "value": value})
    return out


def _kept_copy(t, by_tensor, arrays):
    """The copy the step kept of tensor `t`'s value, or of the tensor it is a view of (a layer's
    `weight.t()` made inside an op, never a node), as `t` then; None without one."""
    if arrays is None:
        return None
    i = by_tensor.get(id(t))
    if i is not None and i in arrays:
        return arrays[i]
    base, view = t._base, t._view_fn
    j = by_tensor.get(id(base)) if base is not None and view is not None else None
    return view(arrays[j]) if j is not None and j in arrays else None


def replay(flow, recs, arrays):
    """run(node, grad) for explain.chain_rule over a backward that has already run: a node's VJP
    again, with the tensors it saved then (one changed in place since, as an optimizer step changes
    a parameter, is taken from the copy the step kept of it)."""
    from ..tensor import Tensor
    by_tensor = {id(r[R_T]): i for i, r in enumerate(recs)}

    def run(node, g):
        op = getattr(node, "op", None)
        saved = flow.saved.get(id(node))
        if op is None or not op.saves:
            return node._apply(g, False)
        if saved is None:
            raise RuntimeError(f"explain: {node.name()} did not run in this step's backward()")
        stand = list(saved)
        for k in range(len(op.save_inputs)):
            t = saved[k]
            if t is None or t._version_box[0] == node.versions[k]:
                continue
            old = _kept_copy(t, by_tensor, arrays)
            if old is None:
                raise RuntimeError(f"explain: a tensor {node.name()} saved was changed in place after backward()")
            copy = Tensor._make(old)
            copy._version_box = [node.versions[k]]
            stand[k] = copy
        kept = node.saved
        node.saved = tuple(stand)
        try:
            return node._apply(g, False)
        finally:
            node.saved = kept
    return run
