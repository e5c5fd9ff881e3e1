"""Why a gradient is what it is: the chain rule, path by path.

    out = ((x + 2) * (x + 2) * 3).mean()
    print(engine.graph.explain(x, out))

lists every path from `out`'s autograd node to `x`'s, each step with its node's local rule
(rules.py) and the gradient it received and sent on, where paths join how their contributions
add, and the total (what `backward()` puts into `x.grad`). The autograd graph must still hold its
saved tensors: explain before `backward()`, or after `backward(retain_graph=True)`.
"""
import sys

import numpy as np

from .rules import input_name, rule
from .summaries import summarize

_ACC = "torch::autograd::AccumulateGrad"


def _array(g):
    return g._data if hasattr(g, "_data") else np.asarray(g)


def _text(a, full_values):
    a = np.asarray(a)
    if a.size <= full_values:
        if a.ndim == 0:
            return f"{float(a):.6g}" if a.dtype.kind in "fc" else str(a.item())
        return np.array2string(a, precision=6, separator=", ", suppress_small=True).replace("\n", "")
    f = a.astype(np.float64)
    return f"shape {list(a.shape)}, mean {f.mean():.6g}, norm {np.sqrt((f * f).sum()):.6g}"


class Step:
    """One step of a path: `node` (PyTorch's name) sent `sent` along input `slot` (of `n_inputs`)
    by `rule` (a formula in `grad`, the gradient it `received`)."""
    __slots__ = ("node", "slot", "n_inputs", "rule", "received", "sent")

    def __init__(self, node, slot, n_inputs, rule_text, received, sent):
        self.node, self.slot, self.n_inputs, self.rule = node, slot, n_inputs, rule_text
        self.received, self.sent = received, sent

    @property
    def input(self):
        return input_name(self.slot, self.n_inputs)

    def describe(self, full_values=64):
        formula = self.rule if self.node == _ACC else f"grad_{self.input} = {self.rule}"
        return (f"{self.node}: {formula}    "
                f"[{_text(self.received, full_values)} → {_text(self.sent, full_values)}]")


class Path:
    """A route from the output to the target: its `steps` and the gradient it `contribution`s."""
    __slots__ = ("steps", "contribution")

    def __init__(self, steps, contribution):
        self.steps = steps
        self.contribution = contribution

    @property
    def route(self):
        """The node names along the path, with the input each step went through."""
        return tuple((s.node, s.input) for s in self.steps)

    @property
    def size(self):
        return float(np.sqrt((np.asarray(self.contribution, dtype=np.float64) ** 2).sum()))


