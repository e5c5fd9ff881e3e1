"""gradview.engine.graph.capture on known programs: nodes, edges, names, lines, values, gradients, steps."""
import json
import linecache
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import gradview.engine as torch  # noqa: E402
from gradview.engine import _state, graph  # noqa: E402
from gradview.engine.tensor import Tensor  # noqa: E402
from tests.graph.source import run_source  # noqa: E402


WALKTHROUGH = """\
x = torch.ones(2, 2, requires_grad=True)
y = x + 1
z = y * y * 2
out = z.mean()
y.retain_grad()
z.retain_grad()
out.backward()
"""


def test_walkthrough_nodes_edges_names_and_lines():
    g, ns = run_source(WALKTHROUGH, "<walk>")
    assert len(g.steps) == 1
    step = g.steps[0]
    assert step.closed and step.loss == pytest.approx(8.0)
    d = step.to_dict()
    assert [n["kind"] for n in d["nodes"]] == ["leaf", "op", "op", "op", "output"]
    assert [n["op"] for n in d["nodes"]] == [None, "AddBackward0", "MulBackward0", "MulBackward0", "MeanBackward0"]
    assert [n["label"] for n in d["nodes"]] == ["x", "add", "mul", "mul", "mean"]
    # the leaf is placed where it was made (line 1), not where it is first used
    assert [n["line"] for n in d["nodes"]] == [1, 2, 3, 3, 4]
    assert d["nodes"][0]["code"] == "x = torch.ones(2, 2, requires_grad=True)"
    assert d["nodes"][2]["code"] == "z = y * y * 2"
    assert [n["id"] for n in d["nodes"]] == ["<walk>:1:x#0", "<walk>:2:add#0", "<walk>:3:mul#0", "<walk>:3:mul#1",
                                             "<walk>:4:mean#0"]
    ids = [n["id"] for n in d["nodes"]]
    # y * y: the input listed twice, and one edge per input slot
    assert d["nodes"][2]["inputs"] == [ids[1], ids[1]]
    assert [(e["source"], e["target"], e["slot"]) for e in d["edges"]] == [
        (ids[0], ids[1], 0), (ids[1], ids[2], 0), (ids[1], ids[2], 1), (ids[2], ids[3], 0), (ids[3], ids[4], 0)]
    assert d["nodes"][1]["var"] == "y" and d["nodes"][4]["var"] == "out"
    for n in d["nodes"]:
        assert n["shape"] == ([] if n["kind"] == "output" else [2, 2])
        assert n["dtype"] == "float32" and n["device"] == "cpu" and n["module"] is None
        assert n["file"] == "<walk>"
    assert all(n["time_us"] is None for n in d["nodes"] if n["kind"] == "leaf")
    assert all(n["time_us"] >= 0 for n in d["nodes"] if n["kind"] != "leaf")


def test_values_and_gradients_equal_the_tensors():
    g, ns = run_source(WALKTHROUGH, "<walk-values>")
    nodes = {n.label if n.label != "mul" else n.id: n for n in g.steps[0].nodes}
    x, y, z, out = ns["x"], ns["y"], ns["z"], ns["out"]
    assert nodes["x"].value["data"] == x.tolist()
    assert nodes["add"].value["data"] == y.tolist()
    assert nodes["<walk-values>:3:mul#1"].value["data"] == z.tolist()
    assert nodes["mean"].value["data"] == out.item()
    # leaf gradient = x.grad; non-leaf gradients = what retain_grad stored
    assert nodes["x"].grad["data"] == x.grad.tolist()
    assert nodes["add"].grad["data"] == y.grad.tolist()
    assert nodes["<walk-values>:3:mul#1"].grad["data"] == z.grad.tolist()
    assert nodes["mean"].grad["data"] == 1.0
    assert nodes["x"].grad["norm"] == pytest.approx(float(np.linalg.norm(x.grad.numpy())))
    assert nodes["x"].grad["abs_mean"] == pytest.approx(float(np.abs(x.grad.numpy()).mean()))


