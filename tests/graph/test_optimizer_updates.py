"""optimizer.step() in a capture: each step a backward() closed lists the parameters the optimizer
step after it changed, with the values before and after, equal to PyTorch running the same program."""
import numpy as np
import pytest

import gradview.engine as gv
from gradview.engine.graph import capture

PROGRAM = """
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
opt = {optimizer}
x = torch.linspace(-1, 1, 15).reshape(5, 3)
y = torch.sin(3 * x).sum(1, keepdim=True)
for i in range(4):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
"""
OPTIMIZERS = {"sgd-momentum": "torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)",
              "adam": "torch.optim.Adam(model.parameters(), lr=0.05)"}


def _run_engine(optimizer):
    ns = {"torch": gv}
    with capture() as g:
        exec(compile(PROGRAM.format(optimizer=optimizer), "<program>", "exec"), ns)
    return g, ns


def _values(summary):
    return np.asarray(summary["data"], dtype=np.float64)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_updates_follow_each_step_in_order(name):
    g, ns = _run_engine(OPTIMIZERS[name])
    steps = [s.to_dict() for s in g.steps if s.closed]
    assert len(steps) == 4
    names = [n for n, _ in ns["model"].named_parameters()]
    for k, s in enumerate(steps):
        ups = s["updates"]
        assert [u["name"] for u in ups] == [f"model.{n}" for n in names]
        ids = {n["id"] for n in s["nodes"]}
        for u in ups:
            assert u["param"] in ids and u["optimizer"] == type(ns["opt"]).__name__
            assert u["line"] == PROGRAM.splitlines().index("    opt.step()") + 1
            assert not np.allclose(_values(u["before"]), _values(u["after"]))
        if k:  # a step starts from where the update after the previous one left the parameters
            for u, prev in zip(ups, steps[k - 1]["updates"]):
                np.testing.assert_array_equal(_values(u["before"]), _values(prev["after"]))
    # after the last update the parameters are what the program ends with
    for u, p in zip(steps[-1]["updates"], ns["model"].parameters()):
        np.testing.assert_array_equal(_values(u["after"]), p.detach().numpy().astype(np.float64))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_updates_equal_pytorch(name):
    torch = pytest.importorskip("torch")
    g, _ = _run_engine(OPTIMIZERS[name])
    ours = [s.to_dict()["updates"] for s in g.steps if s.closed]
    # the same program on PyTorch, noting each parameter before and after each opt.step()
    ns = {"torch": torch}
    seen = []
    cls = eval(OPTIMIZERS[name].split("(")[0], ns)
    original = cls.step

    def noted(self, *args, **kwargs):
        params = [p for group in self.param_groups for p in group["params"]]
        before = [p.detach().clone().double().numpy() for p in params]
        out = original(self, *args, **kwargs)
        seen.append(list(zip(before, [p.detach().clone().double().numpy() for p in params])))
        return out
    cls.step = noted
    try:
        exec(compile(PROGRAM.format(optimizer=OPTIMIZERS[name]), "<program>", "exec"), ns)
    finally:
        cls.step = original
    assert len(ours) == len(seen) == 4
    for mine, theirs in zip(ours, seen):
        assert len(mine) == len(theirs)
        for u, (before, after) in zip(mine, theirs):
            np.testing.assert_allclose(_values(u["before"]).reshape(before.shape), before, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(_values(u["after"]).reshape(after.shape), after, rtol=1e-5, atol=1e-6)


def test_an_update_before_any_backward_belongs_to_the_step_being_recorded():
    w = gv.nn.Parameter(gv.tensor([1.0, 2.0]))
    w.grad = gv.tensor([0.5, -0.5])
    opt = gv.optim.SGD([w], lr=1.0)
    with capture() as g:
        y = w * 2
        opt.step()
    (step,) = g.steps
    (u,) = step.to_dict()["updates"]
    assert u["name"] == "w" and u["before"]["data"] == [1.0, 2.0] and u["after"]["data"] == [0.5, 2.5]
    del y


def test_a_parameter_without_gradient_is_not_updated_and_no_capture_no_cost():
    a, b = gv.nn.Parameter(gv.tensor([1.0])), gv.nn.Parameter(gv.tensor([3.0]))
    opt = gv.optim.Adam([a, b], lr=0.1)
    with capture() as g:
        (a * 2).sum().backward()
        opt.step()
    assert [u["name"] for u in g.steps[0].to_dict()["updates"]] == ["a"]
    before = a.detach().clone()
    (a * 2).sum().backward()
    opt.step()  # outside a capture the step simply runs
    assert float(a) != float(before)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_gradient_is_explained_after_the_optimizer_changed_the_weights(name):
    # nn.Linear saves a view of its weight (weight.t()); the update changes it after backward()
    g, _ = _run_engine(OPTIMIZERS[name])
    for s in [s for s in g.steps if s.closed]:
        node = s.node("param:model.0.weight")
        e = s.explain(node.id)
        np.testing.assert_allclose(np.asarray(e.total.tolist()), np.asarray(node.grad["data"]), rtol=1e-5, atol=1e-7)
