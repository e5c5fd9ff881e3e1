import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # plain `pytest` from anywhere, not only `python -m pytest`
    sys.path.insert(0, str(ROOT))

from gradview.engine.viz.layout import Layout, LayoutNode, fold_groups, layout  # noqa: E402

EPS = 1e-7


# --------------------------------------------------------------------------- helpers


def random_dag(n, seed, *, reach=None, groups=True, sizes=True):
    """n nodes, edges only from lower to higher index, a few nested groups."""
    rng = random.Random(seed)
    names = ["enc", "enc.l1", "enc.l2", "dec", "dec.l1.attn", None, None]
    nodes = []
    for i in range(n):
        # Runs of consecutive nodes share a group, like a module's ops.
        group = names[(i // 7) % len(names)] if groups else None
        w, h = (rng.uniform(0.3, 2.0), rng.uniform(0.2, 1.0)) if sizes else (1.0, 0.5)
        nodes.append(LayoutNode(f"n{i}", w, h, group))
    edges = []
    for j in range(1, n):
        lo = 0 if reach is None else max(0, j - reach)
        for _ in range(rng.randint(0, 3)):
            edges.append((f"n{rng.randrange(lo, j)}", f"n{j}"))
    return nodes, edges


def boxes(result, nodes):
    out = []
    for nd in nodes:
        x, y = result.positions[nd.id]
        out.append((x - nd.width / 2, y - nd.height / 2, x + nd.width / 2, y + nd.height / 2, nd.id))
    return out


def overlapping_pairs(result, nodes):
    """Pairs of node boxes that overlap (touching is fine); sweep over x."""
    items = sorted(boxes(result, nodes))
    active, bad = [], []
    for b in items:
        active = [a for a in active if a[2] > b[0] + EPS]
        for a in active:
            if a[1] < b[3] - EPS and b[1] < a[3] - EPS:
                bad.append((a[4], b[4]))
        active.append(b)
    return bad


def block_chain(blocks, *, tail=False):
    """x -> [w @ h + b -> relu] * blocks, each block its own module group."""
    nodes, edges = [LayoutNode("x")], []
    prev = "x"
    for k in range(blocks):
        g = f"model.block{k}"
        for name in ("w", "mm", "b", "add", "relu"):
            nodes.append(LayoutNode(f"{name}{k}", group=g))
        edges += [(prev, f"mm{k}"), (f"w{k}", f"mm{k}"), (f"mm{k}", f"add{k}"),
                  (f"b{k}", f"add{k}"), (f"add{k}", f"relu{k}")]
        prev = f"relu{k}"
    if tail:
        nodes.append(LayoutNode("loss"))
        edges.append((prev, "loss"))
    return nodes, edges


def group_prefixes(group):
    parts = group.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


# --------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("direction", ["LR", "TB"])
@pytest.mark.parametrize("n,seed,reach", [(1, 0, None), (5, 1, None), (20, 2, None), (60, 3, 10),
                                          (150, 4, None), (400, 5, 30)])
def test_no_overlap_on_random_dags(n, seed, reach, direction):
    nodes, edges = random_dag(n, seed, reach=reach)
    result = layout(nodes, edges, direction=direction)
    assert set(result.positions) == {nd.id for nd in nodes}
    assert overlapping_pairs(result, nodes) == []


def test_node_sep_respected_within_a_layer():
    nodes, edges = random_dag(120, 7, groups=False)
    result = layout(nodes, edges, node_sep=0.3)
    by_layer = {}
    for nd in nodes:
        by_layer.setdefault(result.layers[nd.id], []).append(nd)
    for members in by_layer.values():
        members.sort(key=lambda nd: result.positions[nd.id][1])
        for a, b in zip(members, members[1:]):
            gap = result.positions[b.id][1] - result.positions[a.id][1]
            assert gap >= (a.height + b.height) / 2 + 0.3 - EPS


@pytest.mark.parametrize("seed", range(4))
def test_edges_point_forward(seed):
    nodes, edges = random_dag(80, seed, reach=15)
    lr = layout(nodes, edges)
    tb = layout(nodes, edges, direction="TB")
    for s, d in edges:
        assert lr.layers[s] < lr.layers[d]
        assert lr.positions[s][0] < lr.positions[d][0]  # LR: left to right
        assert tb.positions[s][1] > tb.positions[d][1]  # TB: y decreases downward
    assert lr.layers == tb.layers


def test_layers_are_dense_and_start_at_zero():
    nodes, edges = random_dag(50, 11)
    used = set(layout(nodes, edges).layers.values())
    assert used == set(range(len(used)))


def test_side_inputs_sit_next_to_their_consumer_and_chain_is_straight():
    nodes, edges = block_chain(4)
    result = layout(nodes, edges)
    for k in range(4):
        assert result.layers[f"w{k}"] == result.layers[f"mm{k}"] - 1
        assert result.layers[f"b{k}"] == result.layers[f"add{k}"] - 1
    main = [f"{op}{k}" for k in range(4) for op in ("mm", "add", "relu")]
    assert len({result.positions[v][1] for v in main}) == 1


def test_long_edges_get_routes_between_their_ends():
    nodes = [LayoutNode(v) for v in "abcdef"]
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("a", "e"), ("e", "f"), ("b", "f")]
    result = layout(nodes, edges)
    assert ("a", "b") not in result.routes
    for s, d in [("a", "e"), ("b", "f")]:
        pts = result.routes[(s, d)]
        assert pts
        xs = [result.positions[s][0]] + [p[0] for p in pts] + [result.positions[d][0]]
        assert xs == sorted(xs) and xs[0] < xs[1] and xs[-2] < xs[-1]


def test_shared_weight_in_a_long_loop_stays_cheap():
    # A weight used by every step must not cost a dummy chain per use.
    nodes = [LayoutNode("W"), LayoutNode("h0")]
    edges = []
    for t in range(300):
        nodes += [LayoutNode(f"a{t}"), LayoutNode(f"h{t + 1}")]
        edges += [("W", f"a{t}"), (f"h{t}", f"a{t}"), (f"a{t}", f"h{t + 1}")]
    result = layout(nodes, edges)
    assert overlapping_pairs(result, nodes) == []
    assert len(result.routes) == 299  # every long use of W is routed
    assert sum(len(p) for p in result.routes.values()) < 10 * 300  # straight bus: few bends


def test_bounds_width_height():
    nodes, edges = random_dag(40, 9)
    result = layout(nodes, edges)
    x0, y0, x1, y1 = result.bounds
    assert (x0, y0) == pytest.approx((0.0, 0.0), abs=1e-9)
    assert result.width == pytest.approx(x1) and result.height == pytest.approx(y1)
    for bx0, by0, bx1, by1, _ in boxes(result, nodes):
        assert bx0 >= -EPS and by0 >= -EPS and bx1 <= x1 + EPS and by1 <= y1 + EPS
    for bx0, by0, bx1, by1 in result.groups.values():
        assert bx0 >= -EPS and by0 >= -EPS and bx1 <= x1 + EPS and by1 <= y1 + EPS


# --------------------------------------------------------------------------- LR / TB


def test_tb_is_lr_transposed_for_square_nodes():
    nodes, edges = random_dag(60, 12, sizes=False)
    nodes = [LayoutNode(nd.id, 0.8, 0.8, nd.group) for nd in nodes]
    lr = layout(nodes, edges)
    tb = layout(nodes, edges, direction="TB")
    assert tb.width == pytest.approx(lr.height)
    assert tb.height == pytest.approx(lr.width)
    for v, (x, y) in lr.positions.items():
        assert tb.positions[v][0] == pytest.approx(lr.height - y)
        assert tb.positions[v][1] == pytest.approx(lr.width - x)


def test_tb_layers_stack_downward_and_spread_along_x():
    nodes = [LayoutNode(v) for v in ("a", "b", "c", "d")]
    edges = [("a", "c"), ("b", "c"), ("c", "d")]
    tb = layout(nodes, edges, direction="TB")
    pa, pb, pc, pd = (tb.positions[v] for v in "abcd")
    assert pa[1] == pb[1] > pc[1] > pd[1]
    assert abs(pa[0] - pb[0]) >= 1.0 + 0.4 - EPS  # widths + node_sep side by side


def test_bad_direction():
    with pytest.raises(ValueError):
        layout([LayoutNode("a")], [], direction="RL")


# --------------------------------------------------------------------------- determinism


def test_deterministic_in_process():
    nodes, edges = random_dag(200, 21)
    assert layout(nodes, edges) == layout(nodes, edges)
    assert layout(nodes, edges, direction="TB") == layout(nodes, edges, direction="TB")


_SCRIPT = """
import random, sys
sys.path.insert(0, {root!r})
from gradview.engine.viz.layout import LayoutNode, layout
rng = random.Random(5)
nodes = [LayoutNode(f"v{{i}}", group=rng.choice([None, "m.a", "m.b", "k"])) for i in range(120)]
edges = [(f"v{{rng.randrange(j)}}", f"v{{j}}") for j in range(1, 120) for _ in range(rng.randint(1, 2))]
r = layout(nodes, edges)
print(repr((r.positions, r.layers, r.groups, r.routes)))
"""


def test_deterministic_across_hash_seeds():
    outputs = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run([sys.executable, "-c", _SCRIPT.format(root=str(ROOT))],
                              env=env, capture_output=True, text=True, check=True)
        outputs.add(proc.stdout)
    assert len(outputs) == 1


# --------------------------------------------------------------------------- groups


def _check_groups(result, nodes, direction="LR"):
    members = {}
    for nd in nodes:
        if nd.group:
            for p in group_prefixes(nd.group):
                members.setdefault(p, set()).add(nd.id)
    assert set(result.groups) == set(members)
    by_id = {nd.id: nd for nd in nodes}
    # Boxes contain their members, and nested boxes their children.
    for g, ids in members.items():
        x0, y0, x1, y1 = result.groups[g]
        for v in ids:
            x, y = result.positions[v]
            nd = by_id[v]
            assert x0 < x - nd.width / 2 and x + nd.width / 2 < x1
            assert y0 < y - nd.height / 2 and y + nd.height / 2 < y1
        parent = g.rpartition(".")[0]
        if parent:
            px0, py0, px1, py1 = result.groups[parent]
            assert px0 < x0 and py0 < y0 and x1 < px1 and y1 < py1
    # Within a layer, each group's members are contiguous.
    layers = {}
    for nd in nodes:
        layers.setdefault(result.layers[nd.id], []).append(nd)
    for lay in layers.values():
        lay.sort(key=lambda nd: result.positions[nd.id][1 if direction == "LR" else 0])
        for g, ids in members.items():
            idx = [i for i, nd in enumerate(lay) if nd.id in ids]
            if idx:
                assert idx == list(range(idx[0], idx[0] + len(idx))), (g, idx)


@pytest.mark.parametrize("n,seed", [(30, 1), (120, 2), (300, 3)])
def test_groups_contiguous_and_boxes_contain_members(n, seed):
    nodes, edges = random_dag(n, seed, reach=12)
    # Scatter group membership so that crossing reduction has to hold groups together.
    rng = random.Random(seed)
    nodes = [LayoutNode(nd.id, nd.width, nd.height, rng.choice(["a", "a.x", "a.y", "b", None]))
             for nd in nodes]
    _check_groups(layout(nodes, edges), nodes)


def test_module_boxes_in_block_chain():
    nodes, edges = block_chain(3)
    result = layout(nodes, edges)
    _check_groups(result, nodes)
    assert set(result.groups) == {"model", "model.block0", "model.block1", "model.block2"}
    assert overlapping_pairs(result, nodes) == []


def crossing_group_boxes(result, nodes, eps=EPS):
    """Pairs of group boxes that overlap without one holding the other, and
    (group, node) pairs where a node outside a group lies inside its box."""
    def inside(a, b):  # group a is b or nested in it
        return a == b or a.startswith(b + ".")

    def meet(p, q):
        return p[0] < q[2] - eps and q[0] < p[2] - eps and p[1] < q[3] - eps and q[1] < p[3] - eps

    names = sorted(result.groups)
    bad = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
           if not inside(a, b) and not inside(b, a) and meet(result.groups[a], result.groups[b])]
    for a in names:
        for x0, y0, x1, y1, nid in boxes(result, nodes):
            grp = next(nd.group for nd in nodes if nd.id == nid)
            if not (grp and inside(grp, a)) and meet(result.groups[a], (x0, y0, x1, y1)):
                bad.append((a, nid))
    return bad


