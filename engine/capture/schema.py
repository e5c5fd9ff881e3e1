"""The capture's schema: a `Step` (the nodes and edges of one training step, summarised when read)
and a `Graph` (the steps of one capture). The dictionary shape is versioned and documented in
docs/graph-schema.md."""
import json
import linecache
import math

from . import backward as _backward
from .records import (KIND_NAMES, R_CODE, R_FN, R_INS, R_MOD, R_OP, R_T, R_TIME, R_VER, Node, count_edges,
                      failed_node, node_ids)
from .records import sites as record_sites
from .summaries import _num, dtype_name
from .trim import keep_closest, trim_targets, with_left_out

SCHEMA_VERSION = 1


class Step:
    """One step: the ops from the previous backward() (or the start) up to and including the
    tensors a backward() ran from. Summaries are computed on first access and cached."""

    def __init__(self, index, loss=None, closed=True, full_values=64):
        self.index = index
        self.source_of = None           # file name -> source name (see capture), for Node.source
        self.loss = loss
        self.closed = closed            # False for the final step no backward() closed
        self.full_values = full_values
        self.truncated = False          # True once only the summary (loss, counts) is kept
        self._records = None
        self._grads = None
        self._extras = None
        self._nodes = None
        self._edges = None
        self._node_count = 0
        self._edge_count = None
        self._modules = None
        self._summary_cache = None      # see _summaries

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_records(cls, index, data, grads, loss, closed, full_values, source_of=None):
        """A step over a recorder's records (`StepData`) and gradients by record index."""
        step = cls(index, loss, closed, full_values)
        step.source_of = source_of
        step._records = data
        step._grads = grads
        step._node_count = len(data.records) + (data.failure is not None)
        return step

    @classmethod
    def from_nodes(cls, index, nodes, edges, loss=None, closed=True, full_values=64):
        """A step from ready-made nodes (Node objects or dicts) and edges ((source, target) or dicts)."""
        step = cls(index, loss, closed, full_values)
        step._nodes = [n if isinstance(n, Node) else Node(**{k: v for k, v in n.items()
                                                              if k in Node.__dataclass_fields__})
                       for n in nodes]
        step._edges = [(e["source"], e["target"]) if isinstance(e, dict) else tuple(e) for e in edges]
        step._node_count = len(step._nodes)
        step._edge_count = len(step._edges)
        return step

    # -- access -------------------------------------------------------------------------------
    @property
    def node_count(self):
        return self._node_count

    @property
    def edge_count(self):
        if self._edge_count is None and not self.truncated:
            self._build()
        return self._edge_count or 0

    @property
    def nodes(self):
        """The nodes in run order ([] once the step is truncated)."""
        if self._nodes is None and not self.truncated:
            self._build()
        return self._nodes or []

    @property
    def edges(self):
        """(source id, target id) pairs in data-flow direction, one per input slot of the target
        (`y * y` gives the pair twice)."""
        if self._edges is None and not self.truncated:
            self._build()
        return self._edges or []

    @property
    def modules(self):
        """{module path: class name} of the modules whose ops ran in this step."""
        if self._records is None:
            return dict(self._modules) if self._modules else {}
        used = {r[R_MOD] for r in self._records.records if r[R_MOD]}
        types = self._records.module_types
        out = {}
        for path in used:
            parts = path.split(".")
            for k in range(1, len(parts) + 1):
                p = ".".join(parts[:k])
                if p in types:
                    out[p] = types[p]
        return dict(sorted(out.items()))

    def node(self, node_id):
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def to_dict(self, nodes=True):
        """The step as documented in docs/graph-schema.md; nodes=False leaves out nodes and edges
        (and computes no summaries), as for a truncated step."""
        d = {"index": self.index, "loss": self.loss if self.loss is None or math.isfinite(self.loss) else None,
             "nodes": [n.to_dict() for n in self.nodes] if nodes else [],
             "edges": self._edge_dicts() if nodes else [],
             "closed": self.closed, "truncated": self.truncated or not nodes,
             "node_count": self.node_count, "edge_count": self.edge_count,
             "modules": self.modules if nodes else {}}
        if nodes and self._records is not None and self._records.backward is not None:
            d["backward"] = self.backward_graph()
        if nodes and self._records is not None and self._records.param_updates:
            d["updates"] = self.param_updates({n.index: n.id for n in self.nodes})
        if self.loss is not None and not math.isfinite(self.loss):
            d["loss_text"] = _num(self.loss)
        return d

    def _edge_dicts(self):
        """Edges with "slot": the position of the input in the target's inputs."""
        inputs = {n.id: n.inputs for n in self.nodes}
        seen = {}
        out = []
        for s, t in self.edges:
            k = seen.get((s, t), -1)
            ins = inputs.get(t) or ()
            k = next((m for m in range(k + 1, len(ins)) if ins[m] == s), k + 1)
            seen[(s, t)] = k
            out.append({"source": s, "target": t, "slot": k})
        return out

    def to_json(self, indent=None):
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def __repr__(self):
        loss = "" if self.loss is None else f", loss={self.loss:.6g}"
        return f"<Step {self.index}: {self.node_count} nodes{loss}{'' if self.closed else ', open'}>"

    def _repr_html_(self):
        from ..viz import draw
        return draw(self)._repr_html_()

    # -- lifecycle ----------------------------------------------------------------------------
    def _truncate(self):
        self._modules = {}
        if self._edge_count is None and self._records is not None:
            self._edge_count = count_edges(self._records.records)
        self._records = self._grads = self._extras = self._summary_cache = None
        self._nodes = self._edges = None
        self.truncated = True

    def _build(self):
        data = self._records
        if data is None:
            self._nodes, self._edges = [], []
            self._edge_count = 0
            return
        self._nodes, self._edges = self._make_nodes()
        self._edge_count = len(self._edges)

    def _make_nodes(self, keep=None):
        """(nodes, edges) of the records, or of those whose index is in `keep` (the failed node's
        index is the number of records) with the edges between them."""
        data = self._records
        records = data.records
        grads = self._grads or {}
        leaf_info = data.leaf_info
        arrays = data.arrays
        inplace_names = data.inplace
        updates = data.updates
        outputs = data.outputs
        varnames = data.vars
        sites = record_sites(records)
        ids = node_ids(records, leaf_info, sites)
        consumed = set()
        for r in records:
            consumed.update(r[R_INS])
        nodes = []
        edges = []
        code_cache = {}
        summ = self._summaries()
        source_of = self.source_of
        sources = {}
        for i, r in enumerate(records):
            if keep is not None and i not in keep:
                continue
            op = r[R_OP]
            code_obj = r[R_CODE]
            fname = code_obj.co_filename if code_obj is not None else ""
            line, col, end_col = sites[i]
            key = (fname, line)
            code = code_cache.get(key)
            if code is None:
                code = code_cache[key] = linecache.getline(fname, line).strip() if fname and line > 0 else ""
            if source_of is not None:
                source = sources.get(fname, False)
                if source is False:
                    source = sources[fname] = _source(source_of, fname)
            else:
                source = None
            t = r[R_T]
            dev = t.device
            arr = arrays[i] if i in arrays else t._data
            value = summ(arr, dev)
            if i not in arrays and t._version_box[0] != r[R_VER]:
                value = dict(value, stale=True)  # changed in place after this op ran
            g = grads.get(i)
            if g is not None and hasattr(g, "_data"):
                g = g._data  # a backward with create_graph=True passes tensors
            grad = summ(g, dev) if g is not None else None
            if op is not None:
                # an open step's results are its outputs, unless it ended in an error: then only a
                # tensor backward() ran from is
                if i in outputs or (not outputs and not self.closed and data.failure is None
                                    and i not in consumed and i not in updates):
                    kind = "output"
                else:
                    kind = "op"
                label = inplace_names.get(i) or op.kind
                opname = op.name if r[R_FN] is not None else op.kind
                fn = op.kind
                rg = r[R_FN] is not None
            else:
                k, label = leaf_info[i][:2]
                kind = KIND_NAMES[k]
                opname = fn = None
                rg = bool(t._rg)
            t_s = r[R_TIME]
            node = Node(id=ids[i], label=label, kind=kind, op=opname, shape=[int(d) for d in arr.shape],
                        dtype=dtype_name(arr.dtype), device=str(dev), line=line, col=col, end_col=end_col,
                        file=fname, code=code, source=source, module=r[R_MOD], module_type=data.module_types.get(r[R_MOD]),
                        value=value, grad=grad,
                        time_us=None if t_s is None else round(t_s * 1e6, 3), fn=fn,
                        var=varnames.get(i), inputs=[ids[j] for j in r[R_INS]], inplace=inplace_names.get(i),
                        updates=ids[updates[i]] if i in updates else None, requires_grad=rg, index=i,
                        aliases=list(data.aliases.get(i, ())))
            nodes.append(node)
            tid = ids[i]
            for j in r[R_INS]:
                if keep is None or j in keep:
                    edges.append((ids[j], tid))
        if data.failure is not None and (keep is None or len(records) in keep):
            nodes.append(failed_node(data.failure, [ids[j] for j in data.failure[1]], len(records)))
            if source_of is not None:
                nodes[-1].source = _source(source_of, nodes[-1].file)
            edges.extend((src, nodes[-1].id) for j, src in zip(data.failure[1], nodes[-1].inputs)
                         if keep is None or j in keep)
        return nodes, edges

    def _summaries(self):
        """The step's summaries of arrays, shared by its nodes, edges and backward graph (kept until
        the step is truncated: values and gradients do not change once the step has closed)."""
        if self._summary_cache is None or not self.closed:
            self._summary_cache = _backward.Summaries(self.full_values)
        return self._summary_cache

    def backward_graph(self):
        """The autograd graph this step's backward() ran through, as PyTorch builds it: nodes
        {"id", "name" (PyTorch's: "MulBackward0", "torch::autograd::AccumulateGrad"), "forward_id"
        (the forward node it belongs to, or None), "grad" (summary of the gradient it received; for
        AccumulateGrad the leaf's .grad)} in breadth-first order from the output's grad_fn, and
        edges {"source", "target", "slot"} in next_functions order (None slots left out), pointing
        the way gradients flow. None when no backward() closed the step."""
        data = self._records
        if data is None or data.backward is None:
            return None
        return _backward.as_dict(_backward.structure(data.backward, data.records), dict(enumerate(self.nodes)),
                                 flow=data.flow, full_values=self.full_values, arrays=data.arrays,
                                 recs=data.records, summaries=self._summaries())

    def param_updates(self, ids=None):
        """What the optimizer steps that followed this step's backward() did, one entry per parameter
        they changed, in the order they ran: {"param" (the parameter's node id, None when it is not
        a node of this step), "name", "optimizer" (its class name), "before", "after" (summaries of
        the value, the numbers of small tensors), "line", "file", "code", "source" (where step()
        was called)}. `ids`: {record index: node id} of the nodes to name (default: all)."""
        data = self._records
        if data is None or not data.param_updates:
            return []
        if ids is None:
            ids = {n.index: n.id for n in self.nodes}
        summ = self._summaries()
        labels = {n.index: n.label for n in self.nodes}
        for j, info in data.leaf_info.items():  # a parameter by its full name ("fc1.weight")
            if len(info) > 2 and isinstance(info[2], str):
                labels[j] = info[2]
        out = []
        for u in data.param_updates:
            j = data.tmap.get(id(u.param))
            if j is not None and (j >= len(data.records) or data.records[j][R_T] is not u.param):
                j = None
            fname = u.code.co_filename if u.code is not None else ""
            dev = u.param.device
            out.append({"param": ids.get(j), "name": u.name or labels.get(j) or "parameter",
                        "optimizer": u.optimizer, "before": summ(u.before, dev), "after": summ(u.after, dev),
                        "line": u.line, "file": fname,
                        "code": linecache.getline(fname, u.line).strip() if fname and u.line > 0 else "",
                        "source": _source(self.source_of, fname) if self.source_of is not None else None})
        return out

    def explain(self, node_id, max_paths=1000):
        """Why node `node_id` got the gradient it did in the backward() that closed this step (see
        engine.graph.explain): every path from the output, each node's rule and numbers, replayed
        from what that backward saw. Raises ValueError for a step no backward() closed or a node
        no gradient reached."""
        from ..autograd import AccumulateGrad
        from .explain import chain_rule
        data = self._records
        if data is None or data.backward is None or data.flow is None:
            raise ValueError(f"step {self.index}: no backward() closed it, so no gradient to explain")
        node = self.node(node_id)
        r = data.records[node.index] if node.index < len(data.records) else None
        if r is None or node.kind == "failed":
            raise ValueError(f"{node_id}: a failed call has no gradient")
        t = r[R_T]
        goal = r[R_FN] if r[R_OP] is not None else (t.grad_fn if t.grad_fn is not None else t._accumulator)
        if goal is None:
            raise ValueError(f"{node_id}: no gradient reached it")
        flow = data.flow
        roots = [(fn, flow.received[id(fn)]) for fn in dict.fromkeys(data.backward) if id(fn) in flow.received]
        if isinstance(goal, AccumulateGrad) and id(goal) not in flow.received:
            raise ValueError(f"{node_id}: no gradient reached it")
        return chain_rule(roots, goal, _backward.replay(flow, data.records, data.arrays), node.var or node.label,
                          max_paths, self.full_values)

    def trimmed_dict(self, max_nodes):
        """to_dict() with at most `max_nodes` nodes: past the cap, the outputs (what backward()
        ran from, or the open step's results), a failed call, and the nodes closest to them, plus
        one node standing for the rest (see `trim`). Only the kept nodes are summarised."""
        data = self._records
        if self.node_count <= max_nodes or data is None:
            return self.to_dict()
        records = data.records
        n = len(records)
        inputs = [r[R_INS] for r in records]
        kinds = ["op" if r[R_OP] is not None else "leaf" for r in records]
        for i in data.outputs:
            kinds[i] = "output"
        if data.failure is not None:
            inputs.append(data.failure[1])
            kinds.append("failed")
        keep = keep_closest(inputs, trim_targets(kinds, inputs, self.closed), max(1, max_nodes - 1))
        nodes, edges = self._make_nodes(keep)
        sites = record_sites(records)
        left = {}
        for i in range(n):
            r = records[i]
            if i not in keep and r[R_OP] is not None:
                code = r[R_CODE]
                key = (code.co_filename if code is not None else "",) + sites[i] + (r[R_OP].kind,)
                left[key] = left.get(key, 0) + 1
        part = Step.from_nodes(self.index, nodes, edges, loss=self.loss, closed=self.closed,
                               full_values=self.full_values)
        d = part.to_dict()
        d["modules"] = self.modules
        if data.backward is not None:  # the backward nodes of the kept forward nodes
            d["backward"] = _backward.as_dict(_backward.structure(data.backward, records, keep),
                                              {n.index: n for n in nodes if n.kind != "failed"}, kept_only=True,
                                              flow=data.flow, full_values=self.full_values, arrays=data.arrays,
                                              recs=records, summaries=self._summaries())
        if data.param_updates:
            d["updates"] = self.param_updates({n.index: n.id for n in nodes if n.kind != "failed"})
        return with_left_out(d, len(nodes), self.node_count - len(nodes), left)