def test_grad_meaning_unchanged_for_user_code():
    src = "a = torch.tensor([1., 2., 3.], requires_grad=True)\nb = (a * a).sum()\nb.backward()\n"
    g, ns = run_source(src, "<grad-meaning>")
    assert ns["a"].grad.tolist() == [2.0, 4.0, 6.0]
    # the intermediate never gets a .grad of its own, though the graph shows its gradient
    mul = [n for n in g.steps[0].nodes if n.label == "mul"][0]
    assert mul.grad["data"] == [1.0, 1.0, 1.0]
    assert not any(n.grad is None for n in g.steps[0].nodes)


def test_large_tensors_are_summarised():
    src = "w = torch.randn(30, 40, requires_grad=True)\nv = (w * 3).sum()\nv.backward()\n"
    g, ns = run_source(src, "<big>")
    w_node = g.steps[0].nodes[0]
    w = ns["w"].detach().numpy()
    val = w_node.value
    assert val["full"] is False and "data" not in val
    assert val["numel"] == 1200 and val["shape"] == [30, 40]
    assert val["min"] == pytest.approx(float(w.min())) and val["max"] == pytest.approx(float(w.max()))
    assert val["mean"] == pytest.approx(float(w.mean()), abs=1e-6)
    assert val["std"] == pytest.approx(float(w.std()), rel=1e-5)
    assert sum(val["hist"]["counts"]) == 1200 and len(val["hist"]["counts"]) == 20
    assert len(val["hist"]["edges"]) == 21
    assert np.array(val["preview"]).shape == (30, 20)  # every 2nd column of 40
    assert w_node.grad["min"] == w_node.grad["max"] == pytest.approx(3.0)
    # along the backward graph's edges a large gradient keeps its statistics, not a histogram or preview
    bg = g.steps[0].backward_graph()
    assert [n["name"] for n in bg["nodes"]] == ["SumBackward0", "MulBackward0", "torch::autograd::AccumulateGrad"]
    into_sum, edge = bg["edges"]
    assert into_sum["grad"]["min"] == into_sum["grad"]["max"] == 1.0
    assert edge["grad"]["min"] == edge["grad"]["max"] == pytest.approx(3.0)
    # (an edge's gradient that is also a node's is summarised once, in full)
    assert edge["grad"] is w_node.grad or edge["grad"] == w_node.grad
    # two edges into w: each carries its own part, summarised by its statistics alone
    g, _ = run_source("w = torch.randn(30, 40, requires_grad=True)\nv = (w * 3 + w).sum()\nv.backward()\n", "<big2>")
    bg = g.steps[0].backward_graph()
    parts = [e["grad"] for e in bg["edges"] if e["target"] == bg["nodes"][-1]["id"]]
    assert sorted(p["mean"] for p in parts) == pytest.approx([1.0, 3.0])
    three = next(p for p in parts if p["mean"] == pytest.approx(3.0))  # w * 3's part, no node's gradient
    assert "hist" not in three and "preview" not in three and three["shape"] == [30, 40]
    assert g.steps[0].nodes[0].grad["mean"] == pytest.approx(4.0) and "hist" in g.steps[0].nodes[0].grad
    stats = graph.summarize(w, stats_only=True)
    assert {k: v for k, v in val.items() if k not in ("hist", "preview", "preview_step")} == stats


def test_full_values_threshold():
    src = "a = torch.arange(10.)\nb = a * 2\n"
    linecache.cache["<fv>"] = (len(src), None, src.splitlines(True), "<fv>")
    with graph.capture(full_values=4) as g:
        exec(compile(src, "<fv>", "exec"), {"torch": torch})
    node = g.steps[-1].nodes[-1]
    assert node.value["full"] is False and node.value["preview"] == [float(v) for v in range(0, 20, 2)]


TRAIN = """\
w = torch.tensor([0.5, -1.0], requires_grad=True)
x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
t = torch.tensor([1.0, 0.0])
losses = []
for i in range(4):
    pred = x @ w
    loss = ((pred - t) ** 2).mean()
    loss.backward()
    losses.append(loss.item())
    with torch.no_grad():
        w -= 0.01 * w.grad
    w.grad = None
"""


