"""Bokeh drawing of a captured step: `GraphView` (the interactive graph) and `inspector_figure`.

    view = GraphView(step)            # a Step, a step dict, a Graph, a graph dict or a Tensor
    view.figure                       # a bokeh figure; view.nodes / view.edges are its sources
    view.update(next_step)            # redraw in place; nodes that keep their id keep their place
    view.toggle_group("model.fc1")    # fold or unfold a module or loop group

Everything drawn lives in a handful of ColumnDataSources, one row per node or edge
(`graph-nodes`, `graph-edges`, `graph-groups`), with plain glyphs (rects, ellipses, one
multi_line for all edges, triangles for arrow heads), so a 20,000-node graph is a few arrays in the
document rather than 20,000 models. Bokeh is imported when a view is made, not before.
"""
from __future__ import annotations

import json
import math
import os

from .explanation import flatten_some as _flat, format_number as _fmt
from .folding import auto_collapse, group_nodes
from .layout import LayoutNode, fold_groups, layout

__all__ = ["GraphView", "inspector_figure", "as_step_dict", "node_columns", "NODE_COLUMNS", "EDGE_COLUMNS",
           "grad_abs_mean", "grad_range", "GRAD_ENCODED", "backward_step", "both_step", "UPDATE_COLUMNS",
           "backward_order", "VIEWS", "view_step", "number_text", "node_values_text", "NODE_VALUES_UP_TO"]

# fills for nodes without a gradient, by kind
KIND_FILL = {"leaf": "#dcebfa", "param": "#fdebc8", "op": "#eef0f3", "output": "#d8f0dd", "group": "#ece6f8",
             "failed": "#fde2e1", "elided": "#f6f7f9"}
KIND_LINE = {"leaf": "#4a7bb0", "param": "#b7791f", "op": "#6b7280", "output": "#1f7a3a", "group": "#6d4fb3",
             "failed": "#c53030", "elided": "#9aa1ab"}
KIND_TITLE = {"leaf": "input tensor", "param": "parameter", "op": "operation", "output": "output / loss",
              "group": "folded module or loop", "failed": "call that raised", "elided": "nodes left out"}
# |gradient| from small to large, light to dark (log scale)
GRAD_ANCHORS = ["#fff5c2", "#fed976", "#fd8d3c", "#e8452c", "#b10026", "#5c0015"]
NO_GRAD_EDGE = "#a3a9b3"

NODE_COLUMNS = ("id", "label", "kind", "glyph", "shape", "line", "has_grad", "x", "y", "w", "h", "colour",
                "line_colour", "text_colour", "grad_abs_mean", "op", "dtype", "device", "file", "code", "module",
                "var", "where", "value_text", "grad_text", "time_text", "value_json", "grad_json", "sub",
                "group", "is_group", "count", "kind_text", "forward_id", "order", "source", "values", "values_h")
# the player's events after the nodes': each parameter optimizer.step() changed (the step's "updates")
UPDATE_COLUMNS = ("target", "name", "text", "line", "source", "code")
EDGE_COLUMNS = ("source", "target", "xs", "ys", "colour", "width", "ax", "ay", "angle", "x0", "x1", "y0", "y1",
                "flow")

LABEL_PPU = 40     # pixels per layout unit from which node labels are drawn
SUB_PPU = 62       # ... and the second line (shape)
MAX_LABELS = 2500  # labels drawn at once at most (the ones in view)
COARSE_PPU = 12    # below this many pixels per layout unit, graphs of more than COARSE_NODES nodes
COARSE_NODES = 1500  # are drawn as plain boxes
CULL_NODES = 1000  # from this many nodes on, only what is in view is handed to the glyphs
SMALL_GRAPH = 60   # graphs of at most this many drawn nodes show every label at any zoom


def _palette(n=64):
    """GRAD_ANCHORS interpolated to n colours."""
    def rgb(h):
        return tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))
    stops = [rgb(c) for c in GRAD_ANCHORS]
    out = []
    for k in range(n):
        t = k / (n - 1) * (len(stops) - 1)
        i = min(int(t), len(stops) - 2)
        f = t - i
        c = [round(a + (b - a) * f) for a, b in zip(stops[i], stops[i + 1])]
        out.append("#%02x%02x%02x" % tuple(c))
    return out


PALETTE = _palette()


# ---------------------------------------------------------------------------------------------
# input conversion and text
def as_step_dict(obj, step=None):
    """A step dict from a Step, a step dict, a Graph or graph dict (step `step`, default: the last
    step a backward closed, else the last one) or a Tensor (its autograd graph)."""
    from .. import graph as graph_mod
    from ..tensor import Tensor
    if isinstance(obj, Tensor):
        return graph_mod.from_tensor(obj).to_dict()
    if isinstance(obj, graph_mod.Step):
        return obj.to_dict()
    if isinstance(obj, graph_mod.Graph):
        steps = obj.steps
        if not steps:
            return {"index": 0, "loss": None, "nodes": [], "edges": []}
        if step is not None:
            return obj.step(step).to_dict()
        return _pick(steps, lambda s: s.closed and not s.truncated).to_dict()
    if isinstance(obj, dict):
        if "steps" in obj:
            steps = obj["steps"]
            if not steps:
                return {"index": 0, "loss": None, "nodes": [], "edges": []}
            if step is not None:
                return steps[step]
            return _pick(steps, lambda s: s.get("closed", True) and s.get("nodes"))
        return obj
    raise TypeError(f"cannot draw a {type(obj).__name__}: give a Step, Graph, their dicts or a Tensor")


def _pick(steps, good):
    for s in reversed(steps):
        if good(s):
            return s
    return steps[-1]


def _shape_text(shape):
    if shape is None:
        return ""
    return "×".join(str(d) for d in shape) if len(shape) else "scalar"


def summary_text(s, limit=8):
    """One line for a hover: the numbers of a small tensor, or its statistics."""
    if not s:
        return "none"
    if "data" in s:
        d = s["data"]
        if not isinstance(d, list):
            return _fmt(d)
        vals = _flat(d, limit + 1)
        more = s.get("numel", 0) > limit
        return "[" + ", ".join(_fmt(v) for v in vals[:limit]) + (", …]" if more else "]")
    parts = [f"{k} {_fmt(s[k])}" for k in ("min", "max", "mean", "std") if s.get(k) is not None]
    text = " · ".join(parts)
    if s.get("nan"):
        text += f" · {s['nan']} NaN"
    if s.get("inf"):
        text += f" · {s['inf']} inf"
    return text or f"{s.get('numel', 0)} values"


# ---------------------------------------------------------------------------------------------
# values and gradients written on the nodes ("data | grad")
NODE_VALUES_UP_TO = 4   # tensors with at most this many elements show their numbers on the node
VALUE_DIGITS = 4        # significant digits on a node
VALUE_LINE_H = 0.34       # layout units a line of values adds to a node's height (room for 7px text zoomed out)
VALUE_WRAP = 22         # characters from which a line of numbers wraps (after a row, a comma)
# how far a float of the summary may sit from its shortest decimal and still count as that decimal:
# a float32 0.1 arrives as 0.10000000149011612, and is exactly the float32 nearest 0.1
_EXACT_REL = {"float16": 1e-3, "bfloat16": 8e-3, "float32": 1e-6}


def number_text(v, dtype=None, digits=VALUE_DIGITS):
    """One number, short and never misleading: at most `digits` significant digits, an exponent
    below 1e-3 and from 1e5 on ("1.5e-7", "2.5e12"; from 1e3 on for a number that is not a whole
    one), never 0 for a number that is not 0. A number
    shown exactly drops its trailing zeros ("4.5", "0.25", "27"); a rounded one keeps them ("2.500"
    for 2.49996, "1.000" for 0.99999), so a rounded number never looks like a round one."""
    if v is None:
        return "–"
    if isinstance(v, str):
        return v  # "nan", "inf", "-inf" as the summary writes them
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        text = str(v)
        if len(text) <= 7:
            return text
        v, dtype = float(v), "int"
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    tol = _EXACT_REL.get(dtype, 1e-12)
    a = abs(v)
    # (from 1000 on, a rounded number has no decimals left to show it is rounded: 99999.4 is not
    # "99999" but "1.000e5")
    rounded_int = a >= 10 ** (digits - 1) and abs(round(v) - v) > tol * a
    if a < 1e-3 or a >= 1e5 or rounded_int:
        mantissa, _, exp = f"{v:.{digits - 1}e}".partition("e")
        exact = abs(float(f"{mantissa}e{exp}") - v) <= tol * a
        if exact and "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exp)}"
    decimals = max(0, digits - 1 - math.floor(math.log10(a)))
    text = f"{v:.{decimals}f}"
    if abs(float(text) - v) <= tol * a and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _nested_text(data, dtype):
    if isinstance(data, list):
        return "[" + ", ".join(_nested_text(x, dtype) for x in data) + "]"
    return number_text(data, dtype)


