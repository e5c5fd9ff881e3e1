"""Graph capture: record every op a program runs into plain, JSON-ready step records.

    import engine as torch
    with torch.graph.capture() as g:
        loss = model(x).pow(2).mean()
        loss.backward()
    g.steps[0].to_dict()       # {"index": 0, "loss": ..., "nodes": [...], "edges": [...]}

While a capture is active, `engine._state.recorder` is set and `ops._core.apply` reports each op
run to it (op, inputs, output, params); in-place ops report the tensor they overwrote, and
`autograd.backward` tells it where a backward pass starts and ends. Each backward() closes one
step; what runs after the last one is a final, open step.

Recording is cheap on purpose: per op it looks up the first stack frame outside the engine
(`sys._getframe` walk, cached per code object), the input nodes (a dict keyed by tensor id) and
the module path, and keeps a reference to the output array. Values and gradients are summarised
only when a step is read (`Step.nodes`, `to_dict()`), never while the program runs. Steps older
than the last `keep_steps` keep only their loss and node count.

The dictionary shape is versioned and documented in docs/graph-schema.md. Nothing here imports
Panel or Bokeh.
"""
import gc
import json
import linecache
import math
import os
import sys
import time
import weakref
from dataclasses import dataclass, field

import numpy as np

from . import _state

__all__ = ["capture", "Graph", "Step", "Node", "summarize", "from_tensor", "trim", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_STATE = _state.__dict__
_getframe = sys._getframe
_clock = time.perf_counter  # (perf_counter_ns is several times slower to call on some systems)

# One record per node, a tuple built once per op on the hot path: the OpDef (None for a leaf), the
# output tensor, its autograd node at the time, input record indices, the user's code object and
# the offset of the instruction running there (line and columns are looked up from it when the
# step is read), the module path, the forward's time in seconds and the tensor's version then.
R_OP, R_T, R_FN, R_INS, R_CODE, R_LASTI, R_MOD, R_TIME, R_VER = range(9)
K_LEAF, K_PARAM = 1, 2
_KIND_NAMES = {K_LEAF: "leaf", K_PARAM: "param"}

# id(code object) -> True when it belongs to the engine package. Keyed by id because hashing a
# code object hashes its contents; the code objects are kept in _seen_codes so ids stay unique.
_engine_codes = {}
_seen_codes = []
_ENGINE_IDS = set()  # the same, as two sets for the hot path
_USER_IDS = set()


def _is_engine_code(code):
    name = code.co_filename
    if not name or name[0] == "<":
        return False
    return os.path.abspath(name).startswith(_ENGINE_DIR)


def _user_frame(f):
    """The first frame at or above `f` whose code is not part of the engine (None if all are)."""
    eng = _engine_codes
    while f is not None:
        code = f.f_code
        e = eng.get(id(code))
        if e is None:
            e = _classify(code)
        if not e:
            return f
        f = f.f_back
    return None


def _classify(code):
    e = _engine_codes[id(code)] = _is_engine_code(code)
    _seen_codes.append(code)
    (_ENGINE_IDS if e else _USER_IDS).add(id(code))
    return e


# ---------------------------------------------------------------------------------------------
# op timing: while a capture is active each op's forward is wrapped to time itself
_timing = [None]
_originals = {}  # OpDef -> its own forward
_active = []     # recorders, innermost last


def _timed(forward):
    def timed_forward(*args):
        t0 = _clock()
        out = forward(*args)
        _timing[0] = _clock() - t0
        return out
    timed_forward.__wrapped__ = forward
    return timed_forward


_wrappers = {}  # OpDef -> (forward, its timed wrapper, vjp, its watched wrapper), made once


def _wrap_op(op):
    if op in _originals:
        return
    w = _wrappers.get(op)
    if w is None or w[0] is not op.forward or w[2] is not op.vjp:
        w = _wrappers[op] = (op.forward, _timed(op.forward), op.vjp,
                             _watched(op.vjp) if op.vjp is not None else None)
    _originals[op] = w[0]
    op.forward = w[1]
    if w[2] is not None:
        _vjps[op] = w[2]
        op.vjp = w[3]


# gradients: while a captured backward runs, each op's VJP hands the gradient it receives (the
# gradient w.r.t. the op's output) to the recorder first; one dict lookup per node, where a
# hook per node would cost a registration and a tensor per call. Leaves use node prehooks.
_vjps = {}             # OpDef -> its own VJP
_grad_sink = [None]    # ({id(autograd node): record index}, {record index: gradient}) during backward


def _watched(vjp):
    def watched_vjp(m, g, node, *saved):
        sink = _grad_sink[0]
        if sink is not None:
            i = sink[0].get(id(node))
            if i is not None:
                sink[1][i] = g
        return vjp(m, g, node, *saved)
    watched_vjp.__wrapped__ = vjp
    return watched_vjp


_known_ops = []
_scanned = [0, -1]  # number of engine modules scanned, total module count then


def _install_timers():
    """Time every op's forward. The engine's OpDefs are found once by scanning its modules (again
    only when new engine modules were imported); ops met later are wrapped on first use."""
    if _scanned[1] != len(sys.modules):
        names = [n for n in list(sys.modules) if n == "engine" or n.startswith("engine.")]
        if len(names) != _scanned[0]:
            _scanned[0] = len(names)
            _known_ops[:] = _find_ops(names)
        _scanned[1] = len(sys.modules)
    for op in _known_ops:
        _wrap_op(op)


def _find_ops(names):
    from .ops._core import OpDef
    found = {}
    for name in names:
        module = sys.modules.get(name)
        if module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, OpDef):
                found[id(value)] = value
            elif hasattr(value, "__dict__") and not isinstance(value, type) and \
                    str(getattr(type(value), "__module__", "")).startswith("engine."):
                for attr in list(vars(value).values()):
                    if isinstance(attr, OpDef):
                        found[id(attr)] = attr
    return list(found.values())


def _remove_timers():
    for op, forward in _originals.items():
        op.forward = forward
    for op, vjp in _vjps.items():
        op.vjp = vjp
    _originals.clear()
    _vjps.clear()


# ---------------------------------------------------------------------------------------------
# summaries of values and gradients
def _host(array, device=None):
    if isinstance(array, np.ndarray):
        return array
    get = getattr(array, "get", None)  # CuPy
    if get is not None:
        return get()
    if device is not None and getattr(device, "type", "cpu") != "cpu":
        try:
            return device.backend.to_numpy(array)
        except Exception:  # noqa: BLE001  a summary never fails the program
            pass
    return np.asarray(array)


def _num(x):
    """A float for JSON: non-finite values become the strings "nan", "inf", "-inf"."""
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if x != x else ("inf" if x > 0 else "-inf")