class Explanation:
    """What `explain` found: `paths` (every path, largest contribution first), `groups` (paths with
    the same route of node names, summed), `joins` (nodes where gradients from several edges add
    up: (node name, [(from node, input, gradient)], sum)), `total` (the target's gradient) and
    `complete` (False when there were more than max_paths paths: then `paths` holds the largest
    found and `rest` the sum of the others)."""

    def __init__(self, target_name, paths, total, joins, complete, rest, full_values):
        self.target_name = target_name
        self.paths = paths
        self.total = total
        self.joins = joins
        self.complete = complete
        self.rest = rest
        self.full_values = full_values

    @property
    def groups(self):
        """Paths through the same nodes kinds, as many times each (an unrolled loop's paths differ
        only in where they take each turn): [(((node name, times), ...), summed contribution,
        number of paths)], largest first."""
        out = {}
        for p in self.paths:
            counts = {}
            for s in p.steps:
                counts[s.node] = counts.get(s.node, 0) + 1
            key = tuple(sorted(counts.items()))
            g = out.get(key)
            out[key] = (p.contribution if g is None else g[0] + p.contribution, (g[1] if g else 0) + 1)
        groups = [(key, c, n) for key, (c, n) in out.items()]
        groups.sort(key=lambda g: -float(np.sqrt((np.asarray(g[1], dtype=np.float64) ** 2).sum())))
        return groups

    def to_dict(self, max_paths=20):
        fv = self.full_values
        return {"target": self.target_name, "total": summarize(self.total, fv),
                "path_count": len(self.paths), "complete": self.complete,
                "paths": [{"contribution": summarize(p.contribution, fv),
                           "steps": [{"node": s.node, "input": s.input, "rule": s.rule if s.node == _ACC else f"grad_{s.input} = {s.rule}",
                                      "received": summarize(s.received, fv), "sent": summarize(s.sent, fv)}
                                     for s in p.steps]} for p in self.paths[:max_paths]],
                "others": (summarize(sum(p.contribution for p in self.paths[max_paths:]), fv)
                           if len(self.paths) > max_paths else None),
                "joins": [{"node": name, "parts": [{"from": f, "input": i, "grad": summarize(g, fv)}
                                                   for f, i, g in parts], "sum": summarize(s, fv)}
                          for name, parts, s in self.joins],
                "rest": summarize(self.rest, fv) if self.rest is not None else None,
                "groups": [{"route": [[name, times] for name, times in key], "contribution": summarize(c, fv),
                            "paths": n} for key, c, n in self.groups[:max_paths]]}

    def text(self, max_paths=10):
        fv = self.full_values
        n = len(self.paths)
        lines = [f"Why the gradient of {self.target_name} is {_text(self.total, fv)}:",
                 f"{n} path{'s' if n != 1 else ''} from the output to it{'' if self.complete else ' (the largest)'}, "
                 "largest contribution first."]
        for k, p in enumerate(self.paths[:max_paths]):
            lines.append(f"path {k + 1}: contributes {_text(p.contribution, fv)}")
            lines.extend("    " + s.describe(fv) for s in p.steps)
        hidden = self.paths[max_paths:]
        if hidden:
            lines.append(f"{len(hidden)} more paths, together: {_text(sum(p.contribution for p in hidden), fv)}")
        if self.rest is not None:
            lines.append(f"paths not listed, together: {_text(self.rest, fv)}")
        for name, parts, s in self.joins:
            terms = " + ".join(_text(g, fv) for _, _, g in parts)
            lines.append(f"at {name} {len(parts)} gradients add up: {terms} = {_text(s, fv)}")
        lines.append(f"total: {_text(self.total, fv)}")
        return "\n".join(lines)

    def __str__(self):
        return self.text()

    def __repr__(self):
        return f"<Explanation of {self.target_name}: {len(self.paths)} paths>"


def _target_node(target):
    from ..autograd import Node
    if isinstance(target, Node):
        return target
    if target.grad_fn is not None:
        return target.grad_fn
    if not target.requires_grad:
        raise ValueError("explain: the target does not require grad, so no gradient reaches it")
    return target._grad_accumulator()


def _name_of(target):
    """The caller's variable for a tensor target, else the node's name."""
    if not hasattr(target, "_data"):
        return target.name()
    from .frames import getframe, user_frame
    from .names import var_name
    return var_name(target, user_frame(getframe(2))) or "the target"


def _children(node):
    return list(node._next) if node.name() != _ACC else []


def explain(target, output, grad=None, max_paths=1000, full_values=64, name=None):
    """Why `target` (a tensor, or an autograd node) gets the gradient it does from `output`.

    grad: the gradient backward() would start from (default: ones, as for a scalar loss).
    max_paths: how many paths are followed one by one (the rest are summed; the total is exact).
    name: what to call the target (default: the caller's variable for it).
    Returns an `Explanation`; str() of it reads as the chain rule, step by step.
    """
    from ..autograd import OpNode
    start = np.ones_like(output._data) if grad is None else _array(grad)

    def run(node, g):
        if isinstance(node, OpNode) and node.op.saves and node.saved is None:
            raise RuntimeError("explain needs the graph's saved tensors: call it before backward(), or "
                               "after backward(retain_graph=True)")
        return node._apply(g, False)

    return chain_rule([(_target_node(output), start)], _target_node(target), run, name or _name_of(target),
                      max_paths, full_values)