@pytest.mark.parametrize("direction", ["LR", "TB"])
@pytest.mark.parametrize("n,seed", [(30, 1), (120, 2), (300, 3)])
def test_group_boxes_nest_or_stand_apart(n, seed, direction):
    nodes, edges = random_dag(n, seed, reach=12)
    rng = random.Random(seed)
    nodes = [LayoutNode(nd.id, nd.width, nd.height, rng.choice(["a", "a.x", "a.y", "a.y.z", "b", "c", None]))
             for nd in nodes]
    result = layout(nodes, edges, direction=direction)
    assert crossing_group_boxes(result, nodes) == []
    assert overlapping_pairs(result, nodes) == []
    _check_groups(result, nodes, direction)


def test_group_boxes_in_runs_of_groups_stand_apart():
    nodes, edges = random_dag(200, 5, reach=9)
    result = layout(nodes, edges)
    assert crossing_group_boxes(result, nodes) == []


def test_sibling_groups_in_sequence_do_not_share_a_layer():
    nodes, edges = block_chain(4, tail=True)
    result = layout(nodes, edges)
    spans = {}
    for nd in nodes:
        if nd.group:
            lo, hi = spans.get(nd.group, (10 ** 9, -1))
            spans[nd.group] = (min(lo, result.layers[nd.id]), max(hi, result.layers[nd.id]))
    for k in range(3):
        assert spans[f"model.block{k}"][1] < spans[f"model.block{k + 1}"][0]
    assert crossing_group_boxes(result, nodes) == []


