"""A program that raises: the graph up to the failure, the failing call as a "failed" node (its
line, the exception, the tensors it was given), names kept, and no node marked as an output
unless a backward() ran from it."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import gradview.engine as torch  # noqa: E402
from tests.graph.source import run_failing  # noqa: E402


def test_the_failing_call_is_drawn_failed_with_its_inputs_and_the_names_stay():
    src = ("x = torch.ones(2, 3, requires_grad=True)\n"
           "w = torch.ones(2, 2, requires_grad=True)\n"
           "h = x * 2\n"
           "out = h @ w\n"
           "loss = out.sum()\n")
    g, ns, exc = run_failing(src, "<fail>", {"torch": torch})
    (step,) = g.steps
    nodes = step.nodes
    assert [n.kind for n in nodes] == ["leaf", "op", "leaf", "failed"]
    failed = nodes[-1]
    assert failed.label == "matmul" and failed.line == 4 and failed.code == "out = h @ w"
    assert src.splitlines()[3][failed.col:failed.end_col] == "h @ w"
    assert failed.error == f"RuntimeError: {exc}"
    # its inputs, in argument order, with one edge each
    by_label = {n.label: n for n in nodes}
    assert failed.inputs == [by_label["mul"].id, by_label["w"].id]
    assert [(s, t) for s, t in step.edges if t == failed.id] == [(by_label["mul"].id, failed.id),
                                                                 (by_label["w"].id, failed.id)]
    # names survive the error: the op's variable, the leaves
    assert by_label["mul"].var == "h" and by_label["w"].line == 2
    # no output: nothing ran backward
    assert not [n for n in nodes if n.kind == "output"]
    d = step.to_dict()
    assert d["nodes"][-1]["kind"] == "failed" and d["nodes"][-1]["error"].startswith("RuntimeError")
    assert d["node_count"] == len(d["nodes"]) and d["edge_count"] == len(d["edges"])


def test_a_first_op_that_fails_still_gives_a_graph():
    src = "a = torch.ones(3, requires_grad=True)\nb = torch.ones(4)\nc = a + b\n"
    g, _, exc = run_failing(src, "<first>", {"torch": torch})
    (step,) = g.steps
    assert [(n.label, n.kind) for n in step.nodes] == [("a", "leaf"), ("b", "leaf"), ("add", "failed")]
    assert step.nodes[-1].line == 3 and "size of tensor a (3)" in step.nodes[-1].error


def test_a_failure_inside_a_function_points_at_the_line_that_called_the_engine():
    src = ("def layer(t):\n"
           "    return t.view(5)\n"
           "x = torch.ones(3, requires_grad=True)\n"
           "y = layer(x * 2)\n")
    g, _, _ = run_failing(src, "<fn>", {"torch": torch})
    failed = g.steps[0].nodes[-1]
    assert (failed.kind, failed.label, failed.line, failed.code) == ("failed", "view", 2, "return t.view(5)")
    assert failed.inputs == [g.steps[0].nodes[1].id]


def test_an_error_outside_the_engine_is_marked_on_its_line():
    src = "x = torch.ones(3, requires_grad=True)\ny = x * 2\nprint(undefined_name)\n"
    g, _, _ = run_failing(src, "<name>", {"torch": torch})
    nodes = g.steps[0].nodes
    assert [n.kind for n in nodes] == ["leaf", "op", "failed"]
    assert nodes[-1].line == 3 and nodes[-1].error.startswith("NameError") and nodes[-1].inputs == []
    assert nodes[1].var == "y"


def test_only_a_tensor_backward_ran_from_is_an_output():
    src = ("w = torch.ones(2, requires_grad=True)\n"
           "for i in range(3):\n"
           "    loss = (w * i).sum()\n"
           "    loss.backward()\n"
           "    if i == 2:\n"
           "        extra = (w * 2).sum()\n"
           "        extra.view(3)\n")
    g, _, _ = run_failing(src, "<loop>", {"torch": torch})
    closed = [s for s in g.steps if s.closed]
    assert len(closed) == 3
    assert all([n.kind for n in s.nodes][-1] == "output" for s in closed)
    last = g.steps[-1]
    assert not last.closed
    assert [n.kind for n in last.nodes] == ["leaf", "op", "op", "failed"]