def test_training_loop_splits_into_steps():
    g, ns = run_source(TRAIN, "<train>")
    steps = g.steps
    assert [s.closed for s in steps] == [True, True, True, True, False]
    assert [s.loss for s in steps[:4]] == pytest.approx(ns["losses"])
    assert steps[-1].loss is None
    # the same forward graph every step; steps after the first begin with the previous update
    forward = ["x", "mv", "t", "sub", "pow", "mean"]
    assert [n.label for n in steps[0].nodes] == ["x", "w", "mv", "t", "sub", "pow", "mean"]
    for s in steps[1:4]:
        assert [n.label for n in s.nodes] == ["w.grad", "mul", "w", "sub_"] + forward
        assert s.nodes[-1].kind == "output" and s.nodes[-1].op == "MeanBackward0"
        w_node = s.nodes[2]
        assert s.node(s.nodes[5].id).inputs == [s.nodes[4].id, w_node.id]  # mv reads w's node
    last = steps[-1].to_dict()
    # the final open step holds the optimizer's update: a no-grad op that updates w in place
    assert [n["label"] for n in last["nodes"]] == ["w.grad", "mul", "w", "sub_"]
    sub = last["nodes"][-1]
    assert sub["op"] == "sub" and sub["inplace"] == "sub_" and sub["updates"] == last["nodes"][2]["id"]
    assert sub["requires_grad"] is False
    # w's value in each step is the one its forward used (copied before the update changed it)
    ws = [ns["w"].detach().numpy().copy()]
    w0 = np.array([0.5, -1.0], dtype=np.float32)
    assert steps[0].nodes[1].value["data"] == w0.tolist()
    assert steps[1].nodes[2].value["data"] != w0.tolist()
    assert steps[0].nodes[1].grad is not None and len(steps[0].nodes[1].grad["data"]) == 2
    del ws


def test_step_ids_are_stable_and_loop_iterations_distinct():
    src = "a = torch.ones(3, requires_grad=True)\nh = a\nfor _ in range(3):\n    h = h * 2\nh.sum().backward()\n"
    g1, _ = run_source(src, "<stable>")
    ids = [n.id for n in g1.steps[0].nodes]
    assert ids[1:4] == ["<stable>:4:mul#0", "<stable>:4:mul#1", "<stable>:4:mul#2"]
    edited = src.replace("h * 2", "h * 3")  # a small edit: same lines, same ops
    g2, _ = run_source(edited, "<stable>")
    assert [n.id for n in g2.steps[0].nodes] == ids
    longer = src.replace("range(3)", "range(4)")
    g3, _ = run_source(longer, "<stable>")
    assert set(ids) <= {n.id for n in g3.steps[0].nodes}


def test_keep_steps_bounds_detail():
    src = ("w = torch.ones(3, requires_grad=True)\n"
           "for i in range(6):\n    loss = (w * (i + 1)).sum()\n    loss.backward()\n")
    linecache.cache["<keep>"] = (len(src), None, src.splitlines(True), "<keep>")
    with graph.capture(keep_steps=2) as g:
        exec(compile(src, "<keep>", "exec"), {"torch": torch})
    steps = g.steps
    assert len(steps) == 6
    assert [s.truncated for s in steps] == [True, True, True, True, False, False]
    assert [s.loss for s in steps] == pytest.approx([3.0 * (i + 1) for i in range(6)])
    assert all(s.node_count == 3 for s in steps) and steps[0].nodes == [] and steps[0].edge_count == 2
    d = g.to_dict()
    assert d["steps"][0]["nodes"] == [] and d["steps"][0]["truncated"] is True
    assert d["steps"][0]["node_count"] == 3 and len(d["steps"][-1]["nodes"]) == 3
    light = g.to_dict(detail=1)
    assert [len(s["nodes"]) for s in light["steps"]] == [0, 0, 0, 0, 0, 3]
    assert [s["loss"] for s in light["steps"]] == [s["loss"] for s in d["steps"]]


def test_ops_without_gradients_are_recorded_by_function_name():
    src = "a = torch.arange(6.).reshape(2, 3)\nwith torch.no_grad():\n    b = a.sum(0)\nc = (b > 2).float()\n"
    g, _ = run_source(src, "<nograd>")
    ops = [(n.op, n.fn) for n in g.steps[0].nodes if n.kind != "leaf"]
    assert ops[0][0] in ("arange", "reshape", "view") or ops
    assert all(n.op == n.fn for n in g.steps[0].nodes if n.kind != "leaf")
    assert all(not n.requires_grad for n in g.steps[0].nodes)
    assert g.steps[0].nodes[-1].kind == "output"


