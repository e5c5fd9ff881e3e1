"""Step.backward_graph(): the autograd graph a backward() ran through, compared with PyTorch's own
(walking loss.grad_fn.next_functions): the same node names and the same edges, slot by slot."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gradview import engine  # noqa: E402
from tests.graph.source import run_source  # noqa: E402

torch = pytest.importorskip("torch")

PROGRAMS = {
    "walkthrough": "x = torch.ones(2, 2, requires_grad=True)\ny = x + 2\nz = y * y * 3\nout = z.mean()\n",
    "neuron": ("x = torch.tensor(2.0, requires_grad=True)\nw = torch.tensor(-3.0, requires_grad=True)\n"
               "b = torch.tensor(1.0, requires_grad=True)\nout = torch.tanh(w * x + b)\n"),
    "matmul-broadcast": ("a = torch.randn(3, 4, requires_grad=True)\nb = torch.randn(4, 2, requires_grad=True)\n"
                         "c = torch.randn(2, requires_grad=True)\nout = (a @ b + c).relu().sum()\n"),
    "elementwise": ("a = torch.rand(5, requires_grad=True) + 0.5\nb = torch.rand(5, requires_grad=True)\n"
                    "out = (a.log() * b.exp() - a / (b + 1) + a.pow(2).sqrt() - b.sigmoid()).sum()\n"),
    "shapes": ("a = torch.randn(2, 3, 4, requires_grad=True)\nb = a.view(6, 4).t()\nc = b.t().reshape(4, 3, 2)\n"
               "d = c.transpose(0, 2)[1]\nout = torch.cat([d, d * 2]).sum()\n"),
    "stack-softmax": ("a = torch.randn(4, 3, requires_grad=True)\nb = torch.stack([a, a.exp()], 0)\n"
                      "out = b.softmax(-1).max()\n"),
    "mlp-loss": ("torch.manual_seed(0)\nmodel = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))\n"
                 "x = torch.randn(4, 3)\ny = torch.tensor([0, 1, 1, 0])\n"
                 "out = nn.functional.cross_entropy(model(x), y)\n"),
    "mse": ("torch.manual_seed(0)\nlayer = nn.Linear(2, 1)\nx = torch.randn(8, 2)\n"
            "out = nn.functional.mse_loss(layer(x), torch.zeros(8, 1))\n"),
}


def pytorch_backward_graph(out):
    """PyTorch's graph from out.grad_fn, breadth first along next_functions, each node once."""
    order, pos = [out.grad_fn], {out.grad_fn: 0}
    edges = []
    k = 0
    while k < len(order):
        node = order[k]
        for slot, (child, _) in enumerate(node.next_functions):
            if child is None:
                continue
            if child not in pos:
                pos[child] = len(order)
                order.append(child)
            edges.append((k, pos[child], slot))
        k += 1
    return [n.name() for n in order], edges


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_backward_graph_is_pytorchs(name):
    src = PROGRAMS[name] + "out.backward()\n"
    g, ns = run_source(src, f"<bw {name}>", {"torch": engine, "nn": engine.nn})
    bg = g.steps[0].backward_graph()
    ref_ns = {"torch": torch, "nn": torch.nn}
    exec(PROGRAMS[name], ref_ns)
    names, edges = pytorch_backward_graph(ref_ns["out"])
    assert [n["name"] for n in bg["nodes"]] == names
    index = {n["id"]: k for k, n in enumerate(bg["nodes"])}
    assert [(index[e["source"]], index[e["target"]], e["slot"]) for e in bg["edges"]] == edges


def test_nodes_point_at_their_forward_node_and_carry_the_gradient_they_received():
    g, ns = run_source(PROGRAMS["walkthrough"] + "out.backward()\n", "<bw grads>",
                       {"torch": engine, "nn": engine.nn})
    step = g.steps[0]
    bg = step.backward_graph()
    forward = {n.id: n for n in step.nodes}
    by_name = [(n["name"], forward[n["forward_id"]].label, n["grad"]["data"]) for n in bg["nodes"]]
    quarter, three_quarters, grad_x = [[0.25] * 2] * 2, [[0.75] * 2] * 2, [[4.5] * 2] * 2
    assert by_name == [("MeanBackward0", "mean", 1.0), ("MulBackward0", "mul", quarter),
                       ("MulBackward0", "mul", three_quarters), ("AddBackward0", "add", grad_x),
                       ("torch::autograd::AccumulateGrad", "x", grad_x)]
    assert bg["nodes"][-1]["grad"]["data"] == ns["x"].grad.tolist()
    # y * y: two edges from the MulBackward0 to the AddBackward0, slots 0 and 1
    assert [(e["source"], e["target"], e["slot"]) for e in bg["edges"] if e["target"] == "b3"] == [
        ("b2", "b3", 0), ("b2", "b3", 1)]


def test_no_backward_no_backward_graph():
    g, _ = run_source("x = torch.ones(2, requires_grad=True)\ny = x * 2\n", "<bw none>",
                      {"torch": engine, "nn": engine.nn})
    assert g.steps[0].backward_graph() is None


def random_program(seed, steps=7):
    """A random chain of the engine suite's unary and binary steps over three (3, 4) inputs, summed."""
    import random

    from tests.engine.test_random_programs import BINARY, UNARY
    rng = random.Random(seed)
    lines = ["a = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)",
             "b = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)",
             "c = torch.randn(4, dtype=torch.float64, requires_grad=True)"]
    names = ["a", "b", "c"]
    for k in range(steps):
        if rng.random() < 0.5:
            op = rng.choice(sorted(UNARY))
            lines.append(f"v{k} = UNARY[{op!r}](torch, {rng.choice(names)})")
        else:
            op = rng.choice(sorted(BINARY))
            lines.append(f"v{k} = BINARY[{op!r}](torch, {rng.choice(names)}, {rng.choice(names)})")
        names.append(f"v{k}")
    lines.append(f"out = ({' + '.join(names[-3:])}).sum()")
    return "\n".join(lines) + "\n", {"UNARY": UNARY, "BINARY": BINARY}


@pytest.mark.parametrize("seed", range(40))
def test_random_programs_build_pytorchs_backward_graph(seed):
    src, tables = random_program(seed)
    engine.manual_seed(seed)
    g, _ = run_source(src + "out.backward()\n", f"<bw random {seed}>", {"torch": engine, **tables})
    bg = g.steps[0].backward_graph()
    torch.manual_seed(seed)
    ref_ns = {"torch": torch, **tables}
    exec(src, ref_ns)
    names, edges = pytorch_backward_graph(ref_ns["out"])
    assert [n["name"] for n in bg["nodes"]] == names, src
    index = {n["id"]: k for k, n in enumerate(bg["nodes"])}
    assert [(index[e["source"]], index[e["target"]], e["slot"]) for e in bg["edges"]] == edges, src