def _clean_list(values):
    """Nested lists from tolist() with non-finite floats replaced by strings."""
    out = []
    for v in values:
        if type(v) is list:
            out.append(_clean_list(v))
        elif type(v) is float and not math.isfinite(v):
            out.append(_num(v))
        else:
            out.append(v)
    return out


def _round_sig(a, digits=6):
    """Round to `digits` significant digits (keeps previews and histograms small in JSON)."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(all="ignore"):
        mag = np.floor(np.log10(np.abs(a)))
        mag[~np.isfinite(mag)] = 0
        scale = 10.0 ** (digits - 1 - mag)
        out = np.round(a * scale) / scale
        bad = ~np.isfinite(out)
        if bad.any():
            out[bad] = a[bad]
    return out


def _summarize_small(a, s):
    """Exact values and statistics of a small array, in plain Python (faster than NumPy calls)."""
    data = a.tolist()
    flat = a.ravel().tolist() if a.ndim != 1 else data
    if type(flat) is not list:
        flat = [flat]
    if a.dtype.kind == "f":
        fin = [v for v in flat if math.isfinite(v)]
        s["nan"] = sum(1 for v in flat if v != v)
        s["inf"] = len(flat) - len(fin) - s["nan"]
        if len(fin) != len(flat):
            data = _clean_list(data) if type(data) is list else _num(data)
    else:
        fin = [float(v) for v in flat]
        s["nan"] = s["inf"] = 0
    s["data"] = data
    if fin:
        n = len(fin)
        mean = math.fsum(fin) / n
        s["min"] = float(min(fin))
        s["max"] = float(max(fin))
        s["mean"] = mean
        s["std"] = math.sqrt(math.fsum((v - mean) ** 2 for v in fin) / n)
        s["norm"] = math.sqrt(math.fsum(v * v for v in fin))
        s["abs_mean"] = math.fsum(abs(v) for v in fin) / n
    else:
        s["min"] = s["max"] = s["mean"] = s["std"] = s["norm"] = s["abs_mean"] = None
    return s


def summarize(array, full_values=64, bins=20, preview=64, device=None):
    """A JSON-ready summary of an array (see docs/graph-schema.md, "Value summaries").

    Always: numel, shape, dtype, full, and for non-empty numeric arrays min, max, mean, std,
    norm (L2), abs_mean (mean |x| per element), nan and inf counts over the finite/non-finite
    elements. With numel <= full_values
    the exact values ("data", nested lists as tolist() gives them); otherwise a histogram of the
    finite values ("hist": {"counts", "edges"}) and a strided "preview" (at most `preview`
    values for 1-D, at most 32 x 32 for 2-D and more, the leading dimensions flattened), with
    "preview_step" the stride used per dimension.
    """
    a = _host(array, device)
    n = int(a.size)
    s = {"numel": n, "shape": [int(d) for d in a.shape], "dtype": a.dtype.name, "full": n <= full_values}
    if n == 0:
        return s
    kind = a.dtype.kind
    if kind not in "fbiuc":
        if s["full"]:
            s["data"] = a.tolist()
        return s
    if s["full"] and kind != "c":
        return _summarize_small(a, s)
    if kind == "f":
        f = a if a.dtype == np.float64 else a.astype(np.float64)
    elif kind == "c":
        f = np.abs(a).astype(np.float64)
    else:
        f = a.astype(np.float64)
    fin = np.isfinite(f)
    all_finite = bool(fin.all())
    fv = f.ravel() if all_finite else f[fin]
    s["nan"] = 0 if all_finite else int(np.isnan(f).sum())
    s["inf"] = 0 if all_finite else int(np.isinf(f).sum())
    if fv.size:
        mean = float(fv.sum()) / fv.size
        d = fv - mean
        s["min"] = float(fv.min())
        s["max"] = float(fv.max())
        s["mean"] = mean
        # (elementwise products, not np.dot: BLAS may wake its threads for a dot product, which on a
        # busy machine can cost milliseconds)
        s["std"] = math.sqrt(float(np.multiply(d, d, out=d).sum()) / fv.size)
        s["norm"] = math.sqrt(float((fv * fv).sum()))
        s["abs_mean"] = float(np.abs(fv).sum()) / fv.size
    else:
        s["min"] = s["max"] = s["mean"] = s["std"] = s["norm"] = s["abs_mean"] = None
    if s["full"]:
        data = a.tolist()
        if all_finite or type(data) is not list:
            s["data"] = _num(data) if type(data) is float else data
        else:
            s["data"] = _clean_list(data)
        return s
    if fv.size:
        lo, hi = s["min"], s["max"]
        if hi > lo:
            idx = ((fv - lo) * (bins / (hi - lo))).astype(np.intp)
            np.minimum(idx, bins - 1, out=idx)
            counts = np.bincount(idx, minlength=bins)
            edges = lo + (hi - lo) / bins * np.arange(bins + 1)
        else:
            counts = np.zeros(bins, dtype=np.intp)
            counts[0] = fv.size
            edges = np.linspace(lo - 0.5, lo + 0.5, bins + 1)
        s["hist"] = {"counts": counts.tolist(), "edges": _round_sig(edges).tolist()}
    if a.ndim <= 1:
        step = max(1, -(-n // preview))
        p = f.ravel()[::step]
        s["preview_step"] = [step]
    else:
        a2 = f.reshape(-1, a.shape[-1])
        rs = max(1, -(-a2.shape[0] // 32))
        cs = max(1, -(-a2.shape[1] // 32))
        p = a2[::rs, ::cs]
        s["preview_step"] = [rs, cs]
    p = _round_sig(p).tolist()
    s["preview"] = p if all_finite else _clean_list(p)
    return s


# ---------------------------------------------------------------------------------------------
# the records of one step
@dataclass
class Node:
    """One node of a captured step: an op (and the tensor it produced) or a leaf tensor."""
    id: str
    label: str
    kind: str                 # "leaf", "param", "op", "output", "failed" (a call that raised)
    op: str | None            # PyTorch node name ("MulBackward0") or function name ("mul"); None for leaves
    shape: list
    dtype: str
    device: str
    line: int = -1
    file: str = ""
    code: str = ""
    module: str | None = None
    col: int = -1             # where on the line the call that made it starts and ends (0-based)
    end_col: int = -1
    module_type: str | None = None  # class name of the innermost module ("Linear")
    value: dict | None = None
    grad: dict | None = None
    time_us: float | None = None
    fn: str | None = None     # short op name ("mul"), also for ops that needed no gradient
    var: str | None = None    # the variable that held this tensor in the user's frame, if seen
    inputs: list = field(default_factory=list)  # input node ids in argument order (repeats kept)
    aliases: list = field(default_factory=list)  # a leaf's other variable names ("also: z")
    error: str | None = None  # for kind "failed": the exception the call raised
    inplace: str | None = None  # "add_" when the op wrote into an existing tensor
    updates: str | None = None  # a leaf this in-place op changed without making a new node for it
    requires_grad: bool = False
    index: int = 0            # position in run order within the step

    def to_dict(self):
        return {"id": self.id, "label": self.label, "kind": self.kind, "op": self.op, "shape": list(self.shape),
                "dtype": self.dtype, "device": self.device, "line": self.line, "file": self.file,
                "code": self.code, "module": self.module, "module_type": self.module_type, "col": self.col,
                "end_col": self.end_col, "value": self.value, "grad": self.grad,
                "time_us": self.time_us, "fn": self.fn, "var": self.var, "inputs": list(self.inputs),
                "aliases": list(self.aliases), "error": self.error,
                "inplace": self.inplace, "updates": self.updates, "requires_grad": self.requires_grad,
                "index": self.index}


class Step:
    """One step: the ops from the previous backward() (or the start) up to and including the
    tensors a backward() ran from. Summaries are computed on first access and cached."""

    def __init__(self, index, loss=None, closed=True, full_values=64):
        self.index = index
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

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def _from_records(cls, index, data, grads, loss, closed, full_values):
        step = cls(index, loss, closed, full_values)
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
        from .viz import draw
        return draw(self)._repr_html_()

    # -- lifecycle ----------------------------------------------------------------------------
    def _truncate(self):
        self._modules = {}
        if self._edge_count is None and self._records is not None:
            self._edge_count = _count_edges(self._records.records)
        self._records = self._grads = self._extras = None
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
        full = self.full_values
        leaf_info = data.leaf_info
        arrays = data.arrays
        inplace_names = data.inplace
        updates = data.updates
        outputs = data.outputs
        varnames = data.vars
        sites = _sites(records)
        ids = _node_ids(records, leaf_info, sites)
        consumed = set()
        for r in records:
            consumed.update(r[R_INS])
        nodes = []
        edges = []
        code_cache = {}
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
            t = r[R_T]
            dev = t.device
            arr = arrays[i] if i in arrays else t._data
            value = summarize(arr, full, device=dev)
            if i not in arrays and t._version_box[0] != r[R_VER]:
                value["stale"] = True  # changed in place after this op ran
            g = grads.get(i)
            if g is not None and hasattr(g, "_data"):
                g = g._data  # a backward with create_graph=True passes tensors
            grad = summarize(g, full, device=dev) if g is not None else None
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
                kind = _KIND_NAMES[k]
                opname = fn = None
                rg = bool(t._rg)
            t_s = r[R_TIME]
            node = Node(id=ids[i], label=label, kind=kind, op=opname, shape=[int(d) for d in arr.shape],
                        dtype=arr.dtype.name, device=str(dev), line=line, col=col, end_col=end_col,
                        file=fname, code=code, module=r[R_MOD], module_type=data.module_types.get(r[R_MOD]),
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
            nodes.append(_failed_node(data.failure, [ids[j] for j in data.failure[1]], len(records)))
            edges.extend((src, nodes[-1].id) for j, src in zip(data.failure[1], nodes[-1].inputs)
                         if keep is None or j in keep)
        return nodes, edges

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
        return _backward_dict(_backward_structure(data.backward, data.records), dict(enumerate(self.nodes)))

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
        keep = _keep_closest(inputs, _trim_targets(kinds, inputs, self.closed), max(1, max_nodes - 1))
        nodes, edges = self._make_nodes(keep)
        sites = _sites(records)
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
            d["backward"] = _backward_dict(_backward_structure(data.backward, records, keep),
                                           {n.index: n for n in nodes if n.kind != "failed"}, kept_only=True)
        return _with_left_out(d, len(nodes), self.node_count - len(nodes), left)


# ---------------------------------------------------------------------------------------------
# trimming a step too big to show
def _trim_targets(kinds, inputs, closed=True):
    """Where a trimmed step keeps its nodes from: outputs and failed calls; else (an open step)
    the results nothing used; else the last node."""
    targets = [k for k, kind in enumerate(kinds) if kind in ("output", "failed")]
    if not targets:
        used = set()
        for ins in inputs:
            used.update(ins)
        targets = [k for k, kind in enumerate(kinds) if kind not in ("leaf", "param", "elided") and k not in used]
    return targets or [len(kinds) - 1]


def _keep_closest(inputs, targets, budget):
    """At most `budget` node indices: the targets, then breadth-first along inputs (the nodes
    nearest to them first, later ones first among equals)."""
    keep = set()
    frontier = sorted(set(targets), reverse=True)
    while frontier and len(keep) < budget:
        nxt = []
        for k in frontier:
            if k in keep:
                continue
            keep.add(k)
            if len(keep) >= budget:
                break
            nxt.extend(j for j in inputs[k] if j not in keep)
        frontier = sorted(set(nxt), reverse=True)
    return keep


def _node_site(n):
    return (n.get("file") or "", n.get("line", -1), n.get("col", -1), n.get("end_col", -1), n.get("fn") or n.get("op"))


def _with_left_out(d, kept, left_out, sites):
    """Step dict `d` holding the kept nodes, plus a node standing for the `left_out` others, an
    edge from it into each kept node that lost an input, "nodes_left_out" and "left_out_sites"
    ([file, line, col, end_col, op, how many ran there but were left out], for loop counts)."""
    if left_out <= 0:
        return d
    nodes = list(d["nodes"])
    ids = {n["id"] for n in nodes}
    placeholder = Node(id="left-out", label=f"⋯ {left_out:,} more", kind="elided", op=None, shape=[],
                       dtype="", device="", fn=None, index=-1).to_dict()
    cut = [n["id"] for n in nodes if any(j not in ids for j in n.get("inputs") or ())]
    d = dict(d)
    d["nodes"] = [placeholder] + nodes
    d["edges"] = [{"source": "left-out", "target": t, "slot": -1} for t in cut] + list(d["edges"])
    d["node_count"] = kept + left_out  # every node that ran (the stand-in is not one)
    d["nodes_left_out"] = left_out
    d["left_out_sites"] = [list(k) + [c] for k, c in sites.items()]
    d["edge_count"] = len(d["edges"])
    return d


def trim(step, max_nodes):
    """A step dict with at most `max_nodes` nodes drawn: the outputs, failed calls and the nodes
    closest to them kept, one node (kind "elided") standing for the rest, and how many ran at each
    call site left out ("left_out_sites"), so a folded loop still counts every iteration."""
    nodes = [n for n in step.get("nodes") or () if n.get("kind") != "elided"]
    if len(step.get("nodes") or ()) <= max_nodes:
        return step
    before = int(step.get("nodes_left_out") or 0)
    index = {n["id"]: k for k, n in enumerate(nodes)}
    inputs = [[index[j] for j in n.get("inputs") or () if j in index] for n in nodes]
    keep = _keep_closest(inputs, _trim_targets([n.get("kind") for n in nodes], inputs), max(1, max_nodes - 1))
    left = {}
    for site, c in ((tuple(s[:5]), s[5]) for s in step.get("left_out_sites") or ()):
        left[site] = left.get(site, 0) + c
    for k, n in enumerate(nodes):
        if k not in keep and n.get("kind") in ("op", "output"):
            site = _node_site(n)
            left[site] = left.get(site, 0) + 1
    kept = [n for k, n in enumerate(nodes) if k in keep]
    ids = {n["id"] for n in kept}
    edges = [e for e in step.get("edges") or () if e["source"] in ids and e["target"] in ids]
    d = dict(step, nodes=kept, edges=edges, nodes_left_out=0)
    return _with_left_out(d, len(kept), before + len(nodes) - len(kept), left)


# ---------------------------------------------------------------------------------------------
# the backward graph, as PyTorch builds it
def _backward_structure(roots, recs, keep=None):
    """The autograd graph a backward() ran through, from its roots (the outputs' grad_fn) along
    next_functions (breadth first, each node once): [(name, record index of the op or leaf it
    belongs to or None, [(position of the next node, input slot), ...])]. With `keep` (record
    indices), the walk does not go past nodes of other records (a trimmed step)."""
    from .autograd import AccumulateGrad, OpNode
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
            out.append((node.name(), forward, []))
            continue
        # an op node's inputs are next_functions as they are, unless the op presents them otherwise
        if kind is OpNode and node.op.shown_edges is None:
            inputs = node._next
        else:
            inputs = [c for c, _ in node.next_functions]
        nexts = []
        for slot, child in enumerate(inputs):
            if child is None:
                continue
            j = pos.get(id(child))
            if j is None:
                j = pos[id(child)] = len(order)
                order.append(child)
            nexts.append((j, slot))
        out.append((node.name(), forward, nexts))
    return out


def _backward_dict(structure, forward_nodes, kept_only=False):
    """The backward graph's nodes and edges (see Step.backward_graph) from its structure and the
    forward nodes by record index (whose gradient summaries they share); `kept_only`: leave out the
    backward nodes of forward nodes not given (a trimmed step)."""
    nodes, edges, kept = [], [], set()
    for k, (name, forward, _) in enumerate(structure):
        fnode = forward_nodes.get(forward) if forward is not None else None
        if kept_only and forward is not None and fnode is None:
            continue
        kept.add(k)
        nodes.append({"id": f"b{k}", "name": name, "forward_id": fnode.id if fnode is not None else None,
                      "grad": fnode.grad if fnode is not None else None})
    for k, (_, _, nexts) in enumerate(structure):
        if k in kept:
            edges.extend({"source": f"b{k}", "target": f"b{j}", "slot": slot} for j, slot in nexts if j in kept)
    return {"nodes": nodes, "edges": edges}


def _failed_node(failure, inputs, index):
    """The node of a call that raised: where it was, what it was given and the exception."""
    label, _, code, lasti, message = failure
    line, col, end_col = _sites([(None, None, None, (), code, lasti)])[0]
    fname = code.co_filename
    text = linecache.getline(fname, line).strip() if fname and line > 0 else ""
    return Node(id=f"{os.path.basename(fname)}:{line}:failed", label=label, kind="failed", op=None, shape=[],
                dtype="", device="", line=line, col=col, end_col=end_col, file=fname, code=text, fn=label,
                inputs=inputs, error=message, index=index)


def _sites(records):
    """(line, col, end_col) per record from its code object and instruction offset (-1 unknown)."""
    positions = {}
    out = []
    for r in records:
        code = r[R_CODE]
        lasti = r[R_LASTI]
        if code is None or lasti < 0:
            out.append((-1, -1, -1))
            continue
        pos = positions.get(id(code))
        if pos is None:
            pos = positions[id(code)] = list(code.co_positions())
        k = lasti // 2
        p = pos[k] if k < len(pos) else (None, None, None, None)
        line = p[0] if p[0] is not None else -1
        out.append((line, p[2] if p[2] is not None else -1, p[3] if p[3] is not None else -1))
    return out


def _node_ids(records, leaf_info, sites):
    """Ids from where each node was made: "file:line:op#k", k counting earlier nodes of the same
    file, line and op in this step ("file:line:name#k" for leaves, "param:<path>" for parameters)."""
    counts = {}
    ids = []
    short_names = {}
    for i, r in enumerate(records):
        code = r[R_CODE]
        short = short_names.get(id(code))
        if short is None:
            short = short_names[id(code)] = os.path.basename(code.co_filename) if code is not None else "?"
        op = r[R_OP]
        line = sites[i][0]
        if op is None:
            info = leaf_info[i]
            kind = info[0]
            base = f"param:{info[-1]}" if kind == K_PARAM else f"{short}:{line}:{info[1]}"
        else:
            base = f"{short}:{line}:{op.kind}"
        k = counts.get(base, 0)
        counts[base] = k + 1
        ids.append(base if base[:6] == "param:" and not k else f"{base}#{k}")
    return ids


def _count_edges(records):
    return sum(len(r[R_INS]) for r in records)


class _StepData:
    """What a step keeps until it is truncated: the records (with their tensors) and side tables."""
    __slots__ = ("records", "leaf_info", "arrays", "inplace", "updates", "outputs", "vars", "module_types",
                 "aliases", "failure", "backward")

    def __init__(self, records, leaf_info, arrays, inplace, updates, outputs, vars, module_types=None,
                 aliases=None, failure=None):
        self.backward = None          # the grad_fn(s) a backward() started from (see _backward_structure)
        self.aliases = aliases or {}  # leaf record index -> other variable names bound to it
        self.failure = failure        # see _Recorder.failure
        self.records = records
        self.leaf_info = leaf_info
        self.arrays = arrays        # record index -> array to show instead of the tensor's own
        self.inplace = inplace
        self.updates = updates
        self.outputs = outputs
        self.vars = vars
        self.module_types = module_types or {}


class Graph:
    """What a capture recorded: `steps` (closed steps, then the open one if any ops ran after the
    last backward), `step(i)`, `to_dict()`, `to_json()`."""

    def __init__(self, full_values=64, keep_steps=20):
        self.full_values = full_values
        self.keep_steps = keep_steps
        self._steps = []
        self._first_detailed = 0  # steps before this one are truncated
        self._open = None
        self._recorder = None

    @property
    def steps(self):
        steps = list(self._steps)
        if self._recorder is not None and self._recorder.recs:
            steps.append(self._recorder._snapshot_step())  # still capturing: the ops so far
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
        from .viz import draw
        return draw(self)._repr_html_()

    def _add_step(self, step):
        """Append a closed step; the oldest detailed step beyond keep_steps keeps only its summary."""
        self._steps.append(step)
        steps = self._steps
        while len(steps) - self._first_detailed > self.keep_steps:
            steps[self._first_detailed]._truncate()
            self._first_detailed += 1


# ---------------------------------------------------------------------------------------------
# where tensors were made: the factories and nn.Parameter report each tensor made while a capture
# is active (`_Recorder.created`), so a leaf is placed and named at the statement that made it,
# not where it is first used. Entries outlive one capture (a tensor made in one cell and used in
# the next) and go with their tensor.
class _Origin(weakref.ref):
    __slots__ = ("key", "code", "lasti", "ns", "name", "module")


_origins = {}  # id(tensor) -> _Origin


def _drop_origin(ref):
    if _origins.get(ref.key) is ref:
        del _origins[ref.key]


def _origin_of(t):
    o = _origins.get(id(t))
    return o if o is not None and o() is t else None


_STORES = {"STORE_NAME", "STORE_FAST", "STORE_GLOBAL", "STORE_DEREF"}
_stores_cache = {}  # id(code) -> (code, [(offset, line, name) of each store into a variable])


def _stores_after(code, lasti):
    """The variables the statement running at `lasti` stores into after that instruction: the
    stores that follow it up to the first instruction on a line past the call's last line."""
    entry = _stores_cache.get(id(code))
    if entry is None or entry[0] is not code:
        import dis
        ins = []
        try:
            for i in dis.get_instructions(code):
                p = i.positions
                ins.append((i.offset, p.lineno if p else None, p.end_lineno if p else None,
                            i.argval if i.opname in _STORES else None))
        except Exception:  # noqa: BLE001
            pass
        entry = _stores_cache[id(code)] = (code, ins)
    ins = entry[1]
    end = None
    names = []
    for offset, line, end_line, name in ins:
        if offset < lasti:
            continue
        if offset == lasti:
            end = end_line
            continue
        if end is not None and line is not None and line > end and names:
            break
        if name is not None:
            names.append(name)
            if len(names) >= 16:
                break
    return names


def _creation_name(t, origin, f):
    """The variable the statement that made `t` bound it to, if it still does (checked in the
    module namespace of that statement, or in frame `f` when it runs the same code)."""
    ns = origin.ns
    if ns is None and f is not None and f.f_code is origin.code:
        try:
            ns = f.f_locals
        except Exception:  # noqa: BLE001
            return None
    if ns is None:
        return None
    for name in _stores_after(origin.code, origin.lasti):
        if name[:1] != "_" and ns.get(name) is t:
            origin.name = name
            return name
    return None


# ---------------------------------------------------------------------------------------------
# the recorder
def _var_name(t, f):
    """The name a frame (or its globals) gives to tensor t, or None."""
    if f is None:
        return None
    try:
        loc = f.f_locals
        for k, v in loc.items():
            if v is t and k != "self":
                return k
        g = f.f_globals
        if g is not loc:
            for k, v in g.items():
                if v is t:
                    return k
    except Exception:  # noqa: BLE001
        pass
    return None


class _Recorder:
    """Set as engine._state.recorder while a capture is active."""

    def __init__(self, graph):
        self.graph = graph
        self.full_values = graph.full_values
        self.step_index = 0
        self._root_names = {}
        self._child_names = {}
        self._param_names = {}
        self._mod_paths = {}
        self.module_types = {}  # module path -> class name of the module there
        self._keep_modules = []
        self._hooks = None
        self._grads = None
        self._leaf_grads = None
        self._names = {}  # id(tensor) -> (weak reference, variable name) of named leaves
        self.namespace = None  # the globals of the code that last used a new leaf (names for an open step)
        self._new_step()

    def _new_step(self):
        self.recs = []
        self.tmap = {}
        self.keep = []          # tensors an entry of tmap refers to that no record holds
        self._stand_ins = {}    # id of a copy -> the tensor whose old value it holds (see stands_for)
        self.leaf_info = {}     # record index -> (K_LEAF or K_PARAM, label)
        self.arrays = {}        # record index -> the value to show (an in-place op's saved old value)
        self.inplace_names = {}
        self.updates = {}
        self.updated = set()    # leaves an in-place op changed in this step
        self.failure = None     # (label, input record indices, code, offset, message) of a call that raised
        self.backward = None    # the grad_fn(s) the step's backward() started from

    # -- forward ------------------------------------------------------------------------------
    def __call__(self, op, inputs, result, params):
        t_s = _timing[0]
        if t_s is None:
            if op not in _originals:
                _wrap_op(op)
        else:
            _timing[0] = None
        # the user's frame: the first one above the engine's (ids of classified code objects are
        # in two sets; a code seen for the first time takes the slow path once)
        f = _getframe(2)
        try:
            while id(f.f_code) in _ENGINE_IDS:
                f = f.f_back
            if id(f.f_code) not in _USER_IDS:
                f = _user_frame(f)
            code = f.f_code
            line = f.f_lasti
        except AttributeError:  # no frame outside the engine
            f = code = None
            line = -1
        ms = _STATE.get("module_stack")
        mod = self._module_path(ms, f) if ms else None
        get = self.tmap.get
        if len(inputs) == 1:
            i = get(id(inputs[0]))
            if i is None:
                i = self._unknown(inputs[0], f, code, line, ms, mod)
            ins = (i,)
        else:
            ins = []
            for t in inputs:
                i = get(id(t))
                if i is None:
                    i = self._unknown(t, f, code, line, ms, mod)
                ins.append(i)
            ins = tuple(ins)
        recs = self.recs
        self.tmap[id(result)] = len(recs)
        recs.append((op, result, result.grad_fn, ins, code, line, mod, t_s, result._version_box[0]))

    def stands_for(self, copy, original):
        """`copy` holds `original`'s value before an in-place op overwrites it: draw it as `original`."""
        self._stand_ins[id(copy)] = original

    def created(self, t):
        """A factory or nn.Parameter made tensor t: remember the user's statement that made it."""
        f = _user_frame(_getframe(2))
        if f is None:
            return
        o = _Origin(t, _drop_origin)
        o.key = id(t)
        o.code = f.f_code
        o.lasti = f.f_lasti
        o.ns = f.f_globals if f.f_code.co_name == "<module>" else None  # module code stores there
        o.name = None
        ms = _STATE.get("module_stack")
        o.module = self._module_path(ms, f) if ms else None  # made inside a module's forward: it belongs there
        _origins[o.key] = o

    def _unknown(self, t, f, code, line, ms, mod):
        original = self._stand_ins.pop(id(t), None) if self._stand_ins else None
        if original is not None:
            j = self.tmap.get(id(original))
            if j is None:
                j = self._unknown(original, f, code, line, ms, mod)
            self.tmap[id(t)] = j
            self.keep.append(t)
            return j
        fn = t.grad_fn
        recs = self.recs
        if fn is not None:
            # the old value of a tensor an in-place op is about to overwrite: a copy that shares
            # the tensor's node (see ops/inplace.py); it is the value that node stands for
            for j in range(len(recs) - 1, -1, -1):
                if recs[j][R_FN] is fn:
                    self.tmap[id(t)] = j
                    self.keep.append(t)
                    if recs[j][R_T] is not t:
                        self.arrays[j] = t._data
                    return j
        j = len(recs)
        self.tmap[id(t)] = j
        if f is not None:
            self.namespace = f.f_globals
        # a leaf made while capturing is named after the variable its statement bound it to;
        # otherwise after the variable the line that used it reads it from; failing that, at the
        # end of the step, from the variables of its frame
        origin = _origin_of(t)
        kind = K_LEAF
        name = None
        if type(t).__name__ == "Parameter":
            kind = K_PARAM
            name, pmod, full = self._param_name(t, ms, f)
            if name is not None:
                self.leaf_info[j] = (K_PARAM, name, full)
                mod = pmod
        if name is None:
            # a tensor seen in an earlier step keeps the name it had (inputs and weights come back)
            known = self._names.get(id(t))
            if known is not None and known[0]() is t:
                name = known[1]
            elif origin is not None and (origin.name or _creation_name(t, origin, f)):
                name = origin.name
            elif f is not None:
                name = _name_on_line(t, f, code, line)
                if name is not None:
                    if len(self._names) > 4096:
                        self._names.clear()
                    self._names[id(t)] = (weakref.ref(t), name)
            if name is None:
                self.leaf_info[j] = (kind, f)
            else:
                self.leaf_info[j] = (kind, name, name) if kind == K_PARAM else (kind, name)
        if origin is not None:  # placed where it was made, in the module that made it (if any)
            code, line = origin.code, origin.lasti
            if kind == K_LEAF:
                mod = origin.module
        recs.append((None, t, None, (), code, line, mod, None, t._version_box[0]))
        return j

    def _param_name(self, p, ms, f):
        if ms:
            root = ms[0]
            table = self._param_names.get(id(root))
            if table is None:
                table = {}
                try:
                    for name, q in root.named_parameters():
                        table.setdefault(id(q), name)
                except Exception:  # noqa: BLE001
                    pass
                self._param_names[id(root)] = table
                self._keep_modules.append(root)
            name = table.get(id(p))
            if name is not None:
                root_name = self._root_name(root, f)
                owner, _, _ = name.rpartition(".")
                return name, root_name + ("." + owner if owner else ""), f"{root_name}.{name}"
        return None, None, None

    def _module_path(self, ms, f):
        key = (id(ms[0]), id(ms[-1]), len(ms))
        path = self._mod_paths.get(key)
        if path is None:
            parts = [self._root_name(ms[0], f)]
            self.module_types.setdefault(parts[0], type(ms[0]).__name__)
            for parent, child in zip(ms, ms[1:]):
                table = self._child_names.get(id(parent))
                if table is None:
                    table = {}
                    try:
                        for name, c in parent.named_children():
                            table.setdefault(id(c), name)
                    except Exception:  # noqa: BLE001
                        pass
                    self._child_names[id(parent)] = table
                parts.append(table.get(id(child)) or type(child).__name__)
                self.module_types.setdefault(".".join(parts), type(child).__name__)
            path = ".".join(parts)
            self._mod_paths[key] = path
            self.module_types[path] = type(ms[-1]).__name__
            self._keep_modules.append(list(ms))
        return path

    def _root_name(self, root, f):
        name = self._root_names.get(id(root))
        if name is None:
            g = f
            depth = 0
            while g is not None and depth < 30 and name is None:
                if not _engine_codes.get(id(g.f_code), False):
                    name = _var_name(root, g)
                g = g.f_back
                depth += 1
            if name is None:
                name = type(root).__name__.lower()
            self._root_names[id(root)] = name
            self._keep_modules.append(root)
        return name

    def inplace(self, name, x, result):
        tmap = self.tmap
        i = tmap.get(id(result))
        if i is None:
            return
        self.inplace_names[i] = name
        j = tmap.get(id(x))
        if j is not None and self.recs[j][R_OP] is None and result.grad_fn is None:
            # a leaf changed outside autograd (an optimizer step, x[0] = 1 under no_grad): it stays
            # one node, and this op is marked as updating it
            self.updates[i] = j
            self.updated.add(j)
            g = x.grad
            if g is not None:  # an update reading x.grad: call that leaf "<x>.grad"
                k = tmap.get(id(g))
                if k is not None and self.recs[k][R_OP] is None and self.leaf_info[k][0] == K_LEAF:
                    self.leaf_info[k] = (K_LEAF, ("grad", j))
            return
        tmap[id(x)] = i
        self.keep.append(x)

    # -- backward -----------------------------------------------------------------------------
    def begin_backward(self, outputs):
        _state.recorder = None  # ops run by the backward pass itself are not part of the program
        grads = self._grads = {}
        hooks = self._hooks = []
        leaves = self._leaf_grads = []
        recs = self.recs
        # op outputs: their node's VJP reports the gradient (every recorded op's VJP is watched)
        watched = {id(r[R_FN]): i for i, r in enumerate(recs) if r[R_FN] is not None}
        # a custom Function's outputs get their node after the ops inside it ran
        tmap = self.tmap
        late = [i for i, r in enumerate(recs) if r[R_FN] is None and r[R_OP] is not None and r[R_T]._rg
                and tmap.get(id(r[R_T])) == i]
        for i in late:
            fn = recs[i][R_T].grad_fn
            if fn is not None:
                hooks.append(fn.register_prehook(_grad_hook(grads, i)))
        for i in self.leaf_info:
            t = recs[i][R_T]
            if not t._rg:
                continue
            fn = t.grad_fn
            if fn is not None:  # a result from an earlier step, entering this one as an input
                if type(fn).__name__ == "OpNode" and fn.op in _vjps:
                    watched[id(fn)] = i
                else:
                    hooks.append(fn.register_prehook(_grad_hook(grads, i)))
            elif t.grad is None:
                leaves.append(i)  # what this backward puts into the empty .grad is read from it after
            else:
                hooks.append(t._grad_accumulator().register_prehook(_grad_hook(grads, i)))
        _grad_sink[0] = (watched, grads)

    def end_backward(self, outputs):
        _grad_sink[0] = None
        try:
            for h in self._hooks or ():
                h.remove()
            grads = self._grads or {}
            recs = self.recs
            for i in self._leaf_grads or ():
                g = recs[i][R_T].grad
                if g is not None:
                    grads[i] = g._data.copy()  # a copy: the next backward or zero_grad writes into .grad
            loss = None
            if len(outputs) == 1 and outputs[0]._data.size == 1:
                try:
                    loss = float(outputs[0].item())
                except Exception:  # noqa: BLE001
                    loss = None
            roots = {self.tmap[id(t)] for t in outputs if id(t) in self.tmap}
            # the roots of the autograd graph: walked only when the backward graph is read (the
            # records keep its nodes alive meanwhile)
            self.backward = [t.grad_fn for t in outputs if t.grad_fn is not None]
            self._close(loss, roots, grads, [_user_frame(_getframe(1))], closed=True)
        finally:
            self._hooks = self._grads = self._leaf_grads = None
            _state.recorder = self

    # -- steps --------------------------------------------------------------------------------
    def _step_data(self, roots, frames):
        """What the step keeps; `frames`: where its variables' names are looked up, first first
        (frames, or _Namespace for a namespace whose frame is gone)."""
        recs = self.recs
        arrays = dict(self.arrays)
        # values that a later in-place write could change: leaves (parameters are updated by the
        # optimizer) and views of them are copied now; everything else is kept by reference
        if self.leaf_info:
            boxes = set()
            for j, info in self.leaf_info.items():
                t = recs[j][R_T]
                if t._rg or info[0] == K_PARAM or j in self.updated:
                    boxes.add(id(t._version_box))
            for i in [i for i, r in enumerate(recs) if id(r[R_T]._version_box) in boxes]:
                r = recs[i]
                t = r[R_T]
                if t._version_box[0] == r[R_VER] and i not in arrays:
                    arrays[i] = t._data.copy()
        tables = {}  # id(frame) -> {id(value): name}, one look at each frame's variables per step
        varnames = {}
        tmap = self.tmap
        frames = [f for f in frames if f is not None]
        for frame in frames:
            for tid, name in _frame_names(frame, tables).items():
                i = tmap.get(tid)
                if i is not None and recs[i][R_OP] is not None:
                    varnames.setdefault(i, name)
        leaves = _name_leaves(self.leaf_info, recs, tables)
        aliases = {}
        if frames and leaves:
            every = _every_name(frames)
            for j, info in leaves.items():
                if info[0] == K_LEAF:
                    others = [n for n in every.get(id(recs[j][R_T]), ()) if n != info[1]]
                    if others:
                        aliases[j] = others
        data = _StepData(recs, leaves, arrays, self.inplace_names, self.updates, set(roots), varnames,
                         self.module_types, aliases, self.failure)
        data.backward = self.backward
        return data

    def _close(self, loss, roots, grads, frames, closed):
        if not self.recs and not closed and self.failure is None:
            return None
        step = Step._from_records(self.step_index, self._step_data(roots, frames), grads, loss, closed,
                                  self.full_values)
        self.step_index += 1
        self._new_step()
        if closed:
            self.graph._add_step(step)
        return step

    def _snapshot_step(self):
        data = _StepData(list(self.recs), _name_leaves(self.leaf_info, self.recs, {}), dict(self.arrays),
                         dict(self.inplace_names),
                         dict(self.updates), set(), {}, self.module_types)
        return Step._from_records(self.step_index, data, {}, None, False, self.full_values)

    def finish(self, frame, error=None):
        """End the capture: what ran after the last backward() becomes the open step. `error`: the
        exception that ended the block, if any; the call that raised becomes a "failed" node."""
        frames = [frame]
        if error is not None:
            where = self._record_failure(error)
            if where is not None:
                frames.insert(0, where)  # the names at the point of failure come first
        if self.namespace is not None:
            frames.append(_Namespace(self.namespace))  # the block's code may have run elsewhere (exec)
        step = self._close(None, (), {}, frames, closed=False)
        self.graph._open = step
        self._keep_modules = []
        self._root_names.clear()
        self._child_names.clear()
        self._param_names.clear()
        self._mod_paths.clear()

    def _record_failure(self, error):
        """Note the call that raised `error`: its site (the deepest frame outside the engine that
        called into it, else the deepest one), what it was (the op, else the engine function called)
        and the tensors it was given. Returns that frame."""
        from .tensor import Tensor
        tb = error.__traceback__
        entries = []
        while tb is not None:
            entries.append((tb.tb_frame, tb.tb_lasti))
            tb = tb.tb_next
        engine = [_engine_codes.get(id(f.f_code)) if id(f.f_code) in _engine_codes else _classify(f.f_code)
                  for f, _ in entries]
        user = [k for k, e in enumerate(engine) if not e]
        if not user:
            return None
        called = [k for k in user if k + 1 < len(entries) and engine[k + 1]]
        k = called[-1] if called else user[-1]
        frame, lasti = entries[k]
        label, tensors = _call_name(frame.f_code, lasti) or type(error).__name__, []
        if k + 1 < len(entries) and engine[k + 1]:
            callee = entries[k + 1][0]
            apply = next((f for f, _ in entries[k + 1:] if f.f_code is _apply_code()), None)
            if apply is not None and "op" in apply.f_locals:
                label = apply.f_locals["op"].kind
                tensors = list(apply.f_locals.get("inputs") or ())
            else:
                code = callee.f_code
                n = code.co_argcount + code.co_kwonlyargcount
                args = [callee.f_locals.get(v) for v in code.co_varnames[:n]]
                if code.co_flags & 0x04:  # *args
                    args.extend(callee.f_locals.get(code.co_varnames[n]) or ())
                tensors = [a for a in args if isinstance(a, Tensor)]
        ins = []
        for t in tensors:
            if not isinstance(t, Tensor):
                continue
            i = self.tmap.get(id(t))
            if i is None:
                i = self._unknown(t, frame, frame.f_code, lasti, None, None)
            ins.append(i)
        message = f"{type(error).__name__}: {error}"
        if len(message) > 2000:
            message = message[:2000] + " ..."
        self.failure = (label, tuple(ins), frame.f_code, lasti, message)
        return frame


_BINARY_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div", "//": "floor_divide", "%": "remainder",
                 "**": "pow", "@": "matmul", "&": "bitwise_and", "|": "bitwise_or", "^": "bitwise_xor",
                 "<<": "bitwise_left_shift", ">>": "bitwise_right_shift"}


