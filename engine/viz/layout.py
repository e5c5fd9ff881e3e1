"""Layered layout of computation graphs, in pure Python (standard library only).

The pipeline follows the classic Sugiyama scheme:

1. Cycle breaking. Computation graphs are DAGs; should a cycle slip in, the edges
   that close it (found by a depth-first search in input order) are laid out
   reversed instead of failing.
2. Layering. Longest path from the sources, then nodes are pulled forward to
   sit just before their first consumer where that shortens edges (parameters,
   constants, a loop's per-step side computations). An edge from one group into
   another beside it (neither holds the other) spans at least two layers, so
   groups that follow each other do not share a layer. Empty layers are removed.
3. Long edges. An edge that spans several layers gets one virtual node per layer
   crossed, so crossing reduction and coordinates see it. Long edges that share an
   endpoint share one chain of virtual nodes (a "bus"): a weight used by every step
   of a 1,000-step loop costs one chain, not 1,000. Should the chains still exceed
   a budget proportional to the graph, the longest are left out (those edges get
   no route and do not steer the layout).
4. Crossing reduction. Barycenter sweeps down and up, keeping the best order seen.
   Within each layer the members of a group (dotted paths nest) stay contiguous:
   a group is sorted as one block at the barycenter of its members.
5. Coordinates. Along each layer, nodes are spread by sweeps down and up that
   move every node towards its neighbours in the layer before (after) it: least
   squares under the order and separation constraints, solved exactly per layer
   by pool adjacent violators. Nodes on the main data path (the longest paths)
   win conflicts over dummies, which win over side inputs and dangling outputs,
   so a long chain with side inputs stays straight and skip connections route
   around it. Neighbours in a node's own group are preferred. Then, from the
   innermost groups out, the members of each group (its nodes, and its
   subgroups as rigid blocks) are pushed apart across the layers where their
   boxes would meet, so group boxes nest or stand apart and no node lies in
   the box of a group it is not in. Across layers, each layer is as thick as
   its thickest node.

Coordinates are node centres. With ``direction="LR"`` layers run left to right
along +x and y points up, so the first node of a layer is at the top. With
``direction="TB"`` layer 0 is at the top and later layers have smaller y (y
decreases downward, as in a y-up plotting canvas); the first node of a layer is
at the left. A fresh layout is translated so that its bounding box (nodes and
group boxes) starts at (0, 0).

Incremental rule (``previous``): the full graph is laid out afresh, then every
node that has a previous position keeps it exactly, unless its box (at its
current size) would overlap the box of a node already kept, nodes being taken in
input order; such a node is re-placed as new. A new node takes its fresh
position shifted by the displacement (previous minus fresh) of a kept node it
comes from: its first predecessor that has a displacement, in topological order;
failing that its first successor that has one, in reverse topological order;
failing that the median displacement of the kept nodes. Appended parts thus keep
their fresh shape next to what feeds them. If that spot collides with a placed
node, the node slides within its layer (along y for "LR", x for "TB") to the
nearest free spot (``node_sep`` clearance). New nodes are placed in layer
order. In this mode the result is not translated to (0, 0): ``bounds`` tells
where it lies.

Limitations: kept nodes never move, so when nodes are inserted upstream of
existing ones (rather than appended), edges into the old downstream nodes may
point backward; laying out without ``previous`` gives a clean layout again.
Group boxes are kept apart in a fresh layout only: kept and shifted nodes of an
incremental one can bring two boxes together. Edges may pass through boxes.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from dataclasses import dataclass, field

__all__ = ["LayoutNode", "Layout", "layout", "fold_groups"]

# Float tolerance for overlap tests: touching boxes do not overlap.
_EPS = 1e-9


@dataclass
class LayoutNode:
    id: str
    width: float = 1.0  # in layout units
    height: float = 0.5
    group: str | None = None  # e.g. "model.fc1"; dotted paths nest


@dataclass
class Layout:
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)  # node centre x, y
    layers: dict[str, int] = field(default_factory=dict)
    # group -> (x0, y0, x1, y1) around its members and subgroups, with padding;
    # every dotted prefix of a node's group gets a box.
    groups: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    width: float = 0.0
    height: float = 0.0
    # (src, dst) -> bend points between the two ends, for edges spanning more than
    # one layer (collinear points dropped). Under ``previous`` they are only
    # shifted along with their ends, not re-routed.
    routes: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x0, y0, x1, y1
    # With ``compact_routes``: edges whose route is only the part not already drawn by
    # another edge of the same bus, and which end of it joins that bus instead of
    # the edge's own node: "start" (the source side) or "end" (the target side).
    joined: dict[tuple[str, str], str] = field(default_factory=dict)


def layout(
    nodes: list[LayoutNode],
    edges: list[tuple[str, str]],
    *,
    direction: str = "LR",
    previous: dict[str, tuple[float, float]] | None = None,
    node_sep: float = 0.4,
    layer_sep: float = 1.0,
    compact_routes: bool = False,
) -> Layout:
    """Lay out a DAG in layers; see the module docstring for the rules.

    ``compact_routes``: edges that share a bus (say a weight used by every step
    of a long loop) get one full route between them; the others get only their
    branch off it, a single point where they join the bus (listed in
    ``Layout.joined``). Drawing those is linear in the graph's size, where full
    routes grow with fan-out times length.

    ``edges`` go in data-flow direction (input -> op -> output). Self-loops and
    repeated edges are ignored; an edge naming an unknown node raises ValueError.
    ``node_sep`` is the gap between neighbours within a layer, ``layer_sep`` the
    gap between consecutive layers (between their thickest nodes).
    """
    if direction not in ("LR", "TB"):
        raise ValueError(f"direction must be 'LR' or 'TB', not {direction!r}")
    if node_sep < 0 or layer_sep < 0:
        raise ValueError("node_sep and layer_sep must be >= 0")
    nodes = list(nodes)
    n = len(nodes)
    index: dict[str, int] = {}
    for i, nd in enumerate(nodes):
        if nd.id in index:
            raise ValueError(f"duplicate node id {nd.id!r}")
        index[nd.id] = i
    pairs = _edge_pairs(edges, index)
    if n == 0:
        return Layout()

    lr = direction == "LR"
    s_ext = [float(nd.width if lr else nd.height) for nd in nodes]  # along the layer axis
    t_ext = [float(nd.height if lr else nd.width) for nd in nodes]  # across it
    gtup = _group_tuples(nodes)

    oriented, flipped, succ, pred, topo = _make_acyclic(n, pairs)
    layer, side = _assign_layers(n, succ, pred, topo, gtup)
    g = _Proper(n, oriented, layer, side, gtup, budget=2 * n + 5000)
    layers = g.initial_order()
    big = g.size
    iters = 8 if big <= 4000 else 4 if big <= 25000 else 2
    layers = _reduce_crossings(layers, g, iters)

    pad = 0.5 * node_sep  # group box padding, per nesting level
    passes = 8 if big <= 4000 else 4 if big <= 25000 else 2
    t = _assign_t(layers, g, t_ext, node_sep, pad, passes)
    s_layer = _layer_coords(layers, n, s_ext, layer_sep)
    if any(g.group):
        _separate_groups(layers, g, t, s_layer, s_ext, t_ext, node_sep, pad, layer_sep)

    # Layout plane (s along layers, t across) -> world (x, y).
    def world(s: float, tt: float) -> tuple[float, float]:
        return (s, -tt) if lr else (tt, -s)

    fx = [0.0] * n
    fy = [0.0] * n
    for i in range(n):
        fx[i], fy[i] = world(s_layer[layer[i]], t[i])

    # Bend points of routed long edges, per bus, with collinear points dropped.
    routes_idx: list[tuple[int, list[tuple[float, float]]]] = []
    # Bends smaller than this are convergence noise, not worth a route point.
    tol = 0.02 * node_sep + 1e-9
    joined_idx: dict[int, str] = {}
    for e, pts, join in g.bus_routes(lambda v: world(s_layer[g.layer[v]], t[v]), tol, compact_routes):
        if flipped[e]:
            pts.reverse()
            join = {"start": "end", "end": "start"}.get(join)
        routes_idx.append((e, pts))
        if join:
            joined_idx[e] = join

    widths = [float(nd.width) for nd in nodes]
    heights = [float(nd.height) for nd in nodes]
    # Fresh layout: move its bounding box (nodes and group boxes) to the origin.
    x0, y0, _, _ = _bounds(fx, fy, widths, heights, _group_boxes(gtup, fx, fy, widths, heights, pad))
    fx = [v - x0 for v in fx]
    fy = [v - y0 for v in fy]
    routes_idx = [(e, [(px - x0, py - y0) for px, py in pts]) for e, pts in routes_idx]

    kept = 0
    x, y = fx, fy
    if previous:
        order_rank = [0] * g.size
        for lay in layers:
            for r, v in enumerate(lay):
                order_rank[v] = r
        new_order = sorted(range(n), key=lambda i: (layer[i], order_rank[i]))
        x, y, kept = _apply_previous(
            nodes, fx, fy, widths, heights, previous, new_order, succ, pred, topo, node_sep,
            min(node_sep, layer_sep), free_axis=1 if lr else 0,
        )

    ids = [nd.id for nd in nodes]
    routes: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for e, pts in routes_idx:
        a, b = pairs[e]
        if kept:  # move bends along with their ends, linearly in between
            dax, day = x[a] - fx[a], y[a] - fy[a]
            dbx, dby = x[b] - fx[b], y[b] - fy[b]
            if dax or day or dbx or dby:
                m = len(pts) + 1
                pts = [
                    (px + dax + (dbx - dax) * (k + 1) / m, py + day + (dby - day) * (k + 1) / m)
                    for k, (px, py) in enumerate(pts)
                ]
        routes[(ids[a], ids[b])] = pts

    boxes = _group_boxes(gtup, x, y, widths, heights, pad)
    x0, y0, x1, y1 = _bounds(x, y, widths, heights, boxes)
    return Layout(
        positions={ids[i]: (x[i], y[i]) for i in range(n)},
        layers={ids[i]: layer[i] for i in range(n)},
        groups=boxes,
        width=x1 - x0,
        height=y1 - y0,
        routes=routes,
        bounds=(x0, y0, x1, y1),
        joined={(ids[pairs[e][0]], ids[pairs[e][1]]): j for e, j in joined_idx.items()},
    )


def fold_groups(
    nodes: list[LayoutNode], edges: list[tuple[str, str]], collapsed: set[str]
) -> tuple[list[LayoutNode], list[tuple[str, str]], dict[str, list[str]]]:
    """Replace the members of each collapsed group by one node named after the group.

    A node belongs to a collapsed group if its group is that group or nested in it
    ("model.fc1" is in "model"); the outermost collapsed group wins. The group node
    takes the place of the group's first member, the largest member size, and the
    parent group ("model" for "model.fc1"). Edges are rewired; self-loops and
    duplicates are dropped. Returns (nodes, edges, members), members listing each
    folded group's original node ids in input order. Expanding a group again is
    just laying out the original nodes with that group left out of ``collapsed``.
    """
    collapsed = set(collapsed)
    ids = {nd.id for nd in nodes}
    cache: dict[str, str | None] = {}

    def outermost(group: str | None) -> str | None:
        if group is None or not collapsed:
            return None
        if group not in cache:
            parts = group.split(".")
            cache[group] = next(
                (p for p in (".".join(parts[: j + 1]) for j in range(len(parts))) if p in collapsed),
                None,
            )
        return cache[group]

    out: list[LayoutNode] = []
    members: dict[str, list[str]] = {}
    slot: dict[str, int] = {}
    rep: dict[str, str] = {}
    for nd in nodes:
        cg = outermost(nd.group)
        if cg is None:
            out.append(nd)
            continue
        if cg in ids:
            raise ValueError(f"collapsed group {cg!r} has the same name as a node")
        rep[nd.id] = cg
        if cg not in members:
            members[cg] = []
            slot[cg] = len(out)
            out.append(LayoutNode(cg, nd.width, nd.height, cg.rpartition(".")[0] or None))
        else:
            gn = out[slot[cg]]
            gn.width, gn.height = max(gn.width, nd.width), max(gn.height, nd.height)
        members[cg].append(nd.id)

    seen: set[tuple[str, str]] = set()
    new_edges: list[tuple[str, str]] = []
    for s, d in edges:
        e = (rep.get(s, s), rep.get(d, d))
        if e[0] != e[1] and e not in seen:
            seen.add(e)
            new_edges.append(e)
    return out, new_edges, members


# --------------------------------------------------------------------------- graph prep


def _edge_pairs(edges, index: dict[str, int]) -> list[tuple[int, int]]:
    seen: set[tuple[int, int]] = set()
    pairs = []
    for s, d in edges:
        a, b = index.get(s), index.get(d)
        if a is None or b is None:
            raise ValueError(f"edge ({s!r}, {d!r}) names an unknown node")
        if a != b and (a, b) not in seen:
            seen.add((a, b))
            pairs.append((a, b))
    return pairs


def _group_tuples(nodes) -> list[tuple[str, ...]]:
    cache: dict[str | None, tuple[str, ...]] = {None: ()}
    out = []
    for nd in nodes:
        gt = cache.get(nd.group)
        if gt is None:
            gt = cache[nd.group] = tuple(nd.group.split(".")) if nd.group else ()
        out.append(gt)
    return out


def _toposort(n, succ, pred):
    indeg = [len(p) for p in pred]
    queue = deque(i for i in range(n) if indeg[i] == 0)
    topo = []
    while queue:
        v = queue.popleft()
        topo.append(v)
        for w in succ[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                queue.append(w)
    return topo


def _adjacency(n, oriented):
    succ: list[list[int]] = [[] for _ in range(n)]
    pred: list[list[int]] = [[] for _ in range(n)]
    for a, b in oriented:
        succ[a].append(b)
        pred[b].append(a)
    return succ, pred


def _make_acyclic(n, pairs):
    """Return the edges oriented forward (deduplicated), which input edges were
    flipped, adjacency and a topological order."""
    succ, pred = _adjacency(n, pairs)
    topo = _toposort(n, succ, pred)
    if len(topo) == n:
        return pairs, [False] * len(pairs), succ, pred, topo

    # Depth-first search in input order; an edge into a node on the stack closes
    # a cycle and is reversed.
    out_edges: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for k, (a, b) in enumerate(pairs):
        out_edges[a].append((b, k))
    state = [0] * n  # 0 unseen, 1 on the stack, 2 done
    flipped = [False] * len(pairs)
    for root in range(n):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, 0)]
        while stack:
            v, i = stack[-1]
            if i < len(out_edges[v]):
                stack[-1] = (v, i + 1)
                w, k = out_edges[v][i]
                if state[w] == 0:
                    state[w] = 1
                    stack.append((w, 0))
                elif state[w] == 1:
                    flipped[k] = True
            else:
                state[v] = 2
                stack.pop()
    oriented = [(b, a) if f else (a, b) for (a, b), f in zip(pairs, flipped)]
    # A flipped edge may duplicate an existing one; layering needs each pair once.
    uniq = list(dict.fromkeys(oriented))
    succ, pred = _adjacency(n, uniq)
    return oriented, flipped, succ, pred, _toposort(n, succ, pred)


def _assign_layers(n, succ, pred, topo, gtup) -> tuple[list[int], list[bool]]:
    """Layers, and which nodes are side computations rather than the main
    data path (the longest paths).

    An edge that leaves one group for another group beside it (neither holds
    the other) spans at least two layers, so the two groups' boxes do not
    share a layer: sibling groups in sequence then stand apart without
    bending the data path around them."""

    def span(v, w):
        a, b = gtup[v], gtup[w]
        if not a or not b or a == b:
            return 1
        k = len(_common(a, b))
        return 2 if k < len(a) and k < len(b) else 1

    length = [[span(v, w) for w in succ[v]] for v in range(n)]
    layer = [0] * n
    for v in topo:
        lv = layer[v]
        for w, d in zip(succ[v], length[v]):
            if layer[w] < lv + d:
                layer[w] = lv + d
    # Pull a node forward to its first consumer when that shortens edges: each
    # step shortens its out-edges and lengthens its in-edges, except those from
    # inputs that follow it (an input feeding only it, when that pays for the
    # input too; cost 0 means a tree of such inputs). An edge from a shared
    # parameter-like input (cost 0) costs 1/fan-out: it gets one long chain of
    # dummies (its bus) anyway, so a loop's per-step side computations sit
    # next to their use rather than all at layer 1.
    outdeg = [len(s) for s in succ]
    cost = [0.0] * n
    for v in topo:
        c = 0.0
        for u in pred[v]:
            if outdeg[u] == 1:
                c += cost[u] if cost[u] < 1.0 else 1.0
            elif cost[u] == 0.0:
                c += 1.0 / outdeg[u]
            else:
                c += 1.0
        cost[v] = c
    asap = layer[:]
    # Reverse topological order, so a pulled node drags its inputs along.
    for v in reversed(topo):
        s = succ[v]
        if s and cost[v] < len(s):
            m = min(layer[w] - d for w, d in zip(s, length[v]))
            if m > layer[v]:
                layer[v] = m
    # Side: pulled, or with slack (could sit later without lengthening the
    # longest path), e.g. per-step outputs collected at the very end.
    top = max(layer)
    alap = [top] * n
    for v in reversed(topo):
        for w, d in zip(succ[v], length[v]):
            if alap[w] - d < alap[v]:
                alap[v] = alap[w] - d
    side = [layer[v] != asap[v] or layer[v] != alap[v] for v in range(n)]
    used = sorted(set(layer))
    if used[-1] + 1 != len(used):
        rank = {lv: r for r, lv in enumerate(used)}
        layer = [rank[lv] for lv in layer]
    return layer, side


class _Proper:
    """The layered graph with long edges split by dummies (ids n and up)."""

    def __init__(self, n, oriented, layer, side, gtup, budget):
        self.n = n
        self.side = side  # real nodes off the main path
        self.layer = list(layer)
        self.group = list(gtup)
        self.chain_prev = [-1] * n  # dummies: previous dummy (or source) of their chain
        self.chain_next = [-1] * n  # dummies: next dummy (or target) of their chain
        self.buses: list[list[int]] = []
        self.edge_route: dict[int, tuple[int, int, int]] = {}  # edge -> (bus, lo, hi)
        succ: list[list[int]] = [[] for _ in range(n)]
        pred: list[list[int]] = [[] for _ in range(n)]
        self.succ, self.pred = succ, pred

        seen: set[tuple[int, int]] = set()
        long_out = [0] * n
        long_in = [0] * n
        long_edges = []
        for e, (a, b) in enumerate(oriented):
            if (a, b) in seen:
                continue
            seen.add((a, b))
            if layer[b] - layer[a] == 1:
                succ[a].append(b)
                pred[b].append(a)
            else:
                long_edges.append(e)
                long_out[a] += 1
                long_in[b] += 1

        # Each long edge joins the bus of whichever end has more long edges.
        requests: dict[tuple[int, int], list[int]] = {}
        for e in long_edges:
            a, b = oriented[e]
            key = (0, a) if long_out[a] >= long_in[b] else (1, b)
            requests.setdefault(key, []).append(e)

        def length(item):
            (kind, v), es = item
            if kind == 0:
                return max(layer[oriented[e][1]] for e in es) - layer[v] - 1
            return layer[v] - min(layer[oriented[e][0]] for e in es) - 1

        sized = sorted(((length(it), k, it) for k, it in enumerate(requests.items())),
                       key=lambda x: (x[0], x[1]))
        used = 0
        accepted = []
        for ln, k, it in sized:
            if used + ln > budget:
                break  # longer buses left unrouted
            used += ln
            accepted.append((k, it))
        accepted.sort(key=lambda x: x[0])  # back to input order: ids stay deterministic
        for _, ((kind, v), es) in accepted:
            if kind == 0:
                self._out_bus(v, es, oriented)
            else:
                self._in_bus(v, es, oriented)
        self.size = len(self.layer)

    def _new_dummies(self, first_layer, count, groups):
        start = len(self.layer)
        self.layer.extend(range(first_layer, first_layer + count))
        self.group.extend(groups)
        self.succ.extend([] for _ in range(count))
        self.pred.extend([] for _ in range(count))
        self.chain_prev.extend(range(start - 1, start + count - 1))
        self.chain_next.extend(range(start + 1, start + count + 1))
        self.chain_prev[start] = -1
        self.chain_next[start + count - 1] = -1
        bus = list(range(start, start + count))
        for d in bus[:-1]:
            self.succ[d].append(d + 1)
            self.pred[d + 1].append(d)
        self.buses.append(bus)
        return bus

    def _out_bus(self, a, es, oriented):
        layer, group = self.layer, self.group
        la = layer[a]
        es = sorted(es, key=lambda e: layer[oriented[e][1]])
        far = layer[oriented[es[-1]][1]]
        # A dummy belongs to the deepest group shared by the edges through it.
        groups = []
        cur = group[oriented[es[-1]][1]]
        j = len(es) - 1
        for lv in range(far - 1, la, -1):
            while j >= 0 and layer[oriented[es[j]][1]] > lv:
                cur = _common(cur, group[oriented[es[j]][1]])
                j -= 1
            groups.append(_common(cur, group[a]))
        groups.reverse()
        bus = self._new_dummies(la + 1, far - la - 1, groups)
        self.succ[a].append(bus[0])
        self.pred[bus[0]].append(a)
        self.chain_prev[bus[0]] = a
        for e in es:
            b = oriented[e][1]
            d = bus[layer[b] - la - 2]
            self.succ[d].append(b)
            self.pred[b].append(d)
            self.edge_route[e] = (len(self.buses) - 1, 0, layer[b] - la - 1)
        if len(es) == 1:
            self.chain_next[bus[-1]] = oriented[es[0]][1]

    def _in_bus(self, b, es, oriented):
        layer, group = self.layer, self.group
        lb = layer[b]
        es = sorted(es, key=lambda e: -layer[oriented[e][0]])
        near = layer[oriented[es[-1]][0]]
        groups = []
        cur = group[oriented[es[-1]][0]]
        j = len(es) - 1
        for lv in range(near + 1, lb):
            while j >= 0 and layer[oriented[es[j]][0]] < lv:
                cur = _common(cur, group[oriented[es[j]][0]])
                j -= 1
            groups.append(_common(cur, group[b]))
        bus = self._new_dummies(near + 1, lb - near - 1, groups)
        self.succ[bus[-1]].append(b)
        self.pred[b].append(bus[-1])
        self.chain_next[bus[-1]] = b
        for e in es:
            a = oriented[e][0]
            lo = layer[a] - near
            self.succ[a].append(bus[lo])
            self.pred[bus[lo]].append(a)
            self.edge_route[e] = (len(self.buses) - 1, lo, len(bus))

    def bus_routes(self, point, tol, compact=False):
        """Yield (edge, bend points, join) for every routed edge. Each bus is turned
        into a polyline once, keeping only its corners, so an edge's route costs
        the corners it passes rather than the layers it spans. A point within
        ``tol`` of the line through its neighbours is not a corner.

        With ``compact``, the edge of a bus reaching farthest gets the full route
        and the others a single point where they leave (join "start") or enter
        (join "end") it; otherwise join is None."""
        shapes: dict[int, tuple[list, list[int]]] = {}
        longest: dict[int, int] = {}
        if compact:
            # out-buses: every route starts at the bus's start (lo == 0), the longest
            # ends last; in-buses: every route ends at its end, the longest starts first
            for e, (bus_id, lo, hi) in self.edge_route.items():
                best = longest.get(bus_id)
                if best is None or (hi - lo) > (self.edge_route[best][2] - self.edge_route[best][1]):
                    longest[bus_id] = e
        for e, (bus_id, lo, hi) in self.edge_route.items():
            shape = shapes.get(bus_id)
            if shape is None:
                pts = [point(v) for v in self.buses[bus_id]]
                corners = []
                last = pts[0]
                for k in range(1, len(pts) - 1):
                    if _bends(last, pts[k], pts[k + 1], tol):
                        corners.append(k)
                        last = pts[k]
                shape = shapes[bus_id] = (pts, corners)
            pts, corners = shape
            if compact and longest.get(bus_id, e) != e:
                if lo == 0:
                    yield e, [pts[hi - 1]], "start"
                else:
                    yield e, [pts[lo]], "end"
                continue
            route = [pts[lo]]
            i = bisect_right(corners, lo)
            while i < len(corners) and corners[i] < hi - 1:
                route.append(pts[corners[i]])
                i += 1
            if hi - 1 > lo:
                route.append(pts[hi - 1])
            yield e, route, None

    def initial_order(self) -> list[list[int]]:
        """Layers ordered by a depth-first visit from the sources in input order,
        which keeps chains together; groups made contiguous."""
        size = self.size
        rank = [-1] * size
        r = 0
        succ, pred = self.succ, self.pred
        for root in range(size):
            if rank[root] >= 0 or pred[root]:
                continue
            stack = [root]
            while stack:
                v = stack.pop()
                if rank[v] >= 0:
                    continue
                rank[v] = r
                r += 1
                stack.extend(reversed(succ[v]))
        nlayers = max(self.layer) + 1
        layers: list[list[int]] = [[] for _ in range(nlayers)]
        for v in sorted(range(size), key=rank.__getitem__):
            layers[self.layer[v]].append(v)
        key = [float(x) for x in rank]
        self.grouped = [any(self.group[v] for v in lay) for lay in layers]
        return [_group_sort(lay, key, self.group) if gr else lay
                for lay, gr in zip(layers, self.grouped)]


def _bends(p, q, r, tol) -> bool:
    """Whether q is farther than tol from the line through p and r."""
    dx, dy = r[0] - p[0], r[1] - p[1]
    cross = abs((q[0] - p[0]) * dy - (q[1] - p[1]) * dx)
    return cross > tol * ((dx * dx + dy * dy) ** 0.5 or 1.0)


def _common(a: tuple, b: tuple) -> tuple:
    if a == b:
        return a
    k = 0
    for x, y in zip(a, b):
        if x != y:
            break
        k += 1
    return a[:k]


# --------------------------------------------------------------------------- ordering


def _group_sort(items: list[int], key, group, depth: int = 0) -> list[int]:
    """Stable sort by key where each (sub)group moves as one block at the mean key
    of its members, so every group ends up contiguous."""
    entities = []  # [key, first index, node or None, members]
    subs: dict[str, list] = {}
    for i, v in enumerate(items):
        g = group[v]
        if len(g) > depth:
            ent = subs.get(g[depth])
            if ent is None:
                ent = subs[g[depth]] = [0.0, i, None, []]
                entities.append(ent)
            ent[3].append(v)
        else:
            entities.append([key[v], i, v, None])
    if not subs:
        return sorted(items, key=key.__getitem__)
    for ent in subs.values():
        ent[0] = sum(key[v] for v in ent[3]) / len(ent[3])
    entities.sort(key=lambda ent: (ent[0], ent[1]))
    out: list[int] = []
    for ent in entities:
        if ent[2] is not None:
            out.append(ent[2])
        else:
            out.extend(_group_sort(ent[3], key, group, depth + 1))
    return out


def _count_crossings(layers, succ, pos) -> int:
    total = 0
    for k in range(len(layers) - 1):
        seq: list[int] = []
        for v in layers[k]:
            ends = [pos[w] for w in succ[v]]
            if len(ends) > 1:
                ends.sort()
            seq.extend(ends)
        # Inversions = crossings; a sorted list with C-speed insertion beats a
        # Fenwick tree written in Python at these sizes.
        acc: list[int] = []
        for x in seq:
            i = bisect_right(acc, x)
            total += len(acc) - i
            acc.insert(i, x)
    return total


def _reduce_crossings(layers, g: _Proper, iterations: int):
    size = g.size
    pos = [0] * size
    rel = [0.0] * size  # position scaled to [0, 1], comparable across layers
    key = [0.0] * size

    def index(k):
        lay = layers[k]
        m = len(lay)
        for i, v in enumerate(lay):
            pos[v] = i
            rel[v] = (i + 0.5) / m

    for k in range(len(layers)):
        index(k)
    best = _count_crossings(layers, g.succ, pos)
    best_layers = [lay[:] for lay in layers]
    stale = 0
    for _ in range(iterations):
        if best == 0:
            break
        for nbrs, ks in ((g.pred, range(1, len(layers))), (g.succ, range(len(layers) - 2, -1, -1))):
            for k in ks:
                lay = layers[k]
                for v in lay:
                    ns = nbrs[v]
                    if ns:
                        acc = 0.0
                        for u in ns:
                            acc += rel[u]
                        key[v] = acc / len(ns)
                    else:
                        key[v] = rel[v]  # no neighbours there: hold position
                if g.grouped[k]:
                    layers[k] = _group_sort(lay, key, g.group)
                else:
                    layers[k] = sorted(lay, key=key.__getitem__)
                index(k)
        c = _count_crossings(layers, g.succ, pos)
        if c < best:
            best, stale = c, 0
            best_layers = [lay[:] for lay in layers]
        else:
            stale += 1
            if stale >= 2:
                break
    return best_layers


# --------------------------------------------------------------------------- coordinates


def _gaps(lay, n, t_ext, group, node_sep, pad):
    """Minimum centre distances between consecutive nodes of a layer."""
    gaps = []
    for a, b in zip(lay, lay[1:]):
        sep = node_sep if (a < n and b < n) else 0.5 * node_sep
        ga, gb = group[a], group[b]
        if ga or gb:
            common = len(_common(ga, gb))
            sep += pad * (len(ga) + len(gb) - 2 * common)  # room for the group boxes
        ea = t_ext[a] if a < n else 0.0
        eb = t_ext[b] if b < n else 0.0
        gaps.append((ea + eb) / 2 + sep)
    return gaps


def _assign_t(layers, g: _Proper, t_ext, node_sep, pad, passes) -> list[float]:
    n, size = g.n, g.size
    group = g.group
    t = [0.0] * size
    all_gaps = [_gaps(lay, n, t_ext, group, node_sep, pad) for lay in layers]
    for lay, gaps in zip(layers, all_gaps):  # start packed around 0
        off = 0.0
        offs = [0.0]
        for gp in gaps:
            off += gp
            offs.append(off)
        mid = off / 2
        for v, o in zip(lay, offs):
            t[v] = o - mid

    # Main path: real nodes on a longest path. As a neighbour, a node is
    # "strong" if it is on the main path and has neighbours of its own beyond
    # it; sources, sinks, side computations and dummies only count when nothing
    # else does, so the main path does not drift towards side inputs.
    side = g.side
    strong_down = [v < n and not side[v] and bool(g.pred[v]) for v in range(size)]
    strong_up = [v < n and not side[v] and bool(g.succ[v]) for v in range(size)]
    # The one dummy of a main-path edge stretched to two layers between sibling
    # groups (see _assign_layers) stands for that edge: it keeps the path straight.
    for v in range(n, size):
        a, b = g.chain_prev[v], g.chain_next[v]
        if 0 <= a < n and 0 <= b < n and not side[a] and not side[b] and g.layer[b] - g.layer[a] == 2:
            ga, gb = group[a], group[b]
            k = len(_common(ga, gb))
            if k < len(ga) and k < len(gb):
                strong_down[v] = strong_up[v] = True
    # Class of a node that has neighbours on both sides (see _place_layer).
    through = [3 if v >= n else 2 if side[v] else 4 for v in range(size)]
    nl = len(layers)
    # Placing a layer reads only its own positions and those of its reference
    # layer, so a layer is placed again only when one of the two changed since
    # it was last placed in that direction: same result, far fewer calls once
    # most of a long graph has settled.
    version = [1] * nl  # bumped whenever a layer's positions change
    seen_down = [None] * nl  # (own, reference) versions at the last placement
    seen_up = [None] * nl
    for _ in range(passes):
        moved = False
        for k in range(1, nl):
            key = (version[k], version[k - 1])
            if seen_down[k] == key:
                continue
            if _place_layer(layers[k], all_gaps[k], t, n, g.pred, g.succ, strong_down, g.chain_prev,
                            through, group):
                version[k] += 1
                moved = True
            seen_down[k] = (version[k], version[k - 1])
        for k in range(nl - 2, -1, -1):
            key = (version[k], version[k + 1])
            if seen_up[k] == key:
                continue
            if _place_layer(layers[k], all_gaps[k], t, n, g.succ, g.pred, strong_up, g.chain_next,
                            through, group):
                version[k] += 1
                moved = True
            seen_up[k] = (version[k], version[k + 1])
        if not moved:
            break
    return t


def _place_layer(lay, gaps, t, n, ref, other, strong, chain, through, group):
    """Move one layer towards its neighbours in the reference layer.

    Each node has a desired position and a (class, weight). Minimising the
    weighted squared distance to the desired positions subject to the layer's
    order and gaps is an isotonic regression, solved by pool adjacent violators;
    within a pooled block only the members of the highest class count, so a
    higher class wins a conflict outright. Classes: 4 main path, 3 dummy,
    2 side computation, 1 dangling (no neighbour on the far side), 0 no
    neighbour in the reference layer. The main path beating dummies keeps the
    data flow straight while skip connections route around it. Returns whether
    any position changed."""
    b_start: list[int] = []
    b_cls: list[int] = []
    b_w: list[float] = []
    b_wz: list[float] = []
    offs = []
    off = 0.0
    for i, v in enumerate(lay):
        if i:
            off += gaps[i - 1]
        offs.append(off)
        ns = ref[v]
        if v >= n:
            c = chain[v]
            if c >= 0:
                d, w = t[c], 1.0
            else:
                d, w = sum(t[u] for u in ns) / len(ns), 1.0
            cls = 3
        elif not ns:
            d, w, cls = t[v], 1.0, 0
        else:
            use = [u for u in ns if strong[u]] or ns
            gv = group[v]
            if gv and len(use) > 1:
                # Prefer neighbours of its own group: keeps a module's ops in
                # line, and its box clear of the inputs fed to it.
                same = [u for u in use if group[u] == gv]
                if same:
                    use = same
            acc = 0.0
            for u in use:
                acc += t[u]
            d, w = acc / len(use), float(len(use))
            cls = through[v] if other[v] else 1
        z = d - off
        start, wz = i, w * z
        while b_start:
            if b_wz[-1] / b_w[-1] <= wz / w:
                break
            pc = b_cls[-1]
            if pc > cls:
                cls, w, wz = pc, b_w[-1], b_wz[-1]
            elif pc == cls:
                w += b_w[-1]
                wz += b_wz[-1]
            start = b_start.pop()
            b_cls.pop()
            b_w.pop()
            b_wz.pop()
        b_start.append(start)
        b_cls.append(cls)
        b_w.append(w)
        b_wz.append(wz)
    end = len(lay)
    changed = False
    for j in range(len(b_start) - 1, -1, -1):
        val = b_wz[j] / b_w[j]
        for i in range(b_start[j], end):
            v = lay[i]
            nv = val + offs[i]
            if t[v] != nv:
                t[v] = nv
                changed = True
        end = b_start[j]
    return changed


def _separate_groups(layers, g: _Proper, t, s_layer, s_ext, t_ext, node_sep, pad, layer_sep):
    """Move nodes across their layers so that group boxes nest or stand apart.

    Bottom-up over the group tree, the members of a group (its own nodes and
    dummies, and its subgroups as rigid blocks) are taken in order of their
    centre across the layers; each one moves towards +t just as far as it must
    to clear, by the usual gaps, whatever of the same group was placed before
    it in any layer band its extent reaches. Boxes are then disjoint unless
    nested, and a node outside a group never sits inside the group's box. A
    layout without such conflicts is left as it is."""
    n, size = g.n, g.size
    nl = len(layers)
    thick = [max((s_ext[v] for v in lay if v < n), default=0.0) for lay in layers]
    # Band k runs between the midpoints of the gaps around layer k.
    limits = [s_layer[k] + thick[k] / 2 + layer_sep / 2 for k in range(nl - 1)]
    lay_of = g.layer
    group = g.group
    children: dict[tuple, list[int]] = {}  # group -> its own vertices
    subgroups: dict[tuple, list[tuple]] = {(): []}
    for v in range(size):
        gt = group[v]
        children.setdefault(gt, []).append(v)
        while gt and gt not in subgroups:
            subgroups[gt] = []
            gt = gt[:-1]
    for gt in subgroups:
        if gt:
            subgroups[gt[:-1]].append(gt)
    # group -> (t0, t1, s0, s1, members) once its inside is arranged
    extent: dict[tuple, tuple[float, float, float, float, list[int]]] = {}
    tol = 1e-9
    for key in sorted(subgroups, key=len, reverse=True):
        items = []  # (centre, order, t0, t1, s0, s1, members or None for a node)
        members: list[int] = []
        for v in children.get(key, ()):
            if v < n:
                s = s_layer[lay_of[v]]
                hs, ht = s_ext[v] / 2, t_ext[v] / 2
                items.append((t[v], v, t[v] - ht, t[v] + ht, s - hs, s + hs, None))
            else:
                # Edges may pass through boxes: a dummy is no obstacle, it only
                # moves along with the group it is drawn in.
                members.append(v)
        for sub in subgroups[key]:
            ext = extent.get(sub)
            if ext is not None:
                t0, t1, s0, s1, mem = ext
                items.append(((t0 + t1) / 2, min(mem), t0, t1, s0, s1, mem))
        items.sort(key=lambda it: (it[0], it[1]))
        sky: dict[int, float] = {}  # band -> lowest extent placed there so far
        e0 = e2 = float("inf")
        e1 = e3 = float("-inf")
        for _, v, t0, t1, s0, s1, mem in items:
            lo = bisect_right(limits, s0 - tol)
            hi = bisect_left(limits, s1 + tol)
            need = float("-inf")
            for b in range(lo, hi + 1):
                below = sky.get(b)
                if below is not None and below + node_sep > need:
                    need = below + node_sep
            shift = need - t0
            if shift > tol:
                if mem is None:
                    t[v] += shift
                else:
                    for u in mem:
                        t[u] += shift
                t0 += shift
                t1 += shift
            for b in range(lo, hi + 1):
                sky[b] = t1
            if mem is None:
                members.append(v)
            else:
                members.extend(mem)
            e0, e1, e2, e3 = min(e0, t0), max(e1, t1), min(e2, s0), max(e3, s1)
        if key and items:
            extent[key] = (e0 - pad, e1 + pad, e2 - pad, e3 + pad, members)


def _layer_coords(layers, n, s_ext, layer_sep) -> list[float]:
    thick = [max((s_ext[v] for v in lay if v < n), default=0.0) for lay in layers]
    coords = []
    s = 0.0
    for k, th in enumerate(thick):
        if k:
            s += thick[k - 1] / 2 + layer_sep + th / 2
        coords.append(s)
    return coords


def _bounds(x, y, widths, heights, boxes):
    x0 = min(v - w / 2 for v, w in zip(x, widths))
    x1 = max(v + w / 2 for v, w in zip(x, widths))
    y0 = min(v - h / 2 for v, h in zip(y, heights))
    y1 = max(v + h / 2 for v, h in zip(y, heights))
    for bx0, by0, bx1, by1 in boxes.values():
        x0, y0, x1, y1 = min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1)
    return x0, y0, x1, y1


def _group_boxes(gtup, x, y, widths, heights, pad):
    names_cache: dict[tuple, list[str]] = {}
    boxes: dict[str, list[float]] = {}
    for i, gt in enumerate(gtup):
        if not gt:
            continue
        names = names_cache.get(gt)
        if names is None:
            names = names_cache[gt] = [".".join(gt[: j + 1]) for j in range(len(gt))]
        d = len(names)
        hw, hh = widths[i] / 2, heights[i] / 2
        for j, name in enumerate(names):
            p = pad * (d - j)  # each enclosing level adds one padding
            bx0, by0, bx1, by1 = x[i] - hw - p, y[i] - hh - p, x[i] + hw + p, y[i] + hh + p
            b = boxes.get(name)
            if b is None:
                boxes[name] = [bx0, by0, bx1, by1]
            else:
                if bx0 < b[0]:
                    b[0] = bx0
                if by0 < b[1]:
                    b[1] = by0
                if bx1 > b[2]:
                    b[2] = bx1
                if by1 > b[3]:
                    b[3] = by1
    return {k: (b[0], b[1], b[2], b[3]) for k, b in boxes.items()}


# --------------------------------------------------------------------------- incremental


class _Grid:
    """Uniform grid of placed boxes; a cell is at least as large as any box plus
    its clearance, so a collision can only come from the 3 x 3 cells around."""

    def __init__(self, cx, cy, free_axis):
        self.cx, self.cy = cx, cy
        self.free_axis = free_axis
        self.cells: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}
        self.bands: dict[int, list[tuple[float, float, float, float]]] = {}

    def add(self, x, y, hw, hh):
        i, j = int(x // self.cx), int(y // self.cy)
        box = (x, y, hw, hh)
        self.cells.setdefault((i, j), []).append(box)
        self.bands.setdefault(j if self.free_axis == 0 else i, []).append(box)

    def collides(self, x, y, hw, hh, mx, my) -> bool:
        i, j = int(x // self.cx), int(y // self.cy)
        cells = self.cells
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                for bx, by, bw, bh in cells.get((i + di, j + dj), ()):
                    if abs(bx - x) < bw + hw + mx - _EPS and abs(by - y) < bh + hh + my - _EPS:
                        return True
        return False

    def nearest_free(self, x, y, hw, hh, m_free, m_fixed) -> float:
        """Closest free coordinate along the free axis, the other one fixed."""
        if self.free_axis == 1:
            fixed, target, h_fixed, h_free, cell = x, y, hw, hh, self.cx
        else:
            fixed, target, h_fixed, h_free, cell = y, x, hh, hw, self.cy
        band = int(fixed // cell)
        blocked = []
        for b in (band - 1, band, band + 1):
            for box in self.bands.get(b, ()):
                bf, bt = (box[0], box[1]) if self.free_axis == 1 else (box[1], box[0])
                hf, ht = (box[2], box[3]) if self.free_axis == 1 else (box[3], box[2])
                if abs(bf - fixed) < hf + h_fixed + m_fixed - _EPS:
                    r = ht + h_free + m_free
                    blocked.append((bt - r, bt + r))
        blocked.sort()
        # Merge the open intervals; touching ones leave their shared end free.
        lo = hi = None
        for a, b in blocked:
            if hi is not None and a < hi:
                hi = max(hi, b)
                continue
            if lo is not None and lo < target < hi:
                break
            lo, hi = a, b
        if lo is None or not lo < target < hi:
            return target
        return lo if target - lo <= hi - target else hi


def _apply_previous(nodes, fx, fy, widths, heights, previous, new_order, succ, pred, topo,
                    node_sep, fixed_sep, free_axis):
    n = len(nodes)
    cx = max(widths) + node_sep + 1e-6
    cy = max(heights) + node_sep + 1e-6
    grid = _Grid(cx, cy, free_axis)
    x = list(fx)
    y = list(fy)
    placed = [False] * n
    kept = []
    for i, nd in enumerate(nodes):
        p = previous.get(nd.id)
        if p is None:
            continue
        px, py = float(p[0]), float(p[1])
        hw, hh = widths[i] / 2, heights[i] / 2
        if grid.collides(px, py, hw, hh, 0.0, 0.0):
            continue  # would overlap a kept node: re-place as new
        grid.add(px, py, hw, hh)
        x[i], y[i] = px, py
        placed[i] = True
        kept.append(i)
    if not kept:
        return x, y, 0

    # A new node moves like what feeds it (else like what it feeds), so a part
    # appended after kept nodes lands right after them in its fresh shape.
    shift: list[tuple[float, float] | None] = [None] * n
    for i in kept:
        shift[i] = (x[i] - fx[i], y[i] - fy[i])
    for nbrs, order in ((pred, topo), (succ, topo[::-1])):
        for v in order:
            if shift[v] is None:
                for u in nbrs[v]:
                    if shift[u] is not None:
                        shift[v] = shift[u]
                        break
    sx = sorted(shift[i][0] for i in kept)
    sy = sorted(shift[i][1] for i in kept)
    default = (sx[len(sx) // 2], sy[len(sy) // 2])

    mx, my = (fixed_sep, node_sep) if free_axis == 1 else (node_sep, fixed_sep)
    for i in new_order:
        if placed[i]:
            continue
        dx, dy = shift[i] or default
        tx, ty = fx[i] + dx, fy[i] + dy
        hw, hh = widths[i] / 2, heights[i] / 2
        if grid.collides(tx, ty, hw, hh, mx, my):
            free = grid.nearest_free(tx, ty, hw, hh, node_sep, fixed_sep)
            if free_axis == 1:
                ty = free
            else:
                tx = free
        grid.add(tx, ty, hw, hh)
        x[i], y[i] = tx, ty
    return x, y, len(kept)
