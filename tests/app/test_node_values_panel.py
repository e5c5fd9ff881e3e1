"""The graph panel's values switch: the toggle, the key's `values` and the state move together, and
the numbers drawn on the nodes are those of the step shown, in every view, as the step changes."""
from __future__ import annotations

import pytest

pytest.importorskip("panel", reason="panel is not installed")

import gradview.engine as torch  # noqa: E402
from gradview.app.state import AppState  # noqa: E402
from gradview.app.views.graph import GraphPanel, drawn_step  # noqa: E402
from gradview.engine import graph  # noqa: E402
from gradview.engine.viz.bokeh_view import node_columns, view_step  # noqa: E402


def training_steps():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    with graph.capture() as g:
        for _ in range(3):
            loss = ((net(torch.randn(4, 3)) - 1) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return [s.to_dict() for s in g.steps if s.closed]


def expected(step, view="forward"):
    return dict(zip(*(lambda c: (c["id"], c["values"]))(node_columns(drawn_step(view_step(step, view)),
                                                                    values=True)[0])))


def test_values_follow_the_switch_the_step_and_the_view():
    steps = training_steps()
    state = AppState()
    state.param.update(steps=steps, losses=[(s["index"], s["loss"]) for s in steps], step=len(steps) - 1)
    panel = GraphPanel(state)
    assert set(panel.view.nodes.data["values"]) == {""}
    panel.values_toggle.value = True
    assert state.node_values and panel.keys.values
    got = dict(zip(panel.view.nodes.data["id"], panel.view.nodes.data["values"]))
    assert got == expected(steps[-1]) and all(got.values())
    state.step = 0
    got0 = dict(zip(panel.view.nodes.data["id"], panel.view.nodes.data["values"]))
    assert got0 == expected(steps[0]) and got0 != got
    state.graph_view = "backward"
    back = dict(zip(panel.backward.nodes.data["id"], panel.backward.nodes.data["values"]))
    assert back == expected(steps[0], "backward") and all(v.startswith("grad ") for v in back.values() if v)
    panel.keys.values = False  # the key n
    assert not state.node_values and not panel.values_toggle.value
    assert set(panel.backward.nodes.data["values"]) == {""}
