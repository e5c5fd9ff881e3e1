"""The player's update events: after a training step's nodes, one event per parameter its
optimizer.step() changed, pointing at the node to ring in each view (the parameter, its folded
group, its AccumulateGrad node), and carried along by an exported page's step slider and view switch."""
import pytest

pytest.importorskip("bokeh")

import gradview.engine as torch  # noqa: E402
from gradview.engine import graph  # noqa: E402
from gradview.engine.viz import export  # noqa: E402
from gradview.engine.viz.bokeh_view import GraphView, update_text, view_step  # noqa: E402

PROGRAM = """
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
x = torch.ones(4, 2)
for i in range(3):
    opt.zero_grad()
    loss = model(x).pow(2).mean()
    loss.backward()
    opt.step()
"""


def _captured():
    with graph.capture() as g:
        exec(compile(PROGRAM, "<train>", "exec"), {"torch": torch})
    return g


@pytest.mark.parametrize("mode", ["forward", "backward", "both"])
def test_update_events_follow_the_nodes_and_point_at_the_parameter(mode):
    step = _captured().steps[1].to_dict()
    v = GraphView(view_step(step, mode), names=mode, max_nodes=None)
    v.player()
    u = v.player_updates.data
    names = ["model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"]
    assert u["name"] == names and u["line"] == [PROGRAM.splitlines().index("    opt.step()") + 1] * 4
    assert v.player_slider.end == v.player_slider.value == len(v.nodes.data["id"]) + 4
    ids, forward_ids = list(v.nodes.data["id"]), list(v.nodes.data["forward_id"])
    for target, name in zip(u["target"], names):
        k = ids.index(target)  # a drawn node
        if mode == "backward":
            assert v.nodes.data["label"][k] == "AccumulateGrad" and forward_ids[k] == f"param:{name}"
        else:
            assert target == f"param:{name}"
    assert all(t.startswith("SGD.step() updates model.") and " → " in t for t in u["text"])


def test_a_folded_module_stands_for_its_parameters():
    step = _captured().steps[1].to_dict()
    v = GraphView(step, collapsed={"model.0"}, max_nodes=None)
    targets = v.player_updates.data["target"]
    assert targets[:2] == ["model.0", "model.0"] and targets[2:] == ["param:model.2.weight", "param:model.2.bias"]


def test_update_text_numbers_or_statistics():
    small = {"name": "w", "optimizer": "Adam", "before": {"numel": 2, "data": [1.0, 2.0]},
             "after": {"numel": 2, "data": [0.5, 2.5]}}
    assert update_text(small) == "Adam.step() updates w: [1, 2] → [0.5, 2.5]"
    big = {"name": "w", "optimizer": "SGD", "before": {"numel": 500, "mean": 0.1, "std": 1.0},
           "after": {"numel": 500, "mean": 0.2, "std": 0.9}}
    assert update_text(big) == "SGD.step() updates w: mean 0.1 → 0.2 · std 1 → 0.9"


def test_an_exported_page_carries_each_steps_updates():
    g = _captured()
    layout = export.page(g)
    docs = [m for m in layout.references() if getattr(m, "name", None) == "graph-step"]
    (slider,) = docs
    cb = slider.js_property_callbacks["change:value"][0]
    assert cb.args["updates"].name == "graph-player-updates"
    befores = [s["updates"]["text"][0].split(": ")[1].split(" → ") for s in cb.args["steps"]]
    # each step's update starts from where the previous one's left the parameter
    assert [b for b, _ in befores[1:]] == [a for _, a in befores[:-1]]
    for view in ("backward", "both"):
        assert all(len(d["updates"]["target"]) == 4 for d in cb.args["views"][view])
