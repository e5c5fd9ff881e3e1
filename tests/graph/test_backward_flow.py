"""What flowed through the backward graph of a captured step: the gradient along each edge, the
gradient each node received and the tensors it saved, compared with hooks on PyTorch's own
grad_fn nodes (node.register_hook gives (grad_inputs, grad_outputs) as the node runs)."""
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gradview import engine  # noqa: E402
from gradview.engine import _state  # noqa: E402
from tests.graph.source import run_source  # noqa: E402
from tests.graph.test_backward_graph import PROGRAMS, pytorch_backward_graph, random_program  # noqa: E402

torch = pytest.importorskip("torch")


def pytorch_flow(src, ns):
    """Run `src` in PyTorch with a hook on every node of out's graph; then out.backward().
    Returns (node names, edges (k, j, slot), {k: grad_inputs}, {k: grad_outputs}, the nodes)."""
    exec(src, ns)
    out = ns["out"]
    names, edges = pytorch_backward_graph(out)
    order, pos = [out.grad_fn], {out.grad_fn: 0}
    k = 0
    while k < len(order):
        for child, _ in order[k].next_functions:
            if child is not None and child not in pos:
                pos[child] = len(order)
                order.append(child)
        k += 1
    sent, received = {}, {}
    for k, node in enumerate(order):
        if node.name() == "torch::autograd::AccumulateGrad":
            node.register_prehook(lambda go, k=k: received.__setitem__(k, go) and None)
        else:
            def hook(gi, go, k=k):
                sent[k] = gi
                received[k] = go
            node.register_hook(hook)
    out.backward()
    return names, edges, sent, received, order


def values(summary):
    assert summary is not None and summary["full"], summary
    return np.asarray(summary["data"], dtype=np.float64)


def check_flow(src, filename, engine_ns, torch_ns, tol, seed=0):
    engine.manual_seed(seed)  # the engine draws the same numbers as PyTorch from the same seed
    g, _ = run_source(src + "out.backward()\n", filename, engine_ns)
    bg = g.steps[0].backward_graph()
    torch.manual_seed(seed)
    names, edges, sent, received, _ = pytorch_flow(src, torch_ns)
    assert [n["name"] for n in bg["nodes"]] == names
    index = {n["id"]: k for k, n in enumerate(bg["nodes"])}
    assert [(index[e["source"]], index[e["target"]], e["slot"]) for e in bg["edges"]] == edges
    checked = 0
    for e in bg["edges"]:
        k, slot = index[e["source"]], e["slot"]
        ref = sent[k][slot]
        if ref is None:  # PyTorch sent nothing: neither did the engine, or it sent zeros
            assert e["grad"] is None or not values(e["grad"]).any(), (src, e)
            continue
        np.testing.assert_allclose(values(e["grad"]), ref.detach().double().numpy(), rtol=tol, atol=tol,
                                   err_msg=f"{src}\nedge {e}")
        checked += 1
    for k, n in enumerate(bg["nodes"]):
        assert n["ran"] is (k in received)
        ref = received.get(k)
        if ref is not None and len(ref) == 1 and ref[0] is not None:
            np.testing.assert_allclose(values(n["outputs_grad"][0]), ref[0].detach().double().numpy(),
                                       rtol=tol, atol=tol, err_msg=f"{src}\nnode {n['name']}")
        # what a node sent, per edge, is what its edges carry
        out_edges = [e for e in bg["edges"] if e["source"] == n["id"]]
        assert n["inputs_grad"] == [e["grad"] for e in out_edges]
    assert checked == len(edges) or any(sent[k][s] is None for k, _, s in edges)
    return g, bg


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_edge_gradients_are_pytorchs(name):
    check_flow(PROGRAMS[name], f"<flow {name}>", {"torch": engine, "nn": engine.nn},
               {"torch": torch, "nn": torch.nn}, 1e-5)


@pytest.mark.parametrize("seed", range(25))
def test_edge_gradients_of_random_programs_are_pytorchs(seed):
    src, tables = random_program(seed)
    # float64 programs: the engine and PyTorch agree to rounding
    check_flow(src, f"<flow random {seed}>", {"torch": engine, **tables}, {"torch": torch, **tables}, 1e-10, seed)


def test_walkthrough_flow_and_saved_tensors():
    g, bg = check_flow(PROGRAMS["walkthrough"], "<flow walk>", {"torch": engine, "nn": engine.nn},
                       {"torch": torch, "nn": torch.nn}, 0)
    nodes = bg["nodes"]
    assert [n["name"] for n in nodes] == ["MeanBackward0", "MulBackward0", "MulBackward0", "AddBackward0",
                                         "torch::autograd::AccumulateGrad"]
    # y * y sends 2.25 along each of its two edges; they add up to 4.5 at y's node
    yy = bg["edges"][2:4]
    assert [(e["source"], e["target"], e["slot"], values(e["grad"]).tolist()) for e in yy] == \
        [("b2", "b3", 0, [[2.25] * 2] * 2), ("b2", "b3", 1, [[2.25] * 2] * 2)]
    assert values(nodes[3]["outputs_grad"][0]).tolist() == [[4.5] * 2] * 2
    # saved tensors, as torchviz's show_saved lists them: y * y saved self and other (y = 3)
    assert [(s["name"], s["value"]["data"]) for s in nodes[2]["saved"]] == \
        [("self", [[3.0] * 2] * 2), ("other", [[3.0] * 2] * 2)]
    ref = {"torch": torch}
    exec(PROGRAMS["walkthrough"], ref)
    mul = ref["out"].grad_fn.next_functions[0][0].next_functions[0][0]
    assert mul.name() == "MulBackward0"
    assert mul._saved_self.tolist() == nodes[2]["saved"][0]["value"]["data"]
    assert mul._saved_other.tolist() == nodes[2]["saved"][1]["value"]["data"]
    # the step's dictionary carries the same backward graph
    assert g.steps[0].to_dict()["backward"] == bg


def test_saved_values_are_as_the_backward_saw_them():
    src = ("w = torch.zeros(3, requires_grad=True)\nx = torch.tensor([1.0, 2.0, 3.0])\n"
           "out = (w.sin() * x).sum()\nout.backward()\nwith torch.no_grad():\n    w -= 0.5 * w.grad\n")
    g, ns = run_source(src, "<flow saved>", {"torch": engine})
    bg = g.steps[0].backward_graph()
    saved = {n["name"]: [(s["name"], s["value"]["data"]) for s in n["saved"]] for n in bg["nodes"]}
    # w * x needs only x for w's gradient (x needs none): PyTorch saves other alone, as here
    assert saved["MulBackward0"] == [("other", [1.0, 2.0, 3.0])]
    assert saved["SinBackward0"] == [("self", [0.0, 0.0, 0.0])]  # w before the update
    assert ns["w"].tolist() == [-0.5, -1.0, -1.5]


def test_observer_is_only_set_during_a_captured_backward():
    seen = []
    with engine.graph.capture():
        x = engine.ones(2, requires_grad=True)
        y = (x * 3).sum()
        assert _state.backward_observer is None
        x.register_hook(lambda g: seen.append(_state.backward_observer is not None))
        y.backward()
        assert _state.backward_observer is None
    assert seen == [True]
    (x * 2).sum().backward()  # no capture: nothing observes
    assert _state.backward_observer is None