def _pack(parts, sep, width):
    """`parts` joined by `sep` into as few lines of at most `width` characters as they fit in."""
    out, cur = [], None
    for part in parts:
        nxt = part if cur is None else cur + sep + part
        if cur is not None and len(nxt) > width:
            out.append(cur + sep.rstrip())
            cur = part
        else:
            cur = nxt
    out.append(cur)
    return out


def _wrap(line, width=VALUE_WRAP):
    """A long line of numbers broken into lines of about `width` characters: between the rows of a
    matrix first ("[[1, 2]," / "[3, 4]]"), within a row after commas; continued lines indented."""
    if len(line) <= width:
        return [line]
    rows = line.split("], [")
    if len(rows) > 1:
        rows = [r + "]" if k == 0 else ("[" + r if k == len(rows) - 1 else "[" + r + "]") for k, r in enumerate(rows)]
    out = []
    for piece in _pack(rows, ", ", width):
        out.extend(_pack(piece.split(", "), ", ", width) if len(piece) > width + 4 else [piece])
    return [out[0]] + ["  " + o for o in out[1:]]


def _values_line(s, what):
    """"data 3" / "grad [4.5, 4.5]" for a small tensor; a large one: its mean (values) or its norm
    (gradients), named."""
    if not s:
        return None
    dtype = s.get("dtype")
    numel = s.get("numel")
    if "data" in s and s.get("full", True) and (numel is None or numel <= NODE_VALUES_UP_TO):
        text = f"{what} {_nested_text(s['data'], dtype)}"
    else:
        stat = "mean" if what == "data" else "norm"
        v = s.get(stat)
        if v is None:
            return f"{what} {numel} values" if numel is not None else None
        text = f"{what} {stat} {number_text(v, dtype)}"
    bad = [f"{s[k]} {k}" for k in ("nan", "inf") if s.get(k)]
    return text + (" (" + ", ".join(bad) + ")" if bad else "")


def node_values_text(n):
    """The lines a node shows with values on, micrograd's "data | grad": its value (none for a
    backward node) and the gradient it received, as "\n"-joined lines ("" for neither)."""
    lines = []
    if n.get("kind") in ("failed", "elided"):
        return ""
    for what, key in (("data", "value"), ("grad", "grad")):
        line = _values_line(n.get(key), what)
        if line:
            lines.extend(_wrap(line))
    return "\n".join(lines)


_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False)  # made once: json.dumps with options makes one a call


def _trim_summary(s, big):
    """The summary as the page keeps it: big graphs drop previews and long value lists."""
    if not s:
        return ""
    if big:
        s = {k: v for k, v in s.items() if k not in ("preview",)}
        if "data" in s and s.get("numel", 0) > 16:
            s.pop("data")
    return _JSON.encode(s)


_TEXTS: dict = {}  # summary JSON -> summary_text: an edit redraws mostly the same values


def _text_key(s, as_json, big):
    """The JSON that determines summary_text(s): the page's copy, unless it dropped the values."""
    if big and s and "data" in s and s.get("numel", 0) > 16:
        return None
    return as_json


def _summary_text_of(s, as_json):
    """summary_text(s), remembered by the summary's full JSON `as_json` (None: not remembered)."""
    if as_json is None:
        return summary_text(s)
    text = _TEXTS.get(as_json)
    if text is None:
        if len(_TEXTS) >= 50_000:
            _TEXTS.clear()
        text = _TEXTS[as_json] = summary_text(s)
    return text


GRAD_ENCODED = "mean |grad| per element"  # what a node's colour stands for, as the colour bar says


def grad_abs_mean(node):
    """What a node's colour encodes: the mean |gradient| per element (None without a gradient)."""
    g = node.get("grad")
    if not g:
        return None
    n = g.get("abs_mean")
    if isinstance(n, (int, float)) and math.isfinite(n):
        return float(n)
    return None


def grad_range(steps):
    """(low, high) of the positive mean |grad| over the nodes of `steps` (step dicts): one colour
    scale for a whole run, so a colour means the same at every step. None without gradients."""
    vals = [v for s in steps for n in s.get("nodes") or () if (v := grad_abs_mean(n)) is not None and v > 0]
    return (min(vals), max(vals)) if vals else None


# ---------------------------------------------------------------------------------------------
# sizes, layout and columns
def _node_size(text, sub, direction, values="", oval=False):
    """(width, height) in layout units; lines of values (9px text) widen the node up to a larger
    cap (they wrap before it) and add a line's height each; an oval (a leaf) grows to hold them
    inside its curve."""
    n = max(len(text), int(len(sub) * 0.8), 3)
    w = min(max(1.0, 0.42 + 0.125 * n), 3.6)
    if not values:
        return (w, 0.7)
    lines = values.split("\n")
    w = max(w, min(0.42 + 0.15 * max(len(v) for v in lines), 0.42 + 0.15 * (VALUE_WRAP + 2)))
    h = 0.7 + VALUE_LINE_H * len(lines)
    return (w * 1.3, h + 0.2) if oval else (w, h)


class _Drawn:
    """What one layout pass produced (kept to answer node_dict and to place the next update)."""

    def __init__(self, step, grouping, collapsed, members, lay, rows):
        self.step = step
        self.grouping = grouping
        self.collapsed = collapsed
        self.members = members
        self.layout = lay
        self.rows = rows


VIEWS = ("forward", "backward", "both")


