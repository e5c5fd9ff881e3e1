"""The Bokeh graph view, the inspector and exports (engine.viz.bokeh_view / export, app.export)."""
import json
import linecache
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest.importorskip("bokeh")

import gradview.engine as torch  # noqa: E402
from gradview.engine import graph, nn, viz  # noqa: E402
from gradview.engine.viz.bokeh_view import GraphView, inspector_figure  # noqa: E402

EPS = 1e-7


def capture(source, filename="<prog>", ns=None):
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns = {"torch": torch, "nn": nn} if ns is None else ns
    with graph.capture() as g:
        exec(compile(source, filename, "exec"), ns)
    return g


WALK = """\
x = torch.ones(2, 2, requires_grad=True)
y = x + 1
z = y * y * 2
out = z.mean()
out.backward()
"""

LOOP = """\
w = torch.randn(3, 3, requires_grad=True)
h = torch.ones(1, 3)
for t in range({n}):
    h = torch.tanh(h @ w)
loss = h.sum()
loss.backward()
"""


def overlapping(view):
    d = view.nodes.data
    boxes = sorted((x - w / 2, y - h / 2, x + w / 2, y + h / 2, i)
                   for i, (x, y, w, h) in enumerate(zip(d["x"], d["y"], d["w"], d["h"])))
    bad, active = [], []
    for b in boxes:
        active = [a for a in active if a[2] > b[0] + EPS]
        bad += [(a[4], b[4]) for a in active if a[1] < b[3] - EPS and b[1] < a[3] - EPS]
        active.append(b)
    return bad


def test_sources_and_columns():
    g = capture(WALK)
    view = GraphView(g.steps[0])
    assert view.nodes.name == "graph-nodes" and view.edges.name == "graph-edges"
    d = view.nodes.data
    for col in ("id", "label", "kind", "shape", "line", "has_grad", "x", "y", "colour", "grad_abs_mean", "value_text",
                "grad_text", "op", "dtype", "device", "code"):
        assert col in d, col
    step = g.steps[0].to_dict()
    assert d["id"] == [n["id"] for n in step["nodes"]]
    assert d["label"] == ["x", "add", "mul", "mul", "mean"]
    assert d["kind"] == ["leaf", "op", "op", "op", "output"]
    assert d["shape"] == ["2×2", "2×2", "2×2", "2×2", "scalar"]
    assert d["line"] == [1, 2, 3, 3, 4] and all(type(v) is int for v in d["line"])
    assert d["has_grad"] == [True] * 5 and all(type(v) is bool for v in d["has_grad"])
    assert d["value_text"][0] == "[1, 1, 1, 1]" and d["grad_text"][4] == "1"
    e = view.edges.data
    assert list(zip(e["source"], e["target"])) == [(s["source"], s["target"]) for s in step["edges"]]
    # edges run in data-flow direction: left to right
    assert all(xs[0] < xs[-1] for xs in e["xs"])
    assert overlapping(view) == []


def test_an_input_used_twice_draws_two_edges_apart():
    g = capture(WALK, "<twice>")
    view = GraphView(g.steps[0])
    e = view.edges.data
    add, mul = view.nodes.data["id"][1], view.nodes.data["id"][2]
    twice = [k for k, (s, t) in enumerate(zip(e["source"], e["target"])) if (s, t) == (add, mul)]
    assert len(twice) == 2
    a, b = (list(zip(e["xs"][k], e["ys"][k])) for k in twice)
    assert a != b and a[0][0] == b[0][0] and a[0][1] != b[0][1]  # side by side, from the same side of y


def test_a_failed_call_is_drawn_as_failed_with_its_error():
    src = "x = torch.ones(2, 3, requires_grad=True)\nh = x * 2\nout = h @ torch.ones(2, 2)\n"
    linecache.cache["<failing>"] = (len(src), None, src.splitlines(True), "<failing>")
    cm = graph.capture()
    with pytest.raises(RuntimeError):
        with cm:
            exec(compile(src, "<failing>", "exec"), {"torch": torch})
    d = GraphView(cm.graph.steps[-1]).nodes.data
    assert d["kind"] == ["leaf", "op", "leaf", "failed"] and d["glyph"][-1] == "failed"
    assert d["label"][-1] == "matmul" and d["line"][-1] == 3 and d["shape"][-1] == ""
    assert d["value_text"][-1].startswith("raised RuntimeError: mat1 and mat2 shapes cannot be multiplied")
    assert "output" not in d["kind"]