# --------------------------------------------------------------------------- incremental


@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_incremental_extension_keeps_old_positions(direction):
    nodes3, edges3 = block_chain(3)
    old = layout(nodes3, edges3, direction=direction)
    nodes5, edges5 = block_chain(5)
    new = layout(nodes5, edges5, direction=direction, previous=old.positions)
    for v, p in old.positions.items():
        assert new.positions[v] == p  # exactly
    assert overlapping_pairs(new, nodes5) == []
    # The appended blocks continue after the old ones.
    axis, sign = (0, 1) if direction == "LR" else (1, -1)
    old_end = max(sign * p[axis] for p in old.positions.values())
    for nd in nodes5:
        if nd.id not in old.positions:
            assert sign * new.positions[nd.id][axis] >= old_end - EPS
    _check_groups(new, nodes5, direction)


def test_incremental_with_inserted_nodes_keeps_old_and_avoids_overlap():
    nodes3, edges3 = block_chain(3, tail=True)
    old = layout(nodes3, edges3)
    nodes5, edges5 = block_chain(5, tail=True)
    new = layout(nodes5, edges5, previous=old.positions)
    for v, p in old.positions.items():
        assert new.positions[v] == p
    assert overlapping_pairs(new, nodes5) == []


def test_incremental_same_graph_is_identity():
    nodes, edges = random_dag(80, 31)
    first = layout(nodes, edges)
    again = layout(nodes, edges, previous=first.positions)
    assert again == first


