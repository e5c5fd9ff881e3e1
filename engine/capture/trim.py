"""Trimming a step too big to show: the outputs, failed calls and the nodes closest to them, plus
one node standing for the rest and how many ran at each call site left out."""
from .records import Node


def trim_targets(kinds, inputs, closed=True):
    """Where a trimmed step keeps its nodes from: outputs and failed calls; else (an open step)
    the results nothing used; else the last node."""
    targets = [k for k, kind in enumerate(kinds) if kind in ("output", "failed")]
    if not targets:
        used = set()
        for ins in inputs:
            used.update(ins)
        targets = [k for k, kind in enumerate(kinds) if kind not in ("leaf", "param", "elided") and k not in used]
    return targets or [len(kinds) - 1]


def keep_closest(inputs, targets, budget):
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


def with_left_out(d, kept, left_out, sites):
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
    keep = keep_closest(inputs, trim_targets([n.get("kind") for n in nodes], inputs), max(1, max_nodes - 1))
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
    return with_left_out(d, len(kept), before + len(nodes) - len(kept), left)


