"""gradview.engine.graph.explain: every path from the output to a tensor, each step's local rule, and the
contributions adding up to the gradient PyTorch computes (and to numerical gradients)."""
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gradview import engine  # noqa: E402
from gradview.engine import graph  # noqa: E402
from gradview.engine.capture.rules import RULES, rule  # noqa: E402
from tests.graph.test_backward_graph import random_program  # noqa: E402

torch = pytest.importorskip("torch")


def test_the_classic_example_reads_like_the_textbook():
    x = engine.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    e = graph.explain(x, out)
    assert e.target_name == "x" and e.complete
    assert e.total.tolist() == [[4.5, 4.5], [4.5, 4.5]]
    # two paths, one through each use of y in y * y, 2.25 each
    assert len(e.paths) == 2
    assert [p.contribution.tolist() for p in e.paths] == [[[2.25, 2.25], [2.25, 2.25]]] * 2
    assert [[(s.node, s.input) for s in p.steps] for p in e.paths] == [
        [("MeanBackward0", "self"), ("MulBackward0", "self"), ("MulBackward0", "self"), ("AddBackward0", "self"),
         ("torch::autograd::AccumulateGrad", "self")],
        [("MeanBackward0", "self"), ("MulBackward0", "self"), ("MulBackward0", "other"), ("AddBackward0", "self"),
         ("torch::autograd::AccumulateGrad", "self")]]
    # each step's numbers: 1 -> 1/4 (mean of 4) -> 3/4 (times 3) -> 9/4 (times y = 3)
    first = e.paths[0].steps
    assert [float(np.asarray(s.sent).flat[0]) for s in first[:4]] == [0.25, 0.75, 2.25, 2.25]
    # where the paths join, the contributions add up
    assert [(name, [p[2].tolist() for p in parts], s.tolist()) for name, parts, s in e.joins] == \
        [("AddBackward0", [[[2.25, 2.25], [2.25, 2.25]]] * 2, [[4.5, 4.5], [4.5, 4.5]])]
    text = str(e)
    assert "MulBackward0: grad_self = grad · other" in text and "MulBackward0: grad_other = grad · self" in text
    assert "2 gradients add up" in text and text.rstrip().endswith("total: [[4.5, 4.5], [4.5, 4.5]]")
    d = e.to_dict()
    assert d["total"]["data"] == [[4.5, 4.5], [4.5, 4.5]] and d["path_count"] == 2
    assert d["paths"][0]["steps"][1]["rule"] == "grad_self = grad · other"
    # the explanation is what backward() then computes
    out.backward()
    assert x.grad.tolist() == e.total.tolist()


def test_intermediate_tensors_and_nodes_are_explained():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    out = (y * 3 + y).sum()
    e = graph.explain(y, out)
    assert e.total.tolist() == [4.0, 4.0] and len(e.paths) == 2
    assert sorted(p.contribution.tolist() for p in e.paths) == [[1.0, 1.0], [3.0, 3.0]]
    assert graph.explain(y.grad_fn, out).total.tolist() == [4.0, 4.0]
    assert graph.explain(x, out).total.tolist() == [8.0, 16.0]


def test_explain_needs_the_saved_tensors():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    out = (x * x).sum()
    out.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        graph.explain(x, out)
    out = (x * x).sum()
    out.backward(retain_graph=True)
    assert graph.explain(x, out).total.tolist() == [2.0, 4.0]
    with pytest.raises(ValueError, match="no path"):
        graph.explain(engine.ones(2, requires_grad=True), out)


def test_many_paths_are_capped_and_the_rest_summed():
    x = engine.tensor([1.0, 1.0], dtype=engine.float64, requires_grad=True)
    y = x
    for _ in range(8):
        y = y + y * 0.5   # two paths per level: 2**8 in all
    out = y.sum()
    e = graph.explain(x, out, max_paths=50)
    assert not e.complete and len(e.paths) == 50
    np.testing.assert_allclose(sum(p.contribution for p in e.paths) + e.rest, e.total, rtol=1e-12)
    np.testing.assert_allclose(e.total, [1.5 ** 8] * 2, rtol=1e-12)
    sizes = [p.size for p in e.paths]
    assert sizes == sorted(sizes, reverse=True)
    full = graph.explain(x, out)
    assert full.complete and len(full.paths) == 2 ** 8 and full.rest is None
    # grouped by how many times each node kind is passed: k of the 8 levels through the `* 0.5`
    groups = full.groups
    assert sorted(n for _, _, n in groups) == sorted(__import__("math").comb(8, k) for k in range(9))
    np.testing.assert_allclose(sum(c for _, c, _ in groups), full.total, rtol=1e-12)


@pytest.mark.parametrize("seed", range(25))
def test_path_contributions_add_up_to_pytorchs_gradient(seed):
    src, tables = random_program(seed)
    engine.manual_seed(seed)
    ns = {"torch": engine, **tables}
    exec(src, ns)
    torch.manual_seed(seed)
    ref = {"torch": torch, **tables}
    exec(src, ref)
    ref["out"].backward()
    for name in ("a", "b", "c"):
        expected = ref[name].grad
        try:
            e = graph.explain(ns[name], ns["out"])
        except ValueError:  # the program did not use this input
            assert expected is None or not expected.any()
            continue
        assert e.complete
        total = sum(p.contribution for p in e.paths)
        np.testing.assert_allclose(total, expected.numpy(), rtol=1e-10, atol=1e-10, err_msg=src)
        np.testing.assert_allclose(e.total, expected.numpy(), rtol=1e-10, atol=1e-10, err_msg=src)