def test_gradient_colour_scale():
    g = capture(WALK)
    d = GraphView(g.steps[0]).nodes.data
    norms = d["grad_abs_mean"]
    # the colour encodes the mean |grad| per element (x.grad is 2 everywhere; its L2 norm would be 4)
    assert norms[4] == pytest.approx(1.0) and norms[0] == pytest.approx(2.0)
    # larger gradients are darker
    def lum(c):
        r, g_, b = (int(c[k:k + 2], 16) for k in (1, 3, 5))
        return 0.3 * r + 0.59 * g_ + 0.11 * b
    assert lum(d["colour"][0]) < lum(d["colour"][4])


def test_one_colour_scale_across_the_steps_of_a_run():
    from gradview.engine.viz.bokeh_view import GRAD_ENCODED, grad_range
    src = ("w = torch.ones(3, requires_grad=True)\n"
           "for k in (1.0, 100.0):\n"
           "    loss = (w * 2).sum() * k\n"
           "    loss.backward()\n"
           "    w.grad = None\n")
    steps = [s.to_dict() for s in capture(src, "<scale>").steps]
    assert grad_range(steps) == (pytest.approx(1.0), pytest.approx(200.0))  # w.grad: 2, then 200
    view = GraphView(steps[0])
    assert view._colorbar.title == GRAD_ENCODED == "mean |grad| per element"
    own = [view.update(s).nodes.data["colour"][0] for s in steps]   # each step's own scale
    view.colour_range = grad_range(steps)
    run = [view.update(s).nodes.data["colour"][0] for s in steps]
    assert own[0] == own[1]       # refitted per step: the same colour means 2 at step 0 and 200 at step 1
    assert run[0] != run[1]       # one scale: different gradients, different colours
    assert (view._mapper.low, view._mapper.high) == (pytest.approx(1.0), pytest.approx(200.0))


def test_update_keeps_positions_of_kept_nodes():
    a = capture(LOOP.format(n=3), "<loop-prog>")
    view = GraphView(a.steps[0])
    before = dict(zip(view.nodes.data["id"], zip(view.nodes.data["x"], view.nodes.data["y"])))
    b = capture(LOOP.format(n=4), "<loop-prog>")  # one more iteration: the old nodes are all there
    view.update(b.steps[0])
    after = dict(zip(view.nodes.data["id"], zip(view.nodes.data["x"], view.nodes.data["y"])))
    kept = set(before) & set(after)
    assert len(kept) == len(before)
    moved = [k for k in kept if max(abs(before[k][0] - after[k][0]), abs(before[k][1] - after[k][1])) > 1e-9]
    assert moved == []
    assert overlapping(view) == []


def test_collapse_expand_round_trip():
    g = capture(LOOP.format(n=6), "<fold-prog>")
    step = g.steps[0]
    view = GraphView(step)
    ids = list(view.nodes.data["id"])
    assert view.collapsed == set()
    loop = next(k for k, v in view.grouping.groups.items() if v.kind == "loop")
    assert view.toggle_group(loop) is True
    d = view.nodes.data
    assert loop in d["id"] and len(d["id"]) < len(ids)
    i = d["id"].index(loop)
    assert d["is_group"][i] and d["label"][i] == "loop ×6 · line 4" and d["count"][i] == 12
    assert view.node_dict(i)["kind"] == "group" and len(view.node_dict(loop)["members"]) == 12
    # the folded loop's edges: w and h in, sum out
    e = view.edges.data
    into = sorted(s for s, t in zip(e["source"], e["target"]) if t == loop)
    assert len(into) == 2
    assert view.toggle_group(loop) is False
    assert sorted(view.nodes.data["id"]) == sorted(ids)
    assert overlapping(view) == []


def synthetic(n_blocks):
    nodes = [{"id": "x", "label": "x", "kind": "leaf", "shape": [4], "line": 1}]
    edges = []
    prev = "x"
    for k in range(n_blocks):
        w = {"id": f"w{k}", "label": "weight", "kind": "param", "shape": [4, 4], "line": 5, "module": f"m.l{k}",
             "module_type": "Linear"}
        mm = {"id": f"mm{k}", "label": "mm", "kind": "op", "op": "MmBackward0", "shape": [4], "line": 5,
              "module": f"m.l{k}", "inputs": [prev, f"w{k}"], "fn": "mm", "file": "f.py", "col": 4, "end_col": 9}
        r = {"id": f"r{k}", "label": "relu", "kind": "op", "op": "ReluBackward0", "shape": [4], "line": 6,
             "module": "m", "inputs": [f"mm{k}"], "fn": "relu", "file": "f.py", "col": 4, "end_col": 9}
        nodes += [w, mm, r]
        edges += [(prev, f"mm{k}"), (f"w{k}", f"mm{k}"), (f"mm{k}", f"r{k}")]
        prev = f"r{k}"
    return {"index": 0, "loss": None, "nodes": nodes, "edges": [{"source": s, "target": t} for s, t in edges]}