def test_incremental_drops_previous_positions_that_would_overlap():
    nodes = [LayoutNode(v) for v in "abcd"]
    edges = [("a", "b"), ("b", "c"), ("c", "d")]
    previous = {"a": (0.0, 0.0), "b": (0.2, 0.0), "c": (5.0, 5.0)}  # b would overlap a
    result = layout(nodes, edges, previous=previous)
    assert result.positions["a"] == (0.0, 0.0)
    assert result.positions["c"] == (5.0, 5.0)
    assert result.positions["b"] != (0.2, 0.0)
    assert overlapping_pairs(result, nodes) == []


def test_incremental_grown_node_is_replaced():
    nodes, edges = block_chain(2)
    old = layout(nodes, edges)
    grown = [LayoutNode(nd.id, 4.0 if nd.id == "b0" else nd.width, nd.height, nd.group) for nd in nodes]
    new = layout(grown, edges, previous=old.positions)
    assert overlapping_pairs(new, grown) == []
    assert sum(new.positions[v] == p for v, p in old.positions.items()) >= len(nodes) - 2


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 40), st.integers(0, 10_000), st.integers(1, 15))
def test_incremental_random_growth_never_overlaps(n, seed, extra):
    nodes, edges = random_dag(n + extra, seed)
    keep = {nd.id for nd in nodes[:n]}
    old_nodes = nodes[:n]
    old_edges = [e for e in edges if e[0] in keep and e[1] in keep]
    old = layout(old_nodes, old_edges)
    new = layout(nodes, edges, previous=old.positions)
    assert overlapping_pairs(new, nodes) == []
    for v, p in old.positions.items():
        assert new.positions[v] == p


