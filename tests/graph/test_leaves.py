"""Leaves in a captured graph: named after the variable they were created under, placed at the
statement that created them (factory call, torch.tensor, nn.Parameter, module construction),
whatever name or line first uses them; one edge per input slot, as PyTorch's next_functions."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import gradview.engine as torch  # noqa: E402
from gradview.engine import nn  # noqa: E402
from tests.graph.source import run_source  # noqa: E402


def leaves(step):
    return [n for n in step.nodes if n.kind in ("leaf", "param")]


def test_a_leaf_keeps_the_name_it_was_created_under_and_lists_its_aliases():
    src = ("h = torch.ones(3, requires_grad=True)\n"
           "z = h\n"
           "out = (z * 2).sum()\n"
           "out.backward()\n")
    g, _ = run_source(src, "<alias>")
    (leaf,) = leaves(g.steps[0])
    assert leaf.label == "h" and leaf.aliases == ["z"]
    assert leaf.id == "<alias>:1:h#0"
    # placed at the statement that made it: its line, the call's columns and code
    assert (leaf.line, leaf.code) == (1, "h = torch.ones(3, requires_grad=True)")
    assert src.splitlines()[0][leaf.col:leaf.end_col] == "torch.ones(3, requires_grad=True)"


def test_the_walkthrough_loop_cell_names_its_leaf_h():
    src = ("h = torch.ones(3, requires_grad=True)\n"
           "z = h\n"
           "for step in range(3):\n"
           "    z = torch.sin(z) * 2\n"
           "total = z.sum()\n"
           "total.backward()\n")
    g, _ = run_source(src, "<walk-loop>")
    (leaf,) = leaves(g.steps[0])
    # z was rebound by the loop: the leaf is h, at line 1, and z is no longer one of its names
    assert (leaf.label, leaf.line, leaf.aliases) == ("h", 1, [])
    assert len(g.steps[0].nodes) == 1 + 3 * 2 + 1


def test_a_later_alias_read_by_the_first_use_does_not_rename_the_leaf():
    src = ("x = torch.ones(2, 2, requires_grad=True)\n"
           "y = x\n"
           "w = y + 2\n")
    g, _ = run_source(src, "<alias2>")
    (leaf,) = leaves(g.steps[0])
    assert (leaf.label, leaf.line, leaf.aliases) == ("x", 1, ["y"])


def test_the_walkthrough_leaf_is_placed_on_its_line_not_its_first_use():
    src = ("# a comment\n"
           "\n"
           "x = torch.ones(2, 2, requires_grad=True)\n"
           "w = torch.tensor([[0.5, -1.0], [2.0, 1.5]], requires_grad=True)\n"
           "\n"
           "y = x @ w + 2\n"
           "out = y.mean()\n"
           "out.backward()\n")
    g, _ = run_source(src, "<walk3>")
    by_label = {n.label: n for n in leaves(g.steps[0])}
    assert (by_label["x"].line, by_label["w"].line) == (3, 4)
    assert by_label["w"].code == "w = torch.tensor([[0.5, -1.0], [2.0, 1.5]], requires_grad=True)"
    # the ops keep the line that ran them
    assert {n.line for n in g.steps[0].nodes if n.kind != "leaf"} == {6, 7}


@pytest.mark.parametrize("make, text", [
    ("torch.randn(3).requires_grad_()", "torch.randn(3)"),
    ("torch.zeros(3, requires_grad=True)", "torch.zeros(3, requires_grad=True)"),
    ("torch.arange(3.0, requires_grad=True)", "torch.arange(3.0, requires_grad=True)"),
    ("torch.from_numpy(np.ones(3))", "torch.from_numpy(np.ones(3))"),
    ("torch.full((3,), 2.0, requires_grad=True)", "torch.full((3,), 2.0, requires_grad=True)"),
])
def test_every_factory_places_its_tensor(make, text):
    import numpy as np
    src = f"a = {make}\nb = 1\nc = a * 3\n"
    g, _ = run_source(src, f"<factory {make}>", {"torch": torch, "np": np})
    (leaf,) = leaves(g.steps[0])
    assert (leaf.label, leaf.line) == ("a", 1)
    assert src.splitlines()[0][leaf.col:leaf.end_col] == text


def test_a_tensor_made_in_one_capture_keeps_name_and_place_in_the_next():
    ns = {"torch": torch}
    run_source("x = torch.ones(2, requires_grad=True)\n", "<cell 1>", ns)
    g, _ = run_source("q = x\nv = q * 3\n", "<cell 2>", ns)
    (leaf,) = leaves(g.steps[0])
    assert (leaf.label, leaf.file, leaf.line, leaf.aliases) == ("x", "<cell 1>", 1, ["q"])


def test_unpacking_names_each_tensor_after_its_own_target():
    src = "a, b = torch.ones(2, requires_grad=True), torch.zeros(2, requires_grad=True)\nc = b * a\n"
    g, _ = run_source(src, "<unpack>")
    assert [n.label for n in leaves(g.steps[0])] == ["b", "a"]


def test_a_parameter_is_placed_where_it_was_made():
    src = ("w = nn.Parameter(torch.randn(3))\n"
           "x = torch.ones(3)\n"
           "loss = (w * x).sum()\n"
           "loss.backward()\n")
    g, _ = run_source(src, "<param>", {"torch": torch, "nn": nn})
    by_label = {n.label: n for n in leaves(g.steps[0])}
    assert by_label["w"].kind == "param" and (by_label["w"].line, by_label["x"].line) == (1, 2)
    assert src.splitlines()[0][by_label["w"].col:by_label["w"].end_col] == "nn.Parameter(torch.randn(3))"


def test_module_parameters_are_placed_at_the_module_construction():
    src = ("torch.manual_seed(0)\n"
           "model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))\n"
           "x = torch.ones(4, 2)\n"
           "loss = model(x).pow(2).mean()\n"
           "loss.backward()\n")
    g, _ = run_source(src, "<module>", {"torch": torch, "nn": nn})
    params = [n for n in g.steps[0].nodes if n.kind == "param"]
    assert [n.label for n in params] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert {n.line for n in params} == {2}
    line = src.splitlines()[1]
    assert [line[n.col:n.end_col] for n in params] == ["nn.Linear(2, 3)"] * 2 + ["nn.Linear(3, 1)"] * 2
    assert all(n.code == line for n in params)


def test_a_leaf_made_before_the_capture_falls_back_to_its_first_use():
    ns = {"torch": torch, "x": torch.ones(2, requires_grad=True)}
    g, _ = run_source("\ny = x * 2\n", "<before>", ns)
    (leaf,) = leaves(g.steps[0])
    assert (leaf.label, leaf.line) == ("x", 2)


def test_one_edge_per_input_slot_as_pytorch_next_functions():
    torch_ref = pytest.importorskip("torch")
    src = "x = torch.ones(3, requires_grad=True)\ny = x + 1\nz = y * y\nq = torch.stack([z, y, z])\nout = q.sum()\n"
    g, _ = run_source(src, "<slots>")
    step = g.steps[0]
    ns = {"torch": torch_ref}
    exec(src, ns)
    by_label = {n.label: n for n in step.nodes}
    into = {}
    for s, t in step.edges:
        into.setdefault(t, []).append(s)
    for label, ref in (("mul", ns["z"]), ("stack", ns["q"])):
        node = by_label[label]
        assert len(into[node.id]) == len(ref.grad_fn.next_functions) == len(node.inputs)
        assert into[node.id] == node.inputs
    d = step.to_dict()
    mul = by_label["mul"].id
    assert [e["slot"] for e in d["edges"] if e["target"] == mul] == [0, 1]
    assert step.edge_count == len(d["edges"]) == 1 + 2 + 3 + 1


def test_an_input_made_outside_a_model_is_not_drawn_inside_it():
    src = ("torch.manual_seed(0)\n"
           "model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())\n"
           "x = torch.randn(4, 2)\n"
           "loss = model(x).sum()\n")
    g, _ = run_source(src, "<outside>", {"torch": torch, "nn": nn})
    by_label = {n.label: n for n in g.steps[0].nodes}
    assert by_label["x"].module is None and by_label["0.weight"].module == "model.0"
    assert by_label["addmm"].module == "model.0"


def test_a_tensor_made_inside_a_forward_belongs_to_that_module():
    class Noisy(nn.Module):
        def forward(self, x):
            bias = torch.ones(3)
            return x + bias

    g, _ = run_source("m = Noisy()\ny = m(torch.zeros(3, requires_grad=True))\n", "<inside>",
                      {"torch": torch, "nn": nn, "Noisy": Noisy})
    by_label = {n.label: n for n in g.steps[0].nodes}
    assert by_label["bias"].module == "m" and by_label["add"].module == "m"