def test_big_graphs_start_folded_and_expand_on_demand():
    step = synthetic(800)  # 2,401 nodes
    view = GraphView(step)
    drawn = len(view.nodes.data["id"])
    assert view.collapsed and drawn < 2000
    assert any(view.nodes.data["is_group"])
    full = GraphView(step, max_nodes=None)
    assert len(full.nodes.data["id"]) == 2401 and not any(full.nodes.data["is_group"])
    view.expand_all()
    assert len(view.nodes.data["id"]) == 2401


def test_an_unfolded_group_stays_unfolded_only_while_it_is_drawn():
    big = synthetic(800)  # 2,401 nodes: folded automatically
    view = GraphView(big)
    folded = sorted(view.collapsed)
    assert folded
    view.toggle_group(folded[0])
    unfolded = len(view.nodes.data["id"])
    assert folded[0] not in view.collapsed and unfolded > 2000
    view.update(synthetic(800))  # the same graph again (new values, a training step): still unfolded
    assert len(view.nodes.data["id"]) == unfolded
    view.update(synthetic(3))    # other code: the choice goes with the group it was made on
    assert view.collapsed == set()
    view.update(big)             # a big graph after that folds on its own again
    assert sorted(view.collapsed) == folded and len(view.nodes.data["id"]) < 2000


def test_tensor_without_capture_and_jupyter_display(tmp_path):
    x = torch.ones(2, 2, requires_grad=True)
    z = (x + 1) * 3
    drawing = viz.draw(z)
    assert drawing.nodes.data["label"] == ["x", "add", "mul"]
    html = drawing._repr_html_()
    assert html.startswith("<iframe srcdoc=") and "graph-nodes" in html
    bundle = drawing._repr_mimebundle_()
    assert "text/html" in bundle
    out = drawing.save(tmp_path / "t.html")
    assert "graph-nodes" in Path(out).read_text()
    drawing.save(tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text())["nodes"][0]["label"] == "x"
    with pytest.raises(ValueError):
        drawing.save(tmp_path / "t.gif")


def test_save_html_is_self_contained(tmp_path):
    g = capture(LOOP.format(n=3), "<page>")
    path = viz.save_html(g, tmp_path / "g.html", title="a loop")
    text = Path(path).read_text()
    import re
    assert re.findall(r"<script[^>]*\ssrc=", text) == []   # BokehJS is inline
    assert re.findall(r"<link[^>]*href=", text) == []
    assert "graph-nodes" in text and "graph-search" in text and "a loop" in text


def test_inspector_figures():
    from bokeh.models import LayoutDOM
    g = capture("a = torch.tensor(3.0, requires_grad=True)\nv = torch.arange(6.) * a\n"
                "m = v.reshape(2, 3)\nbig = torch.randn(50, 40) * a\n(m.sum() + big.sum()).backward()\n",
                "<insp>")
    nodes = {n["label"]: n for n in g.steps[0].to_dict()["nodes"]}
    for label in ("a", "mul", "reshape", "randn" if "randn" in nodes else "big"):
        if label in nodes:
            fig = inspector_figure(nodes[label])
            assert isinstance(fig, LayoutDOM)
            assert len(fig.children) == 2  # value and gradient side by side
    fig = inspector_figure({"label": "t", "value": None, "grad": None})
    assert len(fig.children) == 2


def test_png_export_explains_what_is_missing(tmp_path, monkeypatch):
    from gradview.engine.viz import export
    monkeypatch.setattr(export, "_webdriver_problem", lambda: "the 'selenium' package is not installed")
    monkeypatch.setattr(export, "_playwright_browser", lambda: None)
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="selenium"):
        viz.export_png(x * 2, tmp_path / "g.png")
    with pytest.raises(RuntimeError, match="chromedriver"):
        viz.export_svg(x * 2, tmp_path / "g.svg")