def backward_order(step):
    """The backward graph's node ids in the order the autograd engine runs them: a node runs once
    every node sending it a gradient has run (each next_functions slot counts), and of the nodes
    ready, PyTorch's engine takes AccumulateGrad first, then the node of the latest forward op (the
    highest sequence number). The order the capture recorded (each node's "ran_at") when there is
    one, else derived here from the graph's structure and the forward order."""
    import heapq
    bg = (step or {}).get("backward")
    if not bg:
        return []
    if bg["nodes"] and all("ran_at" in b for b in bg["nodes"]):
        ran = sorted((b for b in bg["nodes"] if b["ran_at"] is not None), key=lambda b: b["ran_at"])
        return [b["id"] for b in ran] + [b["id"] for b in bg["nodes"] if b["ran_at"] is None]
    forward_pos = {n["id"]: k for k, n in enumerate(step.get("nodes") or ())}
    ids = [b["id"] for b in bg["nodes"]]
    known = set(ids)
    waiting = dict.fromkeys(ids, 0)
    out = {i: [] for i in ids}
    for e in bg["edges"]:
        if e["source"] in known and e["target"] in known:
            waiting[e["target"]] += 1
            out[e["source"]].append(e["target"])
    first = {i: k for k, i in enumerate(ids)}

    def key(b):
        acc = 0 if b["name"].endswith("AccumulateGrad") else 1
        return (acc, -forward_pos.get(b.get("forward_id"), -1), first[b["id"]])
    by_id = {b["id"]: b for b in bg["nodes"]}
    ready = [(key(by_id[i]), i) for i in ids if waiting[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, i = heapq.heappop(ready)
        order.append(i)
        for t in out[i]:
            waiting[t] -= 1
            if waiting[t] == 0:
                heapq.heappush(ready, (key(by_id[t]), t))
    seen = set(order)
    return order + [i for i in ids if i not in seen]  # (a cycle cannot happen; kept whole all the same)


def both_step(step):
    """The forward graph with its backward graph beside it, as one step dict: the forward nodes and
    edges, then the backward nodes (ids as in `backward_step`) and their edges marked
    `"flow": "grad"` (drawn dashed: where gradients flow). Each node's "order" is its place in the
    step's events: forward ops in the order they ran, then backward nodes in the engine's order."""
    step = step or {}
    back = backward_step(step)
    nodes = [dict(n, order=k) for k, n in enumerate(step.get("nodes") or ())]
    shift = len(nodes)
    nodes += [dict(b, order=shift + b["order"]) for b in back["nodes"]]
    edges = [dict(e) if isinstance(e, dict) else {"source": e[0], "target": e[1]} for e in step.get("edges") or ()]
    return dict(step, nodes=nodes, edges=edges + back["edges"], backward=step.get("backward"))


def view_step(step, view="forward"):
    """The step dict drawn by the graph view `view` ("forward", "backward" or "both")."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, not {view!r}")
    if view == "backward":
        return backward_step(step)
    if view == "both":
        return both_step(step)
    return step


def backward_step(step):
    """A step dict's backward graph (Step.backward_graph) as a step dict the view can draw: one node
    per autograd node, labelled with PyTorch's name, placed at its forward node's line; edges the
    way gradients flow. An empty step when no backward() ran."""
    bg = (step or {}).get("backward")
    if not bg:
        return {"index": (step or {}).get("index", 0), "loss": None, "nodes": [], "edges": []}
    forward = {n["id"]: n for n in step.get("nodes") or ()}
    ran = {i: k for k, i in enumerate(backward_order(step))}
    nodes = []
    for k, b in enumerate(bg["nodes"]):
        f = forward.get(b.get("forward_id")) or {}
        name = b["name"]
        grad = b.get("grad")
        nodes.append({"id": b["id"], "label": name.rpartition("::")[2], "op": name,
                      "kind": "output" if k == 0 else ("leaf" if name.endswith("AccumulateGrad") else "op"),
                      "shape": (grad or {}).get("shape", f.get("shape")), "grad": grad, "value": None,
                      "forward_id": b.get("forward_id"), "line": f.get("line", -1), "file": f.get("file", ""),
                      "source": f.get("source"),
                      "col": f.get("col", -1), "end_col": f.get("end_col", -1), "code": f.get("code", ""),
                      "fn": name, "var": f.get("label") if name.endswith("AccumulateGrad") else None,
                      "inputs": [e["source"] for e in bg["edges"] if e["target"] == b["id"]],
                      "order": ran.get(b["id"], k)})
    edges = [dict(e, flow="grad") for e in bg["edges"]]
    out = {"index": step.get("index", 0), "loss": step.get("loss"), "nodes": nodes, "edges": edges}
    if step.get("updates"):
        out["updates"] = step["updates"]
    return out


_LAYOUTS: dict = {}  # graph structure -> (previous positions, Layout) of recent drawings


def _layout_of(lnodes, ledges, direction, previous):
    """layout(...), reused when the same graph is drawn again from the same place: from the positions
    it produced (an edit that changed only values) or the same previous positions. The layout is a
    function of exactly these inputs, so the reused one is the one it would compute."""
    key = (direction, tuple((ln.id, ln.width, ln.height, ln.group) for ln in lnodes), tuple(ledges))
    hit = _LAYOUTS.get(key)
    if hit is not None:
        before, lay = hit
        if previous == before or (previous is not None and previous == lay.positions):
            return lay
    lay = layout(lnodes, ledges, direction=direction, previous=previous, compact_routes=True)
    if len(_LAYOUTS) >= 4:
        _LAYOUTS.pop(next(iter(_LAYOUTS)))
    _LAYOUTS[key] = (dict(previous) if previous else None, lay)
    return lay


def with_choices(collapsed, choices, grouping):
    """The groups to fold: `collapsed` with a viewer's choices ({group name: (folded?, its label)},
    oldest first) applied on top, for the groups this grouping has under the same name and label (a
    loop that now runs another number of times is another loop). Folding a group drops the folds
    inside it."""
    collapsed = set(collapsed)
    for name, (folded, label) in choices.items():
        g = grouping.groups.get(name)
        if g is None or g.label != label:
            continue
        if folded:
            collapsed = {c for c in collapsed if not c.startswith(name + ".")}
            collapsed.add(name)
        else:
            collapsed.discard(name)
    return collapsed


def node_columns(step, *, direction="LR", collapsed=None, max_nodes=2000, previous=None, grouping=None,
                 colour_range=None, values=False, choices=None):
    """Lay out a step dict and return (node columns, edge columns, group columns, info).

    values: write each node's value and gradient on it (`node_values_text`; nodes grow to hold them).
    choices: {group name: (folded?, label)} applied over `collapsed` (or the automatic folds), see with_choices.
    colour_range: (low, high) mean |grad| for the colour scale (default: this step's own range).
    info: {"grouping", "collapsed", "members", "layout", "lo", "hi"} (lo/hi: the colour scale's range)."""
    nodes = step.get("nodes") or []
    edges = [(e["source"], e["target"]) if isinstance(e, dict) else tuple(e) for e in step.get("edges") or []]
    grad_flow = {(e["source"], e["target"]) for e in step.get("edges") or [] if isinstance(e, dict)
                 and e.get("flow") == "grad"}
    by_id = {n["id"]: n for n in nodes}
    ran = {n["id"]: n.get("order", k) for k, n in enumerate(nodes)}  # events in the order they ran
    edges = [e for e in edges if e[0] in by_id and e[1] in by_id]
    if grouping is None:
        grouping = group_nodes(nodes, edges, module_types=step.get("modules"),
                               left_out_sites=step.get("left_out_sites"))
    if collapsed is None:
        collapsed = auto_collapse(grouping, len(nodes), max_nodes) if max_nodes else set()
    else:
        collapsed = {c for c in collapsed if c in grouping.groups}
    if choices:
        collapsed = with_choices(collapsed, choices, grouping)
    texts = {}
    lnodes = []
    for n in nodes:
        label = str(n.get("label") or n.get("op") or "?")
        sub = _sub_text(n)
        vals = node_values_text(n) if values else ""
        texts[n["id"]] = (label, sub, vals)
        w, h = _node_size(label, sub, direction, vals, oval=n.get("kind") == "leaf")
        lnodes.append(LayoutNode(n["id"], w, h, grouping.node_group.get(n["id"])))
    if collapsed:
        lnodes, ledges, members = fold_groups(lnodes, edges, collapsed)
    else:
        ledges, members = edges, {}
    for ln in lnodes:
        if ln.id in members:
            g = grouping.groups[ln.id]
            label, sub = g.label, f"{len(members[ln.id])} nodes"
            texts[ln.id] = (label, sub, "")
            ln.width, ln.height = _node_size(label, sub, direction)
            ln.height = 0.8
    prev = previous if previous else None
    lay = _layout_of(lnodes, ledges, direction, prev)

    norms = {}
    for n in nodes:
        g = grad_abs_mean(n)
        if g is not None:
            norms[n["id"]] = g
    for gname, ids in members.items():
        vals = [norms[i] for i in ids if i in norms]
        if vals:
            norms[gname] = max(vals)
    positive = [v for v in norms.values() if v > 0]
    lo, hi = colour_range or ((min(positive), max(positive)) if positive else (1e-3, 1.0))
    if hi <= lo:
        lo, hi = lo / 10, hi * 10
    llo, lhi = math.log10(lo), math.log10(hi)

    big = len(nodes) > 3000
    cols = {k: [] for k in NODE_COLUMNS}
    for ln in lnodes:
        nid = ln.id
        x, y = lay.positions[nid]
        label, sub, vals = texts[nid]
        is_group = nid in members
        gnorm = norms.get(nid)
        if gnorm is not None:
            t = 0.0 if gnorm <= 0 else (math.log10(gnorm) - llo) / (lhi - llo) if lhi > llo else 1.0
            t = min(max(t, 0.0), 1.0)
            fill = PALETTE[round(t * (len(PALETTE) - 1))]
            text_colour = "#ffffff" if t > 0.62 else "#1f2328"
        else:
            fill = None
            text_colour = "#1f2328"
        if is_group:
            g = grouping.groups[nid]
            kind, glyph = "op", "group"
            ids = members[nid]
            first = by_id[ids[0]]
            has_grad = any(by_id[i].get("grad") for i in ids)
            row = {"id": nid, "label": label, "kind": kind, "glyph": glyph, "shape": "", "line": g.line,
                   "has_grad": has_grad, "op": g.kind, "dtype": "", "device": first.get("device") or "",
                   "file": first.get("file") or "", "code": "", "module": nid if g.kind == "module" else "",
                   "source": first.get("source") or "",
                   "var": "", "where": f"{g.kind} group, {len(ids)} nodes", "value_text": f"{len(ids)} nodes inside",
                   "grad_text": f"largest mean |grad| {_fmt(gnorm)}" if gnorm is not None else "none",
                   "time_text": _time_text(sum(by_id[i].get("time_us") or 0 for i in ids)),
                   "value_json": "", "grad_json": "", "sub": sub, "group": g.name.rpartition(".")[0],
                   "is_group": True, "count": len(ids)}
        else:
            n = by_id[nid]
            value_json, grad_json = _trim_summary(n.get("value"), big), _trim_summary(n.get("grad"), big)
            kind = n.get("kind") or "op"
            glyph = kind if kind in KIND_FILL else "op"
            row = {"id": nid, "label": label, "kind": kind, "glyph": glyph,
                   "shape": "" if kind in ("failed", "elided") else _shape_text(n.get("shape")),
                   "line": int(n.get("line") if n.get("line") is not None else -1),
                   "has_grad": bool(n.get("grad")), "op": n.get("op") or "", "dtype": n.get("dtype") or "",
                   "device": n.get("device") or "", "file": n.get("file") or "", "code": n.get("code") or "",
                   "source": n.get("source") or "",
                   "module": n.get("module") or "", "var": n.get("var") or "", "where": _where(n),
                   "value_text": (f"raised {n['error']}" if n.get("error") else
                                  _summary_text_of(n.get("value"), _text_key(n.get("value"), value_json, big))),
                   "grad_text": _summary_text_of(n.get("grad"), _text_key(n.get("grad"), grad_json, big)),
                   "time_text": _time_text(n.get("time_us")),
                   "value_json": value_json, "grad_json": grad_json,
                   "sub": sub, "group": grouping.node_group.get(nid) or "", "is_group": False, "count": 1}
        row["kind_text"] = f"{row['kind']} · {row['op']}" if row["op"] else row["kind"]  # (hover: no dangling "·")
        row["forward_id"] = "" if is_group else (by_id[nid].get("forward_id") or "")
        row["order"] = min(ran[i] for i in members[nid]) if is_group else ran[nid]
        row["values"] = vals
        row["values_h"] = VALUE_LINE_H * (vals.count("\n") + 1) if vals else 0.0
        row.update(x=x, y=y, w=ln.width, h=ln.height, colour=fill or KIND_FILL[glyph],
                   line_colour=KIND_LINE[glyph], text_colour=text_colour,
                   grad_abs_mean=gnorm if gnorm is not None else float("nan"))
        for k in NODE_COLUMNS:
            cols[k].append(row[k])

    # edges: from the side of the source facing the data flow to the facing side of the target
    sizes = {ln.id: (ln.width, ln.height) for ln in lnodes}
    ecols = {k: [] for k in EDGE_COLUMNS}
    lr = direction == "LR"
    repeats = {}
    for e in ledges:
        repeats[e] = repeats.get(e, 0) + 1
    drawn = {}
    for s, t in ledges:
        (sx, sy), (tx, ty) = lay.positions[s], lay.positions[t]
        (sw, sh), (tw, th) = sizes[s], sizes[t]
        start = (sx + sw / 2, sy) if lr else (sx, sy - sh / 2)
        end = (tx - tw / 2, ty) if lr else (tx, ty + th / 2)
        route = list(lay.routes.get((s, t), ()))
        n_same = repeats[(s, t)]
        if n_same > 1:
            # one edge per input slot (y * y): the repeats side by side, across the flow
            k = drawn[(s, t)] = drawn.get((s, t), -1) + 1
            across = (k - (n_same - 1) / 2) * 0.5 / (n_same - 1)
            if lr:
                d = across * min(sh, th)
                start, end = (start[0], start[1] + d), (end[0], end[1] + d)
                route = [(x, y + d) for x, y in route]
            else:
                d = across * min(sw, tw)
                start, end = (start[0] + d, start[1]), (end[0] + d, end[1])
                route = [(x + d, y) for x, y in route]
        join = lay.joined.get((s, t))
        # an edge sharing a bus with a longer one is drawn from (or to) where it joins that bus
        pts = (route if join == "start" else [start] + route) + ([] if join == "end" else [end])
        if len(pts) < 2:
            pts = [start, end]
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        (ax, ay), (bx, by) = pts[-2], pts[-1]
        angle = math.atan2(by - ay, bx - ax) - math.pi / 2
        gnorm = norms.get(s)
        if gnorm is not None:
            t_ = 0.0 if gnorm <= 0 else (math.log10(gnorm) - llo) / (lhi - llo) if lhi > llo else 1.0
            # edges start at the palette's middle: its lightest colours vanish on a white page
            t_ = 0.35 + 0.65 * min(max(t_, 0.0), 1.0)
            colour = PALETTE[round(t_ * (len(PALETTE) - 1))]
            width = 1.6
        else:
            colour, width = NO_GRAD_EDGE, 1.2
        for k, v in (("source", s), ("target", t), ("xs", xs), ("ys", ys), ("colour", colour), ("width", width),
                     ("ax", bx), ("ay", by), ("angle", angle), ("x0", min(xs)), ("x1", max(xs)), ("y0", min(ys)),
                     ("y1", max(ys)), ("flow", "grad" if (s, t) in grad_flow else "data")):
            ecols[k].append(v)

    gcols = {"name": [], "label": [], "kind": [], "left": [], "right": [], "bottom": [], "top": [], "tx": [],
             "ty": [], "fill": [], "line": []}
    for name, (x0, y0, x1, y1) in lay.groups.items():
        g = grouping.groups.get(name)
        if g is None:
            continue
        gcols["name"].append(name)
        gcols["label"].append(g.label)
        gcols["kind"].append(g.kind)
        gcols["left"].append(x0)
        gcols["right"].append(x1)
        gcols["bottom"].append(y0)
        gcols["top"].append(y1)
        gcols["tx"].append(x0)
        gcols["ty"].append(y1)
        gcols["fill"].append("#f59e0b" if g.kind == "loop" else "#6d8fd1")
        gcols["line"].append("#c77c02" if g.kind == "loop" else "#5b7ec4")
    # the player's events: each drawn node's place in the order they ran (0, 1, 2, ...; a folded
    # group at its first member's place)
    rank = sorted(range(len(cols["order"])), key=lambda k: cols["order"][k])
    for r, k in enumerate(rank):
        cols["order"][k] = r
    info = {"grouping": grouping, "collapsed": collapsed, "members": members, "layout": lay, "lo": lo, "hi": hi,
            "has_grad": bool(positive), "updates": update_columns(step, cols, members)}
    return _packed(cols, _NUMERIC_NODE), _packed(ecols, _NUMERIC_EDGE, ragged=("xs", "ys")), gcols, info


def update_columns(step, cols, members):
    """The player's update events of a drawn step: one row per parameter optimizer.step() changed, in
    the order it changed them; "target" is the drawn node to ring (the parameter, the folded group
    holding it, or in the backward view its AccumulateGrad node; "" when none is drawn)."""
    out = {k: [] for k in UPDATE_COLUMNS}
    updates = step.get("updates") or ()
    if not updates:
        return out
    drawn = set(cols["id"])
    home = {i: g for g, ids in members.items() for i in ids}
    accumulates = {f: i for i, f in zip(cols["id"], cols["forward_id"]) if f}
    for u in updates:
        p = u.get("param")
        target = (p if p in drawn else home.get(p) or accumulates.get(p) or "") if p is not None else ""
        row = {"target": target, "name": u.get("name") or "parameter", "text": update_text(u),
               "line": int(u.get("line") if u.get("line") is not None else -1), "source": u.get("source") or "",
               "code": u.get("code") or ""}
        for k in UPDATE_COLUMNS:
            out[k].append(row[k])
    return out


def update_text(u):
    """One line for an update: the numbers before → after of a small tensor, else the statistics."""
    before, after = u.get("before") or {}, u.get("after") or {}
    if "data" in before and "data" in after:
        change = f"{summary_text(before, 6)} → {summary_text(after, 6)}"
    else:
        parts = [f"{k} {_fmt(before.get(k))} → {_fmt(after.get(k))}" for k in ("mean", "std")
                 if before.get(k) is not None]
        change = " · ".join(parts) or "changed"
    return f"{u.get('optimizer') or 'optimizer'}.step() updates {u.get('name') or 'a parameter'}: {change}"


_NUMERIC_NODE = ("x", "y", "w", "h", "grad_abs_mean", "order", "values_h")
_NUMERIC_EDGE = ("width", "ax", "ay", "angle", "x0", "x1", "y0", "y1")


def _packed(cols, numeric, ragged=()):
    """Numbers as NumPy arrays (Bokeh sends those as binary, not one JSON number at a time)."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - the engine needs NumPy anyway
        return cols
    for k in numeric:
        cols[k] = np.asarray(cols[k], dtype=np.float64)
    for k in ragged:
        cols[k] = [np.asarray(v, dtype=np.float64) for v in cols[k]]
    return cols


def _sub_text(n):
    if n.get("kind") == "failed":
        return (n.get("error") or "error").partition(":")[0]  # the exception's type
    if n.get("kind") == "elided":
        return ""
    shape = _shape_text(n.get("shape"))
    var = n.get("var")
    if var and n.get("kind") in ("op", "output"):
        return f"{shape} → {var}"
    return shape


def _where(n):
    line = n.get("line")
    f = os.path.basename(n.get("file") or "")
    if line is None or line < 0:
        loc = ""
    elif not f or f.startswith("<"):  # a notebook cell or exec'd code: "<cell …>" means nothing on the page
        loc = f"line {line}"
    else:
        loc = f"{f}:{line}"
    mod = n.get("module")
    return " · ".join(p for p in (loc, mod) if p)


def _time_text(us):
    if not us:
        return ""
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} µs"


def _empty(columns):
    return {k: [] for k in columns}


# ---------------------------------------------------------------------------------------------
TOOLTIP = """
<div style="max-width:380px;font:12px/1.35 system-ui,sans-serif;color:#1f2328">
  <div><b style="font-size:13px">@label</b> <span style="color:#6b7280">@kind_text</span></div>
  <div>shape <b>@shape</b> · @dtype · @device</div>
  <div>value: <span style="font-family:monospace">@value_text</span></div>
  <div>grad: <span style="font-family:monospace">@grad_text</span></div>
  <div style="color:#6b7280">@where @time_text</div>
  <div style="font-family:monospace;color:#374151;white-space:pre-wrap">@code</div>
</div>
"""


class GraphView:
    """An interactive Bokeh drawing of one captured step (see the module docstring).

    step: a Step, step dict, Graph, graph dict or Tensor (None: empty until `update`).
    direction: "LR" (data flows left to right) or "TB" (top to bottom).
    collapsed: groups to draw folded; None folds automatically when the step has more than
        `max_nodes` nodes (loops first, then modules); `max_nodes=None` never folds automatically.
    toggle_on_tap: in a live document (Panel, bokeh serve) a tap on a folded node unfolds it.
    names: what its sources are named after ("graph": `graph-nodes`, `graph-edges`, ...; the
        backward graph's view uses "backward").
    values: write value and gradient on each node (`node_values_text`); set `.values` and `update`
        to switch.
    """

    def __init__(self, step=None, *, direction="LR", collapsed=None, max_nodes=2000, width=900, height=560,
                 title=None, toggle_on_tap=True, sizing_mode=None, names="graph", values=False):
        from bokeh.models import (ColorBar, ColumnDataSource, CustomJS, DataRange1d, GroupFilter, CDSView,
                                  HoverTool, Legend, LegendItem, LogColorMapper, TapTool, BoxZoomTool, PanTool,
                                  ResetTool, SaveTool, WheelZoomTool, Quad, Text, MultiLine, Scatter, Ellipse,
                                  Rect, IndexFilter, CustomJSFilter)
        from bokeh.plotting import figure
        from . import _js
        if direction not in ("LR", "TB"):
            raise ValueError(f"direction must be 'LR' or 'TB', not {direction!r}")
        self.direction = direction
        self.max_nodes = max_nodes
        self.values = bool(values)
        self._drawn_values = self.values  # whether the drawing shown has values on its nodes
        # (low, high) mean |grad| of the colour scale, kept across updates (a run's range, see
        # grad_range); None: each step's own range
        self.colour_range = None
        self.collapsed = set(collapsed) if collapsed is not None else set()  # the groups drawn folded
        self._auto = collapsed is None
        self._base = set(self.collapsed)  # what is folded before the choices (unless automatic)
        # folds and unfolds asked for (a tap, toggle_group), {group name: (folded?, label)}: each holds
        # while its group is in the graph drawn, so code replaced by other code opens with its own folds
        self._choices = {}
        self._drawn = None
        self._step = None
        self.positions = {}
        self.nodes = ColumnDataSource(data=_empty(NODE_COLUMNS), name=f"{names}-nodes")
        self.edges = ColumnDataSource(data=_empty(EDGE_COLUMNS), name=f"{names}-edges")
        self.groups = ColumnDataSource(data={"name": [], "label": [], "kind": [], "left": [], "right": [],
                                             "bottom": [], "top": [], "tx": [], "ty": [], "fill": [], "line": []},
                                       name=f"{names}-groups")
        # the highlighted path: which edges and nodes (filters on the graph's own sources, no copies)
        self.path = IndexFilter(indices=[], name=f"{names}-path", syncable=False)
        self.path_nodes = IndexFilter(indices=[], name=f"{names}-path-nodes", syncable=False)
        self.focus = ColumnDataSource(data={"x": [], "y": [], "ppu": [], "ax": [], "ay": [], "fit": []},
                                      name=f"{names}-focus")
        self.needs_overview = False  # True when the graph is too big to read whole (labels come on zooming)

        xr = DataRange1d(range_padding=0.04)
        yr = DataRange1d(range_padding=0.08)
        fig = figure(width=width, height=height, x_range=xr, y_range=yr, match_aspect=True, tools=[],
                     toolbar_location="right", title=title, sizing_mode=sizing_mode,
                     background_fill_color="#ffffff", border_fill_color="#ffffff", output_backend="canvas")
        fig.axis.visible = False
        fig.grid.visible = False
        fig.outline_line_color = "#e5e7eb"
        fig.min_border = 8
        self.figure = fig

        # glyph renderers made directly (figure.rect and friends add four glyph copies each, and every
        # model costs time to build and to send); a node that is not selected keeps its look
        # Bokeh draws every rect, quad, line and text it is given, in view or not: for big graphs,
        # LABEL_LOD narrows these filters to what is in view
        # big graphs: only what is in view goes to the glyphs (recomputed in the browser, see _js.CULL)
        self._cull_nodes, self._cull_edges, self._cull_groups = (
            CustomJSFilter(args=dict(xr=xr, yr=yr, nodes=self.nodes, cull_min=CULL_NODES, kind=kind),
                           code=_js.CULL, syncable=False)
            for kind in ("nodes", "edges", "groups"))

        def add(source, glyph, selection=None, view=None, level="glyph"):
            kw = dict(selection_glyph=selection or glyph, nonselection_glyph=glyph, hover_glyph=None,
                      muted_glyph=None, level=level)
            if view is not None:
                kw["view"] = view
            return fig.add_glyph(source, glyph, **kw)

        self._group_boxes = add(self.groups, Quad(left="left", right="right", bottom="bottom", top="top",
                                                  fill_color="fill", fill_alpha=0.07, line_color="line",
                                                  line_alpha=0.55, line_dash="dashed", line_width=1),
                                view=CDSView(filter=self._cull_groups), level="underlay")
        # labels are drawn from small sources that hold only what is on screen (filled by LABEL_LOD):
        # a canvas measures and draws every text it is given, on screen or not
        self.labels = ColumnDataSource(data={"x": [], "y": [], "label": [], "sub": [], "text_colour": [],
                                             "values": [], "vy": []},
                                       name=f"{names}-labels", syncable=False)
        self.group_labels = ColumnDataSource(data={"tx": [], "ty": [], "label": [], "line": []},
                                             name=f"{names}-group-labels", syncable=False)
        self._group_text = add(self.group_labels, Text(x="tx", y="ty", text="label", text_font_size="10px",
                                                 text_color="line", text_baseline="bottom", x_offset=2,
                                                 y_offset=-1), level="underlay")
        # data flow drawn solid, gradient flow (the backward graph's edges) dashed
        add(self.edges, MultiLine(xs="xs", ys="ys", line_color="colour", line_width="width", line_alpha=0.85),
            view=CDSView(filter=GroupFilter(column_name="flow", group="data") & self._cull_edges))
        add(self.edges, MultiLine(xs="xs", ys="ys", line_color="colour", line_width="width", line_alpha=0.85,
                                  line_dash=[6, 3]),
            view=CDSView(filter=GroupFilter(column_name="flow", group="grad") & self._cull_edges))
        self._arrows = add(self.edges, Scatter(x="ax", y="ay", angle="angle", marker="triangle", size=8,
                                               fill_color="colour", line_color="colour", line_alpha=0.9))
        add(self.edges, MultiLine(xs="xs", ys="ys", line_color="#1677ff", line_width=3.5, line_alpha=0.8),
            view=CDSView(filter=self.path & self._cull_edges))

        node_renderers = {}
        for glyph in ("group", "elided", "op", "output", "failed", "param", "leaf"):
            view = CDSView(filter=GroupFilter(column_name="glyph", group=glyph) & self._cull_nodes)
            style = dict(x="x", y="y", width="w", height="h", fill_color="colour", line_color=KIND_LINE[glyph])
            if glyph == "leaf":
                g = Ellipse(line_width=1.3, **style)
                sel = Ellipse(line_width=3, **dict(style, line_color="#1677ff"))
            else:
                extra = {}
                if glyph == "param":
                    extra = dict(hatch_pattern="right_diagonal_line", hatch_color="#b7791f", hatch_alpha=0.22,
                                 hatch_scale=8)
                if glyph in ("group", "failed", "elided"):
                    extra = dict(line_dash="dashed")
                lw = {"output": 2.6, "group": 1.8, "failed": 2.2}.get(glyph, 1.2)
                g = Rect(border_radius=7, line_width=lw, **style, **extra)
                sel = Rect(border_radius=7, line_width=3, **dict(style, line_color="#1677ff"), **extra)
            node_renderers[glyph] = add(self.nodes, g, selection=sel, view=view)
        self._node_renderers = node_renderers
        # zoomed far out, many nodes are a few pixels wide: plain boxes instead (no corners, borders or
        # hatching to draw), swapped in by LABEL_LOD
        coarse = add(self.nodes, Rect(x="x", y="y", width="w", height="h", fill_color="colour", line_color=None),
                     selection=Rect(x="x", y="y", width="w", height="h", fill_color="#1677ff", line_color=None),
                     view=CDSView(filter=self._cull_nodes))
        coarse.visible = False
        self._coarse = coarse
        add(self.nodes, Rect(x="x", y="y", width="w", height="h", fill_alpha=0, line_color="#1677ff",
                             line_width=2.5, border_radius=7), view=CDSView(filter=self.path_nodes & self._cull_nodes))
        # the player (see `player`): nodes not run yet veiled, the current one ringed
        self.player_pending = ColumnDataSource(data={"x": [], "y": [], "w": [], "h": []},
                                               name=f"{names}-player-pending")
        self.player_current = ColumnDataSource(data={"x": [], "y": [], "w": [], "h": []},
                                               name=f"{names}-player-current")
        self.player_updates = ColumnDataSource(data=_empty(UPDATE_COLUMNS), name=f"{names}-player-updates")
        # (on the overlay layer: a step of the player repaints the veil and the ring, not the whole graph)
        add(self.player_pending, Rect(x="x", y="y", width="w", height="h", fill_color="#ffffff", fill_alpha=0.72,
                                      line_color=None, border_radius=7), level="overlay")
        add(self.player_current, Rect(x="x", y="y", width="w", height="h", fill_alpha=0, line_color="#f97316",
                                      line_width=4, border_radius=7), level="overlay")
        self._names = names
        self._player = None
        self._labels = add(self.labels, Text(x="x", y="y", text="label", text_align="center", text_baseline="middle",
                                            text_font_size="11px", text_color="text_colour", text_font_style="bold",
                                            y_offset=-5))
        self._subs = add(self.labels, Text(x="x", y="y", text="sub", text_align="center", text_baseline="middle",
                                          text_font_size="9px", text_color="text_colour", text_alpha=0.8,
                                          y_offset=8))
        # values and gradients (a node's lower lines, when values are on)
        self._values = add(self.labels, Text(x="x", y="vy", text="values", text_align="center",
                                            text_baseline="middle", text_font_size="9px", text_color="text_colour",
                                            text_line_height=1.25, text_font={"value": "monospace"}))

        renderers = list(node_renderers.values())
        hover = HoverTool(renderers=renderers + [coarse], tooltips=TOOLTIP, point_policy="follow_mouse",
                          attachment="right")
        tap = TapTool(renderers=renderers + [coarse])
        wheel = WheelZoomTool()
        fig.add_tools(PanTool(), wheel, BoxZoomTool(match_aspect=True), ResetTool(), tap, hover, SaveTool())
        fig.toolbar.active_scroll = wheel
        fig.toolbar.logo = None
        # an invisible point at a node of the graph (the origin while it is empty) gives the ranges
        # something to fit before there is a graph (else Bokeh warns it could not set them)
        self._anchor = ColumnDataSource(data={"x": [0.0], "y": [0.0]}, name=f"{names}-anchor")
        anchor = add(self._anchor, Scatter(x="x", y="y", size=1, fill_alpha=0, line_alpha=0))
        xr.renderers = renderers + [self._group_boxes, anchor]
        yr.renderers = renderers + [self._group_boxes, anchor]

        # legend: one sample per kind, all from one stand-in renderer at a point no range includes
        kinds = ("leaf", "param", "op", "output", "group", "failed")
        sample = ColumnDataSource(data={
            "x": [float("nan")] * len(kinds), "y": [float("nan")] * len(kinds),
            "marker": ["circle" if k == "leaf" else "square" for k in kinds],
            "fill": [KIND_FILL[k] for k in kinds], "line": [KIND_LINE[k] for k in kinds],
            "lw": [{"output": 2.6, "group": 1.8, "failed": 2.2}.get(k, 1.2) for k in kinds],
            "hatch": ["right_diagonal_line" if k == "param" else " " for k in kinds]})
        dummy = add(sample, Scatter(x="x", y="y", marker="marker", size=12, fill_color="fill", line_color="line",
                                    line_width="lw", hatch_pattern="hatch", hatch_color="#b7791f",
                                    hatch_alpha=0.35, hatch_scale=5))
        items = [LegendItem(label=KIND_TITLE[k], renderers=[dummy], index=i) for i, k in enumerate(kinds)]
        legend = Legend(items=items, location="top_left", orientation="horizontal", label_text_font_size="10px",
                        glyph_height=12, glyph_width=16, padding=4, spacing=10, margin=2,
                        background_fill_alpha=0.85, border_line_alpha=0, label_standoff=4)
        fig.add_layout(legend, "above")

        self._mapper = LogColorMapper(palette=PALETTE, low=1e-3, high=1.0)
        self._colorbar = ColorBar(color_mapper=self._mapper, title=GRAD_ENCODED, title_text_font_size="10px",
                                  major_label_text_font_size="9px", width=10, padding=4, visible=False,
                                  title_standoff=4, label_standoff=4)
        fig.add_layout(self._colorbar, "right")

        lod = CustomJS(args=dict(xr=xr, yr=yr, fig=fig, nodes=self.nodes, groups=self.groups, labels=self.labels,
                                 group_labels=self.group_labels, ppu_label=LABEL_PPU, ppu_sub=SUB_PPU,
                                 max_labels=MAX_LABELS, detailed=renderers + [self._arrows], coarse=[coarse],
                                 ppu_coarse=COARSE_PPU, many=COARSE_NODES,
                                 cull_filters=[self._cull_nodes, self._cull_edges, self._cull_groups],
                                 cull_min=CULL_NODES, small_graph=SMALL_GRAPH,
                                 label_text=self._labels.glyph, values_text=self._values.glyph),
                      code=_js.LABEL_LOD)
        for r in (xr, yr):
            r.js_on_change("start", lod)
            r.js_on_change("end", lod)
        fig.js_on_change("inner_width", lod)
        self.nodes.js_on_change("data", lod)
        self.edges.js_on_change("data", lod)
        focus = CustomJS(args=dict(focus=self.focus, xr=xr, yr=yr, fig=fig), code=_js.FOCUS)
        self.focus.js_on_change("data", focus)
        fig.js_on_change("inner_width", focus)
        fig.js_on_change("inner_height", focus)
        self.nodes.selected.js_on_change("indices", CustomJS(
            args=dict(nodes=self.nodes, edges=self.edges, path=self.path, path_nodes=self.path_nodes),
            code=_js.PATH_HIGHLIGHT))
        if toggle_on_tap:
            self.nodes.selected.on_change("indices", self._on_tap)
        self._root = None
        if step is not None:
            self.update(step)

    # the node source carries each summary as JSON (value_json, grad_json) for an inspector in the
    # page itself (exported pages); False leaves those columns empty: the app, whose inspector the
    # server draws (they were a third of what each of its updates sent)
    summaries_in_page = True

    # -- drawing ----------------------------------------------------------------------------------
    def update(self, step, *, keep_positions=True):
        """Redraw with another step (anything GraphView accepts). Nodes whose id was drawn before
        keep their position; new ones are placed next to what feeds them."""
        if step is None:
            step = {"index": 0, "loss": None, "nodes": [], "edges": []}
        step = as_step_dict(step)
        grouping = None
        if self._step is not None and step is self._step and self._drawn is not None:
            grouping = self._drawn.grouping
        collapsed = None if self._auto else self._base
        # (values switched on or off: every node changes size, so the graph is laid out afresh)
        keep_positions = keep_positions and self._drawn_values == self.values
        self._drawn_values = self.values
        previous = self.positions if keep_positions and self.positions else None
        cols, ecols, gcols, info = node_columns(step, direction=self.direction, collapsed=collapsed,
                                                max_nodes=self.max_nodes, previous=previous, grouping=grouping,
                                                colour_range=self.colour_range, values=self.values,
                                                choices=self._choices)
        self._step = step
        self._drawn = _Drawn(step, info["grouping"], info["collapsed"], info["members"], info["layout"], None)
        groups = info["grouping"].groups
        self._choices = {k: v for k, v in self._choices.items() if k in groups and groups[k].label == v[1]}
        self.collapsed = set(info["collapsed"])
        self.positions = dict(info["layout"].positions)
        self.path.indices = []
        if not self.summaries_in_page:
            cols["value_json"] = cols["grad_json"] = [""] * len(cols["id"])
        self.path_nodes.indices = []
        self.nodes.selected.indices = []
        self.player_updates.data = info["updates"]  # (before the nodes: their change resets the player)
        self.nodes.data = cols
        self.edges.data = ecols
        self.groups.data = gcols
        anchor = ([float(cols["x"][0])], [float(cols["y"][0])]) if len(cols["x"]) else ([0.0], [0.0])
        if (list(self._anchor.data["x"]), list(self._anchor.data["y"])) != anchor:
            self._anchor.data = {"x": anchor[0], "y": anchor[1]}
        self._mapper.low, self._mapper.high = info["lo"], info["hi"]
        self._colorbar.visible = info["has_grad"]
        self._set_focus(cols, info["layout"])
        self._player_text()
        return self

    def player(self, interval_ms=400, width=None):
        """A step-through player for the drawn graph (Bokeh widgets, no Python needed in the page):
        ⇤ ‹ ▶/❚❚ › ⇥ and a scrubber over the step's events in the order they ran (the "order"
        column: forward ops, then, in the backward and both views, the backward nodes in the
        engine's order; then each parameter optimizer.step() changed, value before → after). The
        current node is ringed, the ones not run yet veiled, and a line names the event and its
        code. Each event is announced to the page as a `gv-player-line` event ({source, line}; line
        -1 once the whole graph is shown), so the page can mark the code that ran. Built once per
        view; its slider is named `<names>-player`."""
        if self._player is not None:
            return self._player
        from bokeh.layouts import row, column
        from bokeh.models import Button, CustomJS, Div, Slider
        from . import _js
        n = len(self.nodes.data["id"]) + len(self.player_updates.data["target"])
        slider = Slider(start=0, end=max(n, 1), value=n, step=1, title=None, show_value=False,
                        sizing_mode="stretch_width", name=f"{self._names}-player", margin=(8, 10, 0, 10))
        label = Div(text="", name=f"{self._names}-player-label", sizing_mode="stretch_width",
                    styles={"font-size": "12px", "color": "#444", "white-space": "nowrap", "overflow": "hidden",
                            "text-overflow": "ellipsis"})
        buttons = {}
        # (arrows every system font has: ⏮ ⏭ ⏸ draw as empty boxes in many)
        for action, text, tip in (("first", "⇤", "first event"), ("prev", "‹", "previous event (←)"),
                                  ("play", "▶", "play / pause"), ("next", "›", "next event (→)"),
                                  ("last", "⇥", "the whole graph")):
            buttons[action] = Button(label=text, width=34, height=26, margin=(2, 1), name=f"{self._names}-player-{action}",
                                     html_attributes={"title": tip})
        for action, b in buttons.items():
            b.js_on_event("button_click", CustomJS(args=dict(slider=slider, nodes=self.nodes, updates=self.player_updates,
                                                             play=buttons["play"], action=action,
                                                             interval=int(interval_ms)),
                                                   code=_js.PLAYER_BUTTON))
        show = CustomJS(args=dict(slider=slider, nodes=self.nodes, updates=self.player_updates,
                                  pending=self.player_pending, current=self.player_current, label=label),
                        code=_js.PLAYER_SHOW)
        slider.js_on_change("value", show)
        self.nodes.js_on_change("data", CustomJS(args=dict(slider=slider, nodes=self.nodes, updates=self.player_updates),
                                                 code=_js.PLAYER_RESET))
        kw = {"width": width} if width else {"sizing_mode": "stretch_width"}
        self._player = column(row(*buttons.values(), slider, sizing_mode="stretch_width"), label, **kw)
        self.player_slider = slider
        self.player_label = label
        self._player_text()
        return self._player

    def _player_text(self):
        if self._player is not None:
            n = len(self.nodes.data["id"]) + len(self.player_updates.data["target"])
            self.player_slider.update(end=max(n, 1), value=n)
            self.player_pending.data = {"x": [], "y": [], "w": [], "h": []}
            self.player_current.data = {"x": [], "y": [], "w": [], "h": []}
            self.player_label.text = (f"{n} events · ▶ plays them in the order they ran (← → step)" if n
                                      else "nothing ran yet")

    def _set_focus(self, cols, lay):
        """Fit the whole graph (labels of small graphs are always drawn, others as you zoom in)."""
        fig = self.figure
        fit_ppu = min(((fig.width or 900) - 120) / max(lay.width, 1e-9), ((fig.height or 560) - 60) / max(lay.height, 1e-9))
        self.needs_overview = fit_ppu < LABEL_PPU and len(cols["id"]) > SMALL_GRAPH
        self.focus.data = {"x": [0.0], "y": [0.0], "ppu": [0.0], "ax": [0.5], "ay": [0.5], "fit": [1]}

    def overview_figure(self, height=110, width=None):
        """A small figure of the whole graph with a box where the main view is; a click moves it."""
        from bokeh.models import BoxAnnotation, CustomJS, DataRange1d, MultiLine, Rect
        from bokeh.plotting import figure
        from . import _js
        fig = figure(height=height, width=width or self.figure.width, tools="", toolbar_location=None,
                     x_range=DataRange1d(range_padding=0.02), y_range=DataRange1d(range_padding=0.1),
                     match_aspect=False, title="whole graph (click to move the view there)")
        fig.title.text_font_size = "10px"
        fig.title.text_color = "#6b7280"
        fig.axis.visible = False
        fig.grid.visible = False
        fig.outline_line_color = "#e5e7eb"
        fig.add_glyph(self.edges, MultiLine(xs="xs", ys="ys", line_color="#c7ccd4", line_width=0.8),
                      nonselection_glyph=None, selection_glyph=None, hover_glyph=None, muted_glyph=None)
        node_glyph = Rect(x="x", y="y", width="w", height="h", fill_color="colour", line_color=None)
        fig.add_glyph(self.nodes, node_glyph, nonselection_glyph=node_glyph, selection_glyph=node_glyph,
                      hover_glyph=None, muted_glyph=None)
        # an annotation, not a glyph: moving it repaints only the overlay, not the whole graph
        box = BoxAnnotation(left=0, right=0, bottom=0, top=0, fill_color="#1677ff", fill_alpha=0.08,
                            line_color="#1677ff", line_width=1.5, level="overlay", editable=False)
        fig.add_layout(box)
        xr, yr = self.figure.x_range, self.figure.y_range
        vp = CustomJS(args=dict(xr=xr, yr=yr, box=box), code=_js.VIEWPORT)
        for r in (xr, yr):
            r.js_on_change("start", vp)
            r.js_on_change("end", vp)
        fig.js_on_event("tap", CustomJS(args=dict(xr=xr, yr=yr), code=_js.RECENTRE))
        return fig

    @property
    def step(self):
        """The step dict drawn now."""
        return self._step

    @property
    def layout(self):
        """The engine.viz.layout.Layout of the current drawing."""
        return self._drawn.layout if self._drawn else None

    @property
    def grouping(self):
        """Module and loop groups of the current step (engine.viz.folding.Grouping)."""
        return self._drawn.grouping if self._drawn else None

    @property
    def group_names(self):
        return list(self._drawn.grouping.groups) if self._drawn else []

    def toggle_group(self, name):
        """Fold the group `name` if it is drawn unfolded, unfold it if it is folded; redraw."""
        if self._drawn is None or name not in self._drawn.grouping.groups:
            raise KeyError(f"no group {name!r} in this step")
        folded = name not in self.collapsed
        if folded:  # folding a group drops the choices inside it (they come back as they were)
            self._choices = {k: v for k, v in self._choices.items() if not k.startswith(name + ".")}
        self._choices.pop(name, None)
        self._choices[name] = (folded, self._drawn.grouping.groups[name].label)  # (the latest applies last)
        self.update(self._step)
        return name in self.collapsed

    def expand(self, name):
        if name in self.collapsed:
            self.toggle_group(name)

    def collapse(self, name):
        if name not in self.collapsed:
            self.toggle_group(name)

    def expand_all(self):
        self._auto = False
        self._base = set()
        self._choices = {}
        self.update(self._step)

    def node_dict(self, key):
        """The node dict (as in the step) for a row index or id; a folded group gives
        {"id", "label", "kind": "group", "group_kind", "members": [ids], "count"}."""
        data = self.nodes.data
        if isinstance(key, int):
            if key < 0 or key >= len(data["id"]):
                return None
            key = data["id"][key]
        if self._drawn is None:
            return None
        if key in self._drawn.members:
            g = self._drawn.grouping.groups[key]
            return {"id": key, "label": g.label, "kind": "group", "group_kind": g.kind, "count": g.count,
                    "members": list(self._drawn.members[key]), "line": g.line}
        for n in self._step.get("nodes", ()):
            if n["id"] == key:
                return n
        return None

    def _on_tap(self, attr, old, new):
        if len(new) != 1 or self._drawn is None:
            return
        data = self.nodes.data
        i = new[0]
        if i >= len(data["id"]) or not data["is_group"][i]:
            return
        name = data["id"][i]
        doc = self.figure.document
        if doc is not None:
            doc.add_next_tick_callback(lambda: self.toggle_group(name) if name in self.collapsed else None)
        else:
            self.toggle_group(name)

    # -- pages --------------------------------------------------------------------------------------
    @property
    def root(self):
        """The figure with a search box and an inspector panel: what an exported page shows."""
        if self._root is None:
            from .export import page_layout
            self._root = page_layout(self)
        return self._root

    def _repr_html_(self):
        from .export import iframe_html
        return iframe_html(self)


# ---------------------------------------------------------------------------------------------
# the inspector
def inspector_figure(node, *, width=560, height=190):
    """Value and gradient of one node (a dict as in Step.to_dict()) side by side, as a Bokeh row:
    a heatmap for 2-D, bars for 1-D, a histogram for large tensors, the numbers for small ones."""
    from bokeh.layouts import row
    if node is None:
        node = {}
    if node.get("kind") == "group":
        from bokeh.models import Div
        return row(Div(text=f"<b>{node.get('label')}</b>: a folded group of {len(node.get('members', []))} nodes; "
                            "tap it in the graph to unfold it."), sizing_mode="stretch_width")
    w = max(200, width // 2)
    left = _tensor_panel(node.get("value"), f"value of {node.get('label', '')}", w, height)
    right = _tensor_panel(node.get("grad"), "gradient", w, height)
    return row(left, right, sizing_mode="stretch_width")


def _as_grid(data, shape):
    """Rows of numbers: 1-D data is one row; N-D data has its leading dimensions flattened."""
    flat = _flat(data, 10 ** 7) if isinstance(data, list) else [data]
    if len(shape) <= 1:
        return [flat]
    cols = shape[-1] or 1
    return [flat[i:i + cols] for i in range(0, len(flat), cols)]


def _num(v):
    if isinstance(v, (int, float)):
        return float(v)
    return {"inf": math.inf, "-inf": -math.inf}.get(v, math.nan)


def _tensor_panel(s, title, width, height):
    from bokeh.models import ColumnDataSource, Div, HoverTool
    from bokeh.plotting import figure
    from bokeh.palettes import RdBu11
    if not s:
        return Div(text=f"<div style='color:#6b7280;font:12px sans-serif;padding:8px'>{title}: none "
                        "(no gradient reached this node)</div>", width=width)
    stats = " · ".join(f"{k} {_fmt(s[k])}" for k in ("min", "max", "mean", "std") if s.get(k) is not None)
    shape = s.get("shape") or []
    full_title = f"{title} [{_shape_text(shape)}]"
    if "data" in s and not isinstance(s["data"], list):
        # one line, shrunk to fit: "-5.447e-04" must never lose its exponent to a line break
        text = _fmt(s["data"])
        size = max(11, min(26, int((width - 16) / (0.62 * max(len(text), 1)))))
        return Div(text=f"<div style='font:12px sans-serif;padding:6px'><div style='color:#6b7280'>{full_title}</div>"
                        f"<div style='font-size:{size}px;font-family:monospace;white-space:nowrap'>{text}</div></div>",
                   width=width)
    diverging = list(reversed(RdBu11))
    if "data" in s:
        grid = _as_grid(s["data"], shape)
        if len(shape) <= 1:
            vals = [_num(v) for v in grid[0]]
            n = len(vals)
            src = ColumnDataSource(data={"i": list(range(n)), "v": [v if math.isfinite(v) else 0.0 for v in vals],
                                         "text": [_fmt(v) for v in grid[0]],
                                         "colour": ["#d6604d" if v >= 0 else "#4393c3" for v in vals]})
            fig = figure(width=width, height=height, title=full_title, tools="hover", toolbar_location=None,
                         tooltips=[("index", "@i"), ("value", "@text")])
            fig.vbar(x="i", top="v", width=0.8, source=src, fill_color="colour", line_color=None)
            if n <= 16:
                fig.text(x="i", y="v", text="text", source=src, text_align="center", text_font_size="9px",
                         text_baseline="bottom", y_offset=-2)
            fig.xaxis.axis_label = "index"
            _style(fig, stats)
            return fig
        rows = len(grid)
        cols = len(grid[0]) if grid else 0
        return _heatmap(grid, full_title, width, height, stats, numbers=rows * cols <= 64, palette=diverging)
    # a large tensor: histogram, and a strided preview for 2-D and more
    figs = []
    hist = s.get("hist")
    if hist:
        edges = hist["edges"]
        src = ColumnDataSource(data={"left": edges[:-1], "right": edges[1:], "top": hist["counts"]})
        fig = figure(width=width, height=height, title=f"{full_title}: histogram of {s.get('numel'):,} values",
                     tools="", toolbar_location=None)
        fig.quad(left="left", right="right", bottom=0, top="top", source=src, fill_color="#7a8ca8",
                 line_color="#ffffff")
        fig.add_tools(HoverTool(tooltips=[("from", "@left"), ("to", "@right"), ("count", "@top")]))
        _style(fig, stats)
        figs.append(fig)
    preview = s.get("preview")
    if preview and isinstance(preview[0], list):
        step = "×".join(str(k) for k in s.get("preview_step", []))
        figs.append(_heatmap(preview, f"{title}: every {step} (rows × columns)", width, height, "", numbers=False,
                             palette=diverging))
    if not figs:
        return Div(text=f"{full_title}: {stats}")
    if len(figs) == 1:
        return figs[0]
    from bokeh.layouts import column
    return column(*figs)


def _heatmap(grid, title, width, height, stats, numbers, palette):
    from bokeh.models import ColumnDataSource, LinearColorMapper, ColorBar
    from bokeh.plotting import figure
    rows = len(grid)
    cols = max(len(r) for r in grid) if grid else 0
    xs, ys, vs, texts = [], [], [], []
    m = 0.0
    for r, line in enumerate(grid):
        for c, v in enumerate(line):
            x = _num(v)
            xs.append(c)
            ys.append(r)
            vs.append(x if math.isfinite(x) else float("nan"))
            texts.append(_fmt(v))
            if math.isfinite(x):
                m = max(m, abs(x))
    m = m or 1.0
    mapper = LinearColorMapper(palette=palette, low=-m, high=m, nan_color="#bbbbbb")
    src = ColumnDataSource(data={"x": xs, "y": ys, "v": vs, "text": texts})
    fig = figure(width=width, height=height, title=title, tools="hover", toolbar_location=None,
                 tooltips=[("row", "@y"), ("col", "@x"), ("value", "@text")],
                 x_range=(-0.5, cols - 0.5), y_range=(rows - 0.5, -0.5))
    fig.rect(x="x", y="y", width=1, height=1, source=src, fill_color={"field": "v", "transform": mapper},
             line_color="#ffffff" if numbers else None)
    if numbers:
        fig.text(x="x", y="y", text="text", source=src, text_align="center", text_baseline="middle",
                 text_font_size="9px")
    fig.add_layout(ColorBar(color_mapper=mapper, width=8, major_label_text_font_size="8px", padding=2), "right")
    _style(fig, stats)
    fig.grid.visible = False
    return fig


def _style(fig, stats):
    fig.title.text_font_size = "11px"
    fig.min_border = 4
    fig.axis.major_label_text_font_size = "9px"
    if stats:
        from bokeh.models import Title
        fig.add_layout(Title(text=stats, text_font_size="9px", text_color="#6b7280", text_font_style="normal"),
                       "below")