def _source(source_of, filename):
    if not filename:
        return None
    try:
        name = source_of(filename)
    except Exception:  # noqa: BLE001  naming a source never fails a read
        return None
    return None if name is None else str(name)


class Graph:
    """What a capture recorded: `steps` (closed steps, then the open one if any ops ran after the
    last backward), `step(i)`, `to_dict()`, `to_json()`."""

    def __init__(self, full_values=64, keep_steps=20, source_of=None):
        self.full_values = full_values
        self.source_of = source_of
        self.keep_steps = keep_steps
        self._steps = []
        self._first_detailed = 0  # steps before this one are truncated
        self._open = None
        self._recorder = None

    @property
    def steps(self):
        steps = list(self._steps)
        if self._recorder is not None and self._recorder.recs:
            steps.append(self._recorder.snapshot_step())  # still capturing: the ops so far
        elif self._open is not None:
            steps.append(self._open)
        return steps

    def step(self, i):
        """Step `i` (negative counts from the end, as for lists)."""
        return self.steps[i]

    def __len__(self):
        return len(self.steps)

    def __iter__(self):
        return iter(self.steps)

    @property
    def losses(self):
        return [s.loss for s in self.steps]

    def to_dict(self, detail=None, max_nodes=None):
        """Everything, as documented in docs/graph-schema.md. Summaries are computed here, for every
        kept step; `detail=n` gives nodes only for the last n steps (the others as truncated);
        `max_nodes` trims bigger steps (Step.trimmed_dict)."""
        steps = self.steps
        cut = 0 if detail is None else max(0, len(steps) - detail)
        return {"version": SCHEMA_VERSION, "full_values": self.full_values, "keep_steps": self.keep_steps,
                "steps": [s.trimmed_dict(max_nodes) if k >= cut and max_nodes is not None else s.to_dict(nodes=k >= cut)
                          for k, s in enumerate(steps)]}

    def to_json(self, indent=None, detail=None, max_nodes=None):
        return json.dumps(self.to_dict(detail, max_nodes), indent=indent, allow_nan=False)

    def __repr__(self):
        return f"<Graph: {len(self.steps)} steps>"

    def _repr_html_(self):
        from ..viz import draw
        return draw(self)._repr_html_()

    def _add_step(self, step):
        """Append a closed step; the oldest detailed step beyond keep_steps keeps only its summary."""
        self._steps.append(step)
        steps = self._steps
        while len(steps) - self._first_detailed > self.keep_steps:
            steps[self._first_detailed]._truncate()
            self._first_detailed += 1