def test_engine_imports_without_bokeh():
    code = ("import sys, engine, engine.graph, engine.viz.layout, engine.viz.folding\n"
            "assert 'bokeh' not in sys.modules and 'panel' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_app_export_runs_a_torch_script(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import torch\nimport torch.nn as nn\n"
                      "model = nn.Linear(3, 1)\n"
                      "loss = model(torch.ones(2, 3)).pow(2).mean()\n"
                      "loss.backward()\n")
    out = tmp_path / "train.html"
    res = subprocess.run([sys.executable, "-m", "gradview.app.export", str(script), "-o", str(out), "--json",
                          str(tmp_path / "g.json")], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert out.exists() and "graph-nodes" in out.read_text()
    d = json.loads((tmp_path / "g.json").read_text())
    labels = [n["label"] for n in d["steps"][0]["nodes"]]
    assert "weight" in labels and d["steps"][0]["nodes"][-1]["kind"] == "output"
    assert d["steps"][0]["nodes"][-1]["file"] == str(script)
    from tests.app.integrations.sites import graphs_in
    (shown,) = graphs_in(out.read_text())
    reached = sum(1 for n in d["steps"][0]["nodes"] if n["grad"] is not None)
    assert shown["view"] == "forward" and shown["player"] and shown["answers"] == reached >= 4
    res = subprocess.run([sys.executable, "-m", "gradview.app.export", str(script), "-o", str(out), "--view", "both",
                          "--no-player", "--no-explain"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert graphs_in(out.read_text()) == [{"view": "both", "views": ["forward", "backward", "both"], "player": False,
                                           "answers": 0}]


def test_app_export_alias_is_only_for_the_run(tmp_path):
    from gradview.app.export import run_captured
    script = tmp_path / "boom.py"
    script.write_text("import torch\nassert torch.__name__ == 'gradview.engine'\nimport torch.nn\n"
                      "x = torch.ones(2) * 3\nraise ValueError('boom')\n")
    before = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    g, error = run_captured(str(script))
    assert "ValueError: boom" in error
    assert [n.label for n in g.steps[-1].nodes][-1] == "mul"
    after = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    assert after == before  # nothing left behind: `torch` is whatever it was before the run
    assert all(v is not torch for v in after.values())


def test_a_scalar_readout_keeps_its_exponent_on_one_line():
    from bokeh.models import Div
    node = {"label": "x", "value": graph.summarize(np.array(2.0)), "grad": graph.summarize(np.array(-5.447e-4))}
    grad = inspector_figure(node, width=300).children[1]
    assert isinstance(grad, Div) and ">-5.447e-04</div>" in grad.text and "white-space:nowrap" in grad.text
    size = int(grad.text.split("font-size:")[1].split("px")[0])
    assert size * 0.62 * len("-5.447e-04") <= grad.width  # shrunk to fit the panel, not cut


def test_small_graphs_fit_the_view_with_every_label():
    from gradview.engine.viz.bokeh_view import SMALL_GRAPH
    g = capture(LOOP.format(n=3), "<small>")
    view = GraphView(g.steps[0])
    assert view.focus.data["fit"] == [1] and not view.needs_overview
    assert SMALL_GRAPH >= 60


def test_hover_texts_of_a_leaf_read_whole():
    g = capture(WALK, "<cell k0>")
    d = GraphView(g.steps[0]).nodes.data
    assert d["kind_text"][0] == "leaf" and d["kind_text"][1] == "op · AddBackward0"
    assert d["where"][0] == "line 1"  # not "<cell k0>:1", which a browser reads as a tag


# -- the backward and both views, the player ------------------------------------------------------
FORK = """\
a = torch.tensor([1.0, 2.0], requires_grad=True)
b = torch.tensor([3.0, 4.0], requires_grad=True)
c = a * b
d = c.sin() + c.exp()
e = (d * a).sum() + b.mean()
e.backward()
"""


def _pytorch_backward_run_order(source):
    """The names of PyTorch's autograd nodes in the order its engine ran them (pre-hooks)."""
    import torch as real
    ran = []
    ns = {"torch": real}
    exec(compile(source.replace("e.backward()\n", ""), "<pt>", "exec"), ns)
    seen, todo = set(), [ns["e"].grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        fn.register_prehook(lambda grads, fn=fn: ran.append(type(fn).__name__))
        todo.extend(f for f, _ in fn.next_functions)
    ns["e"].backward()
    return ran


@pytest.mark.parametrize("source", [WALK.replace("out", "e"), FORK], ids=["walkthrough", "fork"])
def test_the_backward_order_is_the_order_pytorchs_engine_runs(source):
    pytest.importorskip("torch")
    from gradview.engine.viz.bokeh_view import backward_order
    step = capture(source).steps[-1].to_dict()
    names = {b["id"]: b["name"].rpartition("::")[2] for b in step["backward"]["nodes"]}
    assert [names[i] for i in backward_order(step)] == _pytorch_backward_run_order(source)
    # the order the capture recorded is the one used; without it (older data) it is derived
    assert backward_order(step) == [b["id"] for b in sorted(step["backward"]["nodes"], key=lambda b: b["ran_at"])]
    old = dict(step, backward=dict(step["backward"], nodes=[{k: v for k, v in b.items() if k != "ran_at"}
                                                            for b in step["backward"]["nodes"]]))
    assert [names[i] for i in backward_order(old)] == _pytorch_backward_run_order(source)


def test_the_both_view_draws_the_forward_graph_and_the_backward_graph_with_dashed_gradient_edges():
    from gradview.engine.viz.bokeh_view import both_step, view_step
    step = capture(WALK).steps[-1].to_dict()
    v = GraphView(view_step(step, "both"), names="both")
    d, e = v.nodes.data, v.edges.data
    assert v.nodes.name == "both-nodes"
    labels = list(d["label"])
    assert labels[:5] == ["x", "add", "mul", "mul", "mean"]
    assert sorted(labels[5:]) == sorted(["MeanBackward0", "MulBackward0", "MulBackward0", "AddBackward0",
                                         "AccumulateGrad"])
    flows = list(e["flow"])
    assert flows.count("grad") == len(step["backward"]["edges"]) == 5
    assert flows.count("data") == len(step["edges"])
    back_ids = {b["id"] for b in step["backward"]["nodes"]}
    for s, t, f in zip(e["source"], e["target"], flows):
        assert (f == "grad") == (s in back_ids and t in back_ids)
    # events: the forward ops as they ran, then the backward nodes as the engine ran them
    order = [int(o) for o in d["order"]]
    assert sorted(order) == list(range(10))
    by_order = [labels[order.index(k)] for k in range(10)]
    assert by_order == ["x", "add", "mul", "mul", "mean", "MeanBackward0", "MulBackward0", "MulBackward0",
                        "AddBackward0", "AccumulateGrad"]
    # the dashed renderer draws only the gradient edges
    dashed = [r for r in v.figure.renderers if getattr(r.glyph, "line_dash", None) == [6, 3]]
    assert len(dashed) == 1 and dashed[0].view.filter.operands[0].group == "grad"
    assert both_step({"nodes": [], "edges": []})["nodes"] == []
    with pytest.raises(ValueError):
        view_step(step, "sideways")


def test_the_player_steps_through_the_events_and_resets_on_a_new_graph():
    from bokeh.models import Button, Slider
    from gradview.engine.viz.bokeh_view import view_step
    step = capture(WALK).steps[-1].to_dict()
    v = GraphView(view_step(step, "backward"), names="backward")
    p = v.player()
    assert p is v.player()  # one per view
    sliders = [m for m in p.select({"type": Slider})]
    buttons = [m.label for m in p.children[0].children if isinstance(m, Button)]
    assert [s.name for s in sliders] == ["backward-player"] and buttons == ["⇤", "‹", "▶", "›", "⇥"]
    s = sliders[0]
    assert (s.start, s.end, s.value) == (0, 5, 5)  # at the end: the whole graph, nothing veiled
    assert "5 events" in v.player_label.text
    # the browser side moves the slider; the callbacks it runs are wired to the view's sources
    show = s.js_property_callbacks["change:value"][0]
    assert show.args["pending"] is v.player_pending and show.args["current"] is v.player_current
    v.update(step)  # a forward graph of 5 nodes → still 5 events; a smaller one resets the scrubber
    v.update({"nodes": step["nodes"][:1], "edges": []})
    assert (s.end, s.value) == (1, 1) and "1 events" in v.player_label.text


# programs whose module and loop boxes used to cross: modules called in loops, parameters made
# outside the loop, nested modules and nested loops
BOXED = {
    "training loop": """\
model = nn.Linear(3, 1)
loss_fn = nn.MSELoss()
x = torch.randn(8, 3)
y = torch.randn(8, 1)
total = torch.zeros(())
for epoch in range(3):
    total = total + loss_fn(model(x), y)
total.backward()
""",
    "nested modules and loops": """\
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 8), nn.Tanh()), nn.Linear(8, 1))
x = torch.randn(5, 4)
total = torch.zeros(())
for i in range(3):
    h = model(x)
    for j in range(2):
        h = h * 0.5 + 1
    total = total + h.sum()
total.backward()
""",
    "recurrent cell and head": """\
cell = nn.Linear(6, 6)
head = nn.Linear(6, 2)
h = torch.zeros(1, 6)
outs = []
for t in range(4):
    h = torch.tanh(cell(h) + 1)
    outs.append(head(h))
loss = torch.stack(outs).pow(2).mean()
loss.backward()
""",
}


def crossing_boxes(view):
    """Pairs of drawn group boxes that overlap while neither holds the other."""
    d = view.groups.data
    boxes = list(zip(d["name"], d["left"], d["bottom"], d["right"], d["top"]))
    bad = []
    for i, (a, l1, b1, r1, t1) in enumerate(boxes):
        for b, l2, b2, r2, t2 in boxes[i + 1:]:
            if a.startswith(b + ".") or b.startswith(a + "."):
                continue
            if l1 < r2 - EPS and l2 < r1 - EPS and b1 < t2 - EPS and b2 < t1 - EPS:
                bad.append((a, b))
    return bad


@pytest.mark.parametrize("direction", ["LR", "TB"])
@pytest.mark.parametrize("name", sorted(BOXED))
def test_group_boxes_nest_or_stand_apart(name, direction):
    g = capture(BOXED[name])
    view = GraphView(g.steps[-1], direction=direction, max_nodes=None)
    names = view.groups.data["name"]
    assert len(names) >= 3 and any(n.startswith("loop") for n in names)  # the program draws boxes
    assert crossing_boxes(view) == []
    assert overlapping(view) == []


def test_hover_texts_follow_each_summary_in_big_and_small_graphs():
    from gradview.engine.viz.bokeh_view import node_columns, summary_text
    small = {"numel": 20, "data": list(range(20)), "min": 0, "max": 19, "mean": 9.5, "std": 5.9}
    stats = {"numel": 20, "min": 0, "max": 19, "mean": 9.5, "std": 5.9}  # the same, values dropped
    for count in (4, 3001):  # above 3,000 nodes the page keeps no long value lists
        nodes = [{"id": f"n{i}", "label": "n", "kind": "op", "value": small if i % 2 else stats,
                  "grad": stats if i % 2 else small} for i in range(count)]
        cols, _, _, _ = node_columns({"nodes": nodes, "edges": []}, max_nodes=None)
        for i in (0, 1, count - 1):
            n = nodes[i]
            assert cols["value_text"][i] == summary_text(n["value"])
            assert cols["grad_text"][i] == summary_text(n["grad"])
        assert cols["value_text"][1].startswith("[0, 1, 2") and cols["value_text"][0].startswith("min 0")
        if count > 3000:
            assert "data" not in json.loads(cols["value_json"][1])


def test_redrawing_the_same_graph_reuses_its_layout_and_draws_the_same():
    from gradview.engine.viz import bokeh_view
    a = capture(LOOP.format(n=6)).steps[-1].to_dict()
    b = capture(LOOP.format(n=6)).steps[-1].to_dict()  # another random w: other values, same graph
    assert [n["value"] for n in a["nodes"]] != [n["value"] for n in b["nodes"]]
    view = GraphView(a)
    first = view.layout
    view.update(b)  # only values changed: same graph, placed where it was
    assert view.layout is first
    def drawn(v):
        return ([float(x) for x in v.nodes.data["x"]], [float(y) for y in v.nodes.data["y"]],
                [[float(x) for x in xs] for xs in v.edges.data["xs"]])
    reused = drawn(view)
    bokeh_view._LAYOUTS.clear()
    fresh = GraphView(a)
    fresh.update(b)
    assert fresh.layout is not first
    assert drawn(fresh) == reused
    assert fresh.layout.routes == first.routes and fresh.layout.groups == first.groups
    # a different graph is laid out anew
    view.update(capture(LOOP.format(n=7)).steps[-1].to_dict())
    assert view.layout is not first and len(view.nodes.data["id"]) > len(a["nodes"])