def test_inplace_op_on_a_graph_tensor():
    src = ("a = torch.tensor([1., 2.], requires_grad=True)\n"
           "h = a * 3\n"
           "h.add_(1)\n"
           "loss = h.sum()\n"
           "loss.backward()\n")
    g, ns = run_source(src, "<inplace>")
    nodes = g.steps[0].nodes
    assert [n.label for n in nodes] == ["a", "mul", "add_", "sum"]
    mul, add = nodes[1], nodes[2]
    assert mul.value["data"] == [3.0, 6.0]        # the value before the in-place add
    assert add.value["data"] == [4.0, 7.0]
    assert add.inplace == "add_" and add.op == "AddBackward0"
    assert (mul.id, add.id) in g.steps[0].edges and (add.id, nodes[3].id) in g.steps[0].edges
    assert nodes[0].grad["data"] == ns["a"].grad.tolist() == [3.0, 3.0]


class Module:
    """A stand-in following engine.nn's contract: the module is on _state.module_stack while its
    forward runs (under capture)."""

    def __init__(self, **children):
        self._children = children
        for k, v in children.items():
            setattr(self, k, v)

    def named_children(self):
        return list(self._children.items())

    def named_parameters(self):
        out = []
        for k, v in vars(self).items():
            if isinstance(v, Tensor):
                out.append((k, v))
        for name, child in self._children.items():
            out += [(f"{name}.{k}", v) for k, v in child.named_parameters()]
        return out

    def __call__(self, x):
        stack = _state.__dict__.setdefault("module_stack", [])
        stack.append(self)
        try:
            return self.forward(x)
        finally:
            stack.pop()


class Parameter(Tensor):
    __slots__ = ()


def make_param(data):
    p = Parameter.__new__(Parameter)
    t = torch.tensor(data)
    p._init_from(t._data, t.dtype, t.device)
    p._rg = True
    return p


class Linear(Module):
    def __init__(self, w):
        super().__init__()
        self.weight = make_param(w)

    def forward(self, x):
        return x @ self.weight


class Net(Module):
    def forward(self, x):
        return self.fc2(self.fc1(x).relu())


def test_module_paths_and_parameter_names():
    model = Net(fc1=Linear([[1.0, -1.0], [0.5, 2.0]]), fc2=Linear([[1.0], [1.0]]))
    src = "x = torch.ones(1, 2)\nout = model(x)\nloss = out.sum()\nloss.backward()\n"
    g, _ = run_source(src, "<modules>", {"torch": torch, "model": model})
    d = g.steps[0].to_dict()
    by_label = {n["label"]: n for n in d["nodes"]}
    assert by_label["fc1.weight"]["kind"] == "param"
    assert by_label["fc1.weight"]["id"] == "param:model.fc1.weight"
    assert by_label["fc1.weight"]["module"] == "model.fc1"
    mods = [(n["label"], n["module"]) for n in d["nodes"]]
    # x was made outside the model: it is not drawn inside it
    assert mods == [("x", None), ("fc1.weight", "model.fc1"), ("mm", "model.fc1"),
                    ("relu", "model"), ("fc2.weight", "model.fc2"), ("mm", "model.fc2"), ("sum", None)]
    assert {n["module_type"] for n in d["nodes"] if n["module"] == "model.fc1"} == {"Linear"}
    # the op inside a module's forward points at the line in that forward
    assert by_label["relu"]["code"] == "return self.fc2(self.fc1(x).relu())"
    assert by_label["fc2.weight"]["grad"]["data"] == model.fc2.weight.grad.tolist() == [[1.5], [1.0]]


