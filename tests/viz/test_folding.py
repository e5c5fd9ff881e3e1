"""Loop and module groups of captured steps (engine.viz.folding)."""
import linecache
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import gradview.engine as torch  # noqa: E402
from gradview.engine import graph, nn  # noqa: E402
from gradview.engine.viz.folding import auto_collapse, find_repeats, group_nodes  # noqa: E402


def capture(source, filename, ns=None):
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns = {"torch": torch, "nn": nn} if ns is None else ns
    with graph.capture() as g:
        exec(compile(source, filename, "exec"), ns)
    return g


def test_find_repeats():
    assert find_repeats(list("xababababy")) == [(1, 2, 4)]
    assert find_repeats(list("abcabc")) == [(0, 3, 2)]
    assert find_repeats(list("abcd")) == []
    assert find_repeats([None, None, None]) == []
    assert find_repeats(list("aab")) == [(0, 1, 2)]


LOOPS = """\
wh = torch.randn(4, 4, requires_grad=True)
h = torch.zeros(1, 4)
for t in range(5):
    noise = torch.randn(1, 4)
    h = torch.tanh(h @ wh + noise)
    for k in range(3):
        h = h * 0.5
loss = h.sum()
loss.backward()
"""


def test_loops_nest_and_leaves_stay_where_they_belong():
    g = capture(LOOPS, "<loops>")
    d = g.steps[0].to_dict()
    gr = group_nodes(d["nodes"])
    outer = [v for v in gr.groups.values() if v.kind == "loop" and v.depth == 0]
    assert len(outer) == 1
    loop = outer[0]
    assert loop.name == "loop@5" and loop.count == 5 and loop.line == 5 and loop.label == "loop ×5 · line 5"
    inner = sorted(v.name for v in gr.groups.values() if v.depth == 1)
    assert inner == [f"loop@5.loop@7~{i}" for i in range(5)]
    assert all(gr.groups[n].count == 3 for n in inner)
    by_label = {}
    for n in d["nodes"]:
        by_label.setdefault(n["label"], []).append(gr.node_group[n["id"]])
    assert by_label["wh"] == [None]                  # a weight used by every iteration stays outside
    assert by_label["h"] == [None]                   # the starting value too
    assert by_label["noise"] == ["loop@5"] * 5       # a fresh input per iteration goes inside
    assert by_label["sum"] == [None]
    assert set(by_label["mul"]) == set(inner)
    assert by_label["tanh"] == ["loop@5"] * 5


def test_repeated_ops_on_one_line_are_not_a_loop():
    g = capture("x = torch.ones(2, requires_grad=True)\ny = x * x * x * x\ny.sum().backward()\n", "<line>")
    gr = group_nodes(g.steps[0].to_dict()["nodes"])
    assert gr.groups == {}


def test_module_groups_nest_with_class_names():
    src = """\
model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
out = model(torch.randn(2, 3)).sum()
out.backward()
"""
    g = capture(src, "<mods>")
    d = g.steps[0].to_dict()
    assert d["modules"] == {"model": "Sequential", "model.0": "Linear", "model.1": "ReLU", "model.2": "Linear"}
    gr = group_nodes(d["nodes"], module_types=d["modules"])
    assert {k: v.label for k, v in gr.groups.items() if v.kind == "module"} == {
        "model": "model · Sequential", "model.0": "0 · Linear", "model.1": "1 · ReLU", "model.2": "2 · Linear"}
    params = {n["label"]: gr.node_group[n["id"]] for n in d["nodes"] if n["kind"] == "param"}
    assert params == {"0.weight": "model.0", "0.bias": "model.0", "2.weight": "model.2", "2.bias": "model.2"}


def test_loop_over_layers_sits_inside_the_module():
    src = """\
class Deep(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(6)])

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


model = Deep()
model(torch.randn(2, 4)).sum().backward()
"""
    g = capture(src, "<deep>")
    d = g.steps[0].to_dict()
    gr = group_nodes(d["nodes"])
    loops = [v for v in gr.groups.values() if v.kind == "loop"]
    assert len(loops) == 1 and loops[0].count == 6
    assert loops[0].name == "model.layers.loop@8" or loops[0].name == "model.loop@8"
    ops = [n for n in d["nodes"] if n["label"] == "relu"]
    assert all(gr.node_group[n["id"]].startswith(loops[0].name) for n in ops)


def test_auto_collapse_folds_loops_first():
    g = capture(LOOPS, "<loops-auto>")
    d = g.steps[0].to_dict()
    gr = group_nodes(d["nodes"])
    n = len(d["nodes"])
    assert auto_collapse(gr, n, limit=n) == set()
    assert auto_collapse(gr, n, limit=10) == {"loop@5"}