# --------------------------------------------------------------------------- fold


def _module_graph():
    nodes = [LayoutNode("x"), LayoutNode("w1", group="model.fc1"), LayoutNode("mm1", group="model.fc1"),
             LayoutNode("b1", group="model.fc1"), LayoutNode("add1", group="model.fc1", width=1.5),
             LayoutNode("relu", group="model"), LayoutNode("w2", group="model.fc2"),
             LayoutNode("mm2", group="model.fc2"), LayoutNode("loss")]
    edges = [("x", "mm1"), ("w1", "mm1"), ("mm1", "add1"), ("b1", "add1"), ("add1", "relu"),
             ("relu", "mm2"), ("w2", "mm2"), ("mm2", "loss"), ("x", "add1")]
    return nodes, edges


def test_fold_collapsed_group():
    nodes, edges = _module_graph()
    fnodes, fedges, members = fold_groups(nodes, edges, {"model.fc1"})
    ids = [nd.id for nd in fnodes]
    assert ids == ["x", "model.fc1", "relu", "w2", "mm2", "loss"]
    g = fnodes[1]
    assert (g.group, g.width, g.height) == ("model", 1.5, 0.5)
    assert members == {"model.fc1": ["w1", "mm1", "b1", "add1"]}
    assert fedges == [("x", "model.fc1"), ("model.fc1", "relu"), ("relu", "mm2"), ("w2", "mm2"),
                      ("mm2", "loss")]
    result = layout(fnodes, fedges)
    assert overlapping_pairs(result, fnodes) == []
    assert set(result.groups) == {"model", "model.fc2"}