def chain_rule(roots, goal, run, label, max_paths=1000, full_values=64):
    """The explanation of the gradient reaching autograd node `goal` from `roots` ([(node, the
    gradient it starts with)]), `run(node, grad)` giving what a node sends to each of its inputs."""
    # which nodes lead to the goal (only those are walked)
    reaches = {}
    stack = [(r, False) for r, _ in roots]
    while stack:
        node, done = stack.pop()
        if node in reaches:
            continue
        kids = [c for c in _children(node) if c is not None]
        if node is goal:
            reaches[node] = True
            continue
        if done:
            reaches[node] = any(reaches.get(c, False) for c in kids)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in kids if c not in reaches)
    roots = [(r, g) for r, g in roots if reaches.get(r)]
    if not roots:
        raise ValueError(f"explain: no path leads from the output to {label}")

    # the total, as backward computes it (each node once, its incoming gradients summed), and the joins
    deps = {}
    for node, ok in reaches.items():
        if ok and node is not goal:
            for c in _children(node):
                if c is not None and reaches.get(c):
                    deps[c] = deps.get(c, 0) + 1
    incoming = {}
    for r, g in roots:
        incoming.setdefault(r, []).append(("output", "", g))
    ready = [r for r in dict.fromkeys(r for r, _ in roots) if deps.get(r, 0) == 0]
    total = None
    joins = []
    while ready:
        node = ready.pop()
        parts = incoming.pop(node, [])
        g = None
        if parts:
            g = parts[0][2] if len(parts) == 1 else sum(p[2] for p in parts)
            if len(parts) > 1:
                joins.append((node.name(), [(f, i, _array(p)) for f, i, p in parts], _array(g)))
        if node is goal:
            total = None if g is None else _array(g)
            continue
        sent = run(node, g) if g is not None else ()
        kids = _children(node)
        for slot, c in enumerate(kids):
            if c is None or not reaches.get(c):
                continue
            s = sent[slot] if slot < len(sent) else None
            if s is not None:
                incoming.setdefault(c, []).append((node.name(), input_name(slot, len(kids)), _array(s)))
            deps[c] -= 1
            if deps[c] == 0:
                ready.append(c)  # (with nothing incoming it only passes the count on)
    if total is None:
        total = np.zeros(())

    # the paths, depth first from the output (each prefix's gradient computed once)
    paths = []

    def walk(node, g, steps):
        if node is goal:
            if len(paths) >= max_paths:
                raise _Enough
            paths.append(Path(list(steps), _array(g)))
            return
        sent = run(node, g)
        kids = _children(node)
        op = getattr(node, "op", None)
        for slot, c in enumerate(kids):
            if c is None or not reaches.get(c):
                continue
            s = sent[slot] if slot < len(sent) else None
            if s is None:
                continue
            steps.append(Step(node.name(), slot, len(kids), rule(node.name(), slot, op, len(kids)), _array(g),
                              _array(s)))
            walk(c, s, steps)
            steps.pop()

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20 * len(reaches) + 1000))
    complete = True
    try:
        for r, g in roots:
            walk(r, g, [])
    except _Enough:
        complete = False
    finally:
        sys.setrecursionlimit(limit)
    rest = None if complete else total - sum(p.contribution for p in paths)
    if goal.name() == _ACC:  # the leaf's own step: what AccumulateGrad does with it
        for p in paths:
            p.steps.append(Step(_ACC, 0, 1, rule(_ACC, 0), p.contribution, p.contribution))
    paths.sort(key=lambda p: -p.size)
    return Explanation(label, paths, total, joins, complete, rest, full_values)


class _Enough(Exception):
    """More paths than max_paths: the walk stops."""