_CALLEE_LOADS = {"LOAD_ATTR", "LOAD_METHOD", "LOAD_NAME", "LOAD_GLOBAL", "LOAD_FAST", "LOAD_DEREF"}


def _call_name(code, lasti):
    """What the instruction at `lasti` calls, by name: the function or method of a call
    ("matmul" for torch.matmul(a, b) or a.matmul(b)), the op of an operator ("matmul" for a @ b),
    "getitem"/"setitem" for subscripts; None when it is none of these."""
    import dis
    try:
        ins = list(dis.get_instructions(code))
    except Exception:  # noqa: BLE001
        return None
    # the running instruction (a frame's offset may point into the inline caches after it)
    at = max((k for k, i in enumerate(ins) if i.offset <= lasti), default=None)
    if at is None:
        return None
    i = ins[at]
    if i.opname == "BINARY_OP":
        return _BINARY_NAMES.get(i.argrepr.rstrip("="), None)
    if i.opname in ("BINARY_SUBSCR", "STORE_SUBSCR"):
        return "getitem" if i.opname == "BINARY_SUBSCR" else "setitem"
    if i.opname.startswith("CALL") and i.positions is not None:
        # the callee expression starts where the call does: the nearest name or attribute loaded
        # at that position before the call is the function's own name (arguments start later)
        start = (i.positions.lineno, i.positions.col_offset)
        for q in reversed(ins[:at]):
            if q.opname in _CALLEE_LOADS and q.positions is not None and \
                    (q.positions.lineno, q.positions.col_offset) == start:
                return str(q.argval)
    return None