def test_fold_unfold_round_trip():
    nodes, edges = _module_graph()
    full = layout(nodes, edges)
    fnodes, fedges, members = fold_groups(nodes, edges, {"model.fc1", "model.fc2"})
    # Unfolding: members give back exactly the original nodes ...
    rebuilt = []
    for nd in fnodes:
        rebuilt += members.get(nd.id, [nd.id])
    assert sorted(rebuilt) == sorted(nd.id for nd in nodes)
    # ... every folded edge stands for an original one ...
    owner = {v: g for g, vs in members.items() for v in vs}
    assert set(fedges) == {(owner.get(s, s), owner.get(d, d)) for s, d in edges
                           if owner.get(s, s) != owner.get(d, d)}
    # ... and laying out with nothing collapsed is the original layout.
    unodes, uedges, umembers = fold_groups(nodes, edges, set())
    assert (unodes, uedges, umembers) == (nodes, edges, {})
    assert layout(unodes, uedges) == full
    # Expanding one group again from the folded picture.
    n2, e2, m2 = fold_groups(nodes, edges, {"model.fc2"})
    assert "model.fc1" not in {nd.id for nd in n2} and m2 == {"model.fc2": ["w2", "mm2"]}
    assert overlapping_pairs(layout(n2, e2), n2) == []


def test_fold_outermost_group_wins():
    nodes, edges = _module_graph()
    fnodes, fedges, members = fold_groups(nodes, edges, {"model", "model.fc1"})
    assert [nd.id for nd in fnodes] == ["x", "model", "loss"]
    assert fnodes[1].group is None
    assert members["model"] == ["w1", "mm1", "b1", "add1", "relu", "w2", "mm2"]
    assert fedges == [("x", "model"), ("model", "loss")]


def test_fold_name_clash():
    nodes = [LayoutNode("m"), LayoutNode("a", group="m")]
    with pytest.raises(ValueError):
        fold_groups(nodes, [("m", "a")], {"m"})


def test_fold_then_incremental_expand():
    nodes, edges = _module_graph()
    fnodes, fedges, _ = fold_groups(nodes, edges, {"model.fc1"})
    folded = layout(fnodes, fedges)
    expanded = layout(nodes, edges, previous=folded.positions)
    assert overlapping_pairs(expanded, nodes) == []
    for v in ("x", "relu", "w2", "mm2", "loss"):
        assert expanded.positions[v] == folded.positions[v]


# --------------------------------------------------------------------------- robustness


def test_empty_graph():
    result = layout([], [])
    assert result == Layout()


def test_duplicates_self_loops_and_errors():
    nodes = [LayoutNode("a"), LayoutNode("b")]
    r1 = layout(nodes, [("a", "b"), ("a", "b"), ("b", "b")])
    r2 = layout(nodes, [("a", "b")])
    assert r1 == r2
    with pytest.raises(ValueError):
        layout([LayoutNode("a"), LayoutNode("a")], [])
    with pytest.raises(ValueError):
        layout(nodes, [("a", "zzz")])


def test_cycles_are_laid_out():
    nodes = [LayoutNode(v) for v in "abcde"]
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "c"), ("d", "e")]
    result = layout(nodes, edges)
    assert set(result.positions) == set("abcde")
    assert overlapping_pairs(result, nodes) == []
    assert result.layers["a"] < result.layers["b"] < result.layers["c"] < result.layers["d"]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 25), st.lists(st.tuples(st.integers(0, 24), st.integers(0, 24)), max_size=60),
       st.sampled_from(["LR", "TB"]))
def test_arbitrary_graphs_never_overlap(n, raw_edges, direction):
    nodes = [LayoutNode(f"v{i}", 0.5 + (i % 3) * 0.4, 0.3 + (i % 2) * 0.3,
                        [None, "g", "g.h"][i % 3]) for i in range(n)]
    edges = [(f"v{a % n}", f"v{b % n}") for a, b in raw_edges]  # cycles and repeats included
    result = layout(nodes, edges, direction=direction)
    assert set(result.positions) == {nd.id for nd in nodes}
    assert overlapping_pairs(result, nodes) == []


def test_two_thousand_nodes():
    nodes, edges = random_dag(2000, 99, reach=40)
    result = layout(nodes, edges)
    assert len(result.positions) == 2000
    assert overlapping_pairs(result, nodes) == []
    for s, d in edges:
        assert result.layers[s] < result.layers[d]