def test_total_matches_numerical_gradient():
    rng = np.random.default_rng(0)
    a0 = rng.standard_normal((3, 4))
    b0 = rng.standard_normal(4)

    def f(a, b):
        h = (a * b).tanh()
        return (h * h + h.exp() * a).mean()

    a = engine.tensor(a0, requires_grad=True)
    b = engine.tensor(b0, requires_grad=True)
    out = f(a, b)
    ea = graph.explain(a, out)
    eb = graph.explain(b, out)
    eps = 1e-6
    for e, x0, other, first in ((ea, a0, b0, True), (eb, b0, a0, False)):
        num = np.zeros_like(x0)
        for i in np.ndindex(x0.shape):
            plus, minus = x0.copy(), x0.copy()
            plus[i] += eps
            minus[i] -= eps
            args = lambda v: (engine.tensor(v), engine.tensor(other)) if first else (engine.tensor(other), engine.tensor(v))  # noqa: E731
            num[i] = (f(*args(plus)).item() - f(*args(minus)).item()) / (2 * eps)
        np.testing.assert_allclose(e.total, num, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(sum(p.contribution for p in e.paths), num, rtol=1e-6, atol=1e-8)


def _every_opdef():
    import importlib
    import pkgutil

    from gradview.engine.ops._core import OpDef
    for m in pkgutil.walk_packages(engine.__path__, "gradview.engine."):
        if ".backends." in m.name or "webgpu" in m.name or m.name.startswith("gradview.engine.viz"):
            continue
        try:
            importlib.import_module(m.name)
        except Exception:  # noqa: BLE001  optional modules (a missing accelerator library)
            continue
    found = {}
    for name, module in list(sys.modules.items()):
        if name == "gradview.engine" or name.startswith("gradview.engine."):
            for v in list(vars(module).values()):
                if isinstance(v, OpDef):
                    found[id(v)] = v
                elif hasattr(v, "__dict__") and not isinstance(v, type):  # ops grouped in an object
                    for w in list(vars(v).values()):
                        if isinstance(w, OpDef):
                            found[id(w)] = w
    return list(found.values())


def test_every_differentiable_op_has_a_rule():
    ops = [op for op in _every_opdef() if op.vjp is not None]
    assert len(ops) > 100
    for op in ops:
        for slot in range(3):
            text = rule(op.name, slot, op, 3)
            assert isinstance(text, str) and text, op
    # the common ops have their own formula, not the general one
    common = ["AddBackward0", "SubBackward0", "MulBackward0", "DivBackward0", "PowBackward0", "ExpBackward0",
              "LogBackward0", "TanhBackward0", "SigmoidBackward0", "ReluBackward0", "SumBackward0",
              "MeanBackward0", "MmBackward0", "TBackward0", "ViewBackward0", "SoftmaxBackward0",
              "LogSoftmaxBackward0", "AddmmBackward0", "NllLossBackward0", "MseLossBackward0"]
    names = {op.name for op in ops}
    for name in common:
        assert name in names and name in RULES and "Jᵀ" not in rule(name, 0), name


def test_captured_steps_explain_their_gradients_after_the_optimizer_ran():
    from tests.graph.source import run_source
    src = ("w = torch.ones(2, 2, requires_grad=True)\nopt = torch.optim.SGD([w], lr=0.1)\n"
           "for _ in range(3):\n    y = w + 2\n    z = y * y * 3\n    out = z.mean()\n"
           "    opt.zero_grad()\n    out.backward()\n    opt.step()\n")
    g, ns = run_source(src, "<explain loop>", {"torch": engine})
    w = 1.0
    for step in g.steps[:3]:
        leaf = next(n for n in step.nodes if n.label == "w")
        e = step.explain(leaf.id)
        # w changed in place after each backward: the step replays what that backward saw
        expected = 1.5 * (w + 2)
        np.testing.assert_allclose(e.total, np.full((2, 2), expected), rtol=1e-6)
        np.testing.assert_allclose(sum(p.contribution for p in e.paths), leaf.grad["data"], rtol=1e-6)
        assert len(e.paths) == 2 and e.target_name == "w"
        add = next(n for n in step.nodes if n.label == "add")
        np.testing.assert_allclose(step.explain(add.id).total, add.grad["data"], rtol=1e-6)
        w -= 0.1 * expected
    g, _ = run_source("x = torch.ones(2, requires_grad=True)\ny = x * 2\n", "<explain open>", {"torch": engine})
    with pytest.raises(ValueError, match="no backward"):
        g.steps[-1].explain(g.steps[-1].nodes[0].id)


@pytest.mark.parametrize("seed", range(10))
def test_captured_random_programs_explain_to_pytorchs_gradient(seed):
    from tests.graph.source import run_source
    src, tables = random_program(seed)
    engine.manual_seed(seed)
    g, _ = run_source(src + "out.backward()\n", f"<explain random {seed}>", {"torch": engine, **tables})
    torch.manual_seed(seed)
    ref = {"torch": torch, **tables}
    exec(src, ref)
    ref["out"].backward()
    step = g.steps[0]
    for leaf in [n for n in step.nodes if n.kind == "leaf" and n.label in ("a", "b", "c")]:
        expected = ref[leaf.label].grad
        if leaf.grad is None:
            assert expected is None or not expected.any()
            continue
        e = step.explain(leaf.id)
        np.testing.assert_allclose(sum(p.contribution for p in e.paths), expected.numpy(), rtol=1e-10,
                                   atol=1e-10, err_msg=src)