def _apply_code():
    from .ops import _core
    return _core.apply.__code__


class _Namespace:
    """A namespace standing in for a frame that has ended (its variables are its module's)."""
    __slots__ = ("f_locals", "f_globals")

    def __init__(self, ns):
        self.f_locals = self.f_globals = ns


def _every_name(frames):
    """{id(value): [every variable name bound to it]} over frames' locals and then their globals."""
    out = {}
    seen = set()
    for f in frames:
        for ns in (f.f_locals, f.f_globals):
            if id(ns) in seen:
                continue
            seen.add(id(ns))
            try:
                for k, v in ns.items():
                    if k != "self" and k[:1] != "_":
                        names = out.setdefault(id(v), [])
                        if k not in names:
                            names.append(k)
            except Exception:  # noqa: BLE001
                pass
    return out


_line_names_cache = {}  # id(code) -> (code, {line: [names and (name, attribute) pairs read there]})
_LOADS = {"LOAD_NAME", "LOAD_FAST", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_CLASSDEREF", "LOAD_FAST_CHECK"}


def _names_by_line(code):
    entry = _line_names_cache.get(id(code))
    if entry is not None and entry[0] is code:
        return entry[1]
    import dis
    table = {}
    prev = None
    try:
        for ins in dis.get_instructions(code):
            line = ins.positions.lineno if ins.positions is not None else None
            if ins.opname in _LOADS and isinstance(ins.argval, str):
                table.setdefault(line, []).append(ins.argval)
                prev = ins.argval
                continue
            if ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and prev is not None:
                table.setdefault(line, []).append((prev, ins.argval))
            prev = None
    except Exception:  # noqa: BLE001
        pass
    _line_names_cache[id(code)] = (code, table)
    return table


_positions_cache = {}  # id(code) -> (code, list(code.co_positions()))


def _line_of(code, lasti):
    entry = _positions_cache.get(id(code))
    if entry is None or entry[0] is not code:
        entry = _positions_cache[id(code)] = (code, list(code.co_positions()))
    pos = entry[1]
    k = lasti // 2
    return pos[k][0] if 0 <= k < len(pos) else None


def _name_on_line(t, f, code, lasti):
    """The variable (or `obj.attr`) the running line reads tensor t from, if any."""
    try:
        line = _line_of(code, lasti)
        names = _names_by_line(code).get(line)
        if not names:
            return None
        loc = f.f_locals
        glo = f.f_globals
        for n in names:
            if type(n) is tuple:
                base = loc.get(n[0], glo.get(n[0]))
                if base is not None and getattr(base, n[1], None) is t:
                    return n[1] if n[0] == "self" else f"{n[0]}.{n[1]}"
            elif loc.get(n, glo.get(n)) is t:
                return n
    except Exception:  # noqa: BLE001
        pass
    return None


def _name_leaves(leaf_info, recs, tables):
    """(kind, label) per leaf, a frame standing for the label until now: the variable that frame
    (or else its module) gives the tensor, else "tensor"/"param"."""
    names = {}
    grads = []
    for j, info in leaf_info.items():
        kind, label = info[:2]
        if isinstance(label, str):
            names[j] = info
            continue
        if isinstance(label, tuple):  # ("grad", k): the .grad of leaf k
            grads.append((j, label[1]))
            continue
        tid = id(recs[j][R_T])
        name = _frame_names(label, tables).get(tid)
        if name is None and label.f_globals is not label.f_locals:
            name = _frame_names(label, tables, module=True).get(tid)
        name = name or ("param" if kind == K_PARAM else "tensor")
        names[j] = (kind, name, name) if kind == K_PARAM else (kind, name)
    for j, k in grads:
        names[j] = (K_LEAF, f"{names[k][1]}.grad" if k in names else "grad")
    return names


def _frame_names(f, tables, module=False):
    """{id(value): name} for a frame's variables (or its module's), the first name winning."""
    key = (id(f.f_globals) if module else id(f))
    table = tables.get(key)
    if table is not None:
        return table
    table = tables[key] = {}
    try:
        for k, v in (f.f_globals if module else f.f_locals).items():
            if k != "self" and k[:1] != "_":
                table.setdefault(id(v), k)
    except Exception:  # noqa: BLE001
        pass
    return table


def _grad_hook(grads, i):
    def hook(g):
        grads[i] = g._data
    return hook


class capture:
    """Record every op run inside the block into a `Graph` (returned by `with ... as g`).

    full_values: tensors with at most this many elements keep their exact values; larger ones keep
        statistics, a histogram and a strided preview.
    keep_steps: how many of the most recent steps keep their nodes; older ones keep loss and counts.
    """

    def __init__(self, full_values=64, keep_steps=20):
        if full_values < 0 or keep_steps < 0:
            raise ValueError("full_values and keep_steps must be >= 0")
        self.graph = Graph(full_values, keep_steps)
        self._prev = None
        self._recorder = None
        self._gc = (0, 0, 0)

    def __enter__(self):
        rec = _Recorder(self.graph)
        self._recorder = rec
        self.graph._recorder = rec
        self._prev = _state.recorder
        if not _active:
            _install_timers()
        _active.append(rec)
        # the records keep every step's tensors alive: collect young objects less often meanwhile
        self._gc = gc.get_threshold()
        if self._gc[0] and self._gc[0] < 10000:
            gc.set_threshold(10000, *self._gc[1:])
        _state.recorder = rec
        return self.graph

    def __exit__(self, *exc):
        rec = self._recorder
        _state.recorder = self._prev
        if self._gc[0] and gc.get_threshold()[0] == 10000:
            gc.set_threshold(*self._gc)
        if rec in _active:
            _active.remove(rec)
        if not _active:
            _remove_timers()
        self.graph._recorder = None
        error = exc[1] if len(exc) > 1 and isinstance(exc[1], Exception) else None
        rec.finish(_user_frame(_getframe(1)), error)
        return False


# ---------------------------------------------------------------------------------------------
# a graph from a tensor's autograd history alone (no capture)
def from_tensor(tensor, names=None, full_values=64):
    """A Step built from `tensor.grad_fn` and what it leads to, as torchviz's make_dot sees it.

    Op nodes carry their PyTorch name and the shape flowing out of them; values are known for the
    output and the leaves (and their `.grad` when set). `names` maps leaf tensors to labels
    (default: looked up in the caller's variables).
    """
    from .autograd import AccumulateGrad
    caller = _user_frame(_getframe(1))
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