def test_to_json_is_valid_and_versioned():
    src = "a = torch.tensor([1.0, float('nan'), float('inf')])\nb = a * 2\n"
    g, _ = run_source(src, "<json>")
    d = json.loads(g.to_json())
    assert d["version"] == graph.SCHEMA_VERSION == 1
    b = d["steps"][0]["nodes"][-1]
    assert b["value"]["data"] == [2.0, "nan", "inf"] and b["value"]["nan"] == 1 and b["value"]["inf"] == 1
    for key in ("id", "label", "kind", "op", "shape", "dtype", "device", "line", "file", "code", "module", "value",
                "grad", "time_us"):
        assert key in b
    assert set(d["steps"][0]) >= {"index", "loss", "nodes", "edges"}


def test_capture_restores_the_engine():
    from gradview.engine.ops import elementwise
    from gradview.engine.ops._core import OpDef
    ops = [v for m in list(sys.modules.values()) if getattr(m, "__name__", "").startswith("gradview.engine.")
           for v in list(vars(m).values()) if isinstance(v, OpDef)]
    before = [(op.forward, op.vjp) for op in ops]
    add = elementwise.add.tt.forward if hasattr(elementwise, "add") else None
    with pytest.raises(ZeroDivisionError):
        with graph.capture() as g:
            a = torch.ones(2) * 2
            # the capture hears about ops through apply and the backward loop: it patches no op
            assert [(op.forward, op.vjp) for op in ops] == before
            1 / 0
    assert _state.recorder is None and _state.backward_observer is None
    assert [(op.forward, op.vjp) for op in ops] == before
    if add is not None:
        assert elementwise.add.tt.forward is add
    assert len(g.steps) == 1 and not g.steps[0].closed and g.steps[0].nodes[-2].label == "mul"
    assert g.steps[0].nodes[-1].kind == "failed" and g.steps[0].nodes[-1].error.startswith("ZeroDivisionError")
    del a


def test_backward_with_create_graph_records_only_the_program():
    src = ("x = torch.tensor([2.0], requires_grad=True)\n"
           "y = x ** 3\n"
           "(gx,) = torch.autograd.grad(y, x, create_graph=True)\n"
           "gx.backward()\n")
    g, ns = run_source(src, "<cg>")
    assert ns["x"].grad.tolist() == [12.0]
    first = g.steps[0]
    assert [n.label for n in first.nodes][:2] == ["x", "pow"]
    assert first.closed and first.loss == pytest.approx(12.0)


def test_from_tensor_without_capture():
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 1
    z = y * y * 2
    step = graph.from_tensor(z)
    d = step.to_dict()
    assert [n["op"] for n in d["nodes"]] == [None, "AddBackward0", "MulBackward0", "MulBackward0"]
    assert [n["kind"] for n in d["nodes"]] == ["leaf", "op", "op", "output"]
    assert d["nodes"][0]["label"] == "x" and d["nodes"][0]["value"]["data"] == [[1.0, 1.0], [1.0, 1.0]]
    assert len(d["edges"]) == 3 and d["nodes"][-1]["value"]["data"] == z.tolist()


def test_open_step_visible_while_capturing():
    with graph.capture() as g:
        a = torch.ones(3) + 1
        assert len(g.steps) == 1 and g.steps[0].node_count == 2
        b = a * 2
    assert [n.label for n in g.steps[0].nodes] == ["tensor", "add", "mul"] or \
        [n.label for n in g.steps[0].nodes][1:] == ["add", "mul"]
    del b


def test_nodes_name_their_source():
    sources = {"<cell c1>": "c1"}
    cm = graph.capture(source_of=sources.get)
    g, _ = run_source("x = torch.ones(2, requires_grad=True)\ny = (x * 2).sum()\ny.backward()\nz = x + 1\n",
                      "<cell c1>", capture=cm)
    for step in g.steps:
        assert [n.source for n in step.nodes] == ["c1"] * len(step.nodes)
        assert all(n["source"] == "c1" for n in step.to_dict()["nodes"])
        assert all(n["source"] == "c1" for n in step.trimmed_dict(1)["nodes"] if n["kind"] != "elided")
    g, _ = run_source("w = torch.ones(2) * 3\n", "<other>", capture=graph.capture(source_of=sources.get))
    assert [n.source for n in g.steps[0].nodes] == [None, None]
    g, _ = run_source("w = torch.ones(2) * 3\n", "<cell c1>")  # no source_of: no source
    assert [n["source"] for n in g.to_dict()["steps"][0]["nodes"]] == [None, None]
