"""The page's controls without a browser: save, load, examples, share, settings, structure."""
import pytest

pytest.importorskip("panel")

from gradview.app.controller import SyncScheduler  # noqa: E402
from gradview.app.main import GradviewApp  # noqa: E402
from gradview.app.notebook import decode_share, parse_percent  # noqa: E402
from gradview.app.runner import InProcessRunner, RunResult  # noqa: E402
from gradview.app.views.controls import list_examples  # noqa: E402


@pytest.fixture
def app():
    a = GradviewApp(codes=["import torch\nx = torch.ones(2, requires_grad=True)", "y = (x * 3).sum()"],
                    runner=InProcessRunner(time_limit=5), scheduler=SyncScheduler())
    a.controller.run_all()
    yield a
    a.close()


def test_save_writes_percent_file(app):
    text = app.controls._save_file().read()
    assert text.count("# %%") == 2
    assert parse_percent(text) == app.state.codes()


def test_load_replaces_cells_and_runs(app):
    app.controls.load.filename = "mine.py"
    app.controls.load.value = b"# %%\nimport torch\na = torch.zeros(3, requires_grad=True)\n# %%\nprint(a.shape)\n"
    assert app.state.codes() == ["import torch\na = torch.zeros(3, requires_grad=True)", "print(a.shape)"]
    assert app.state.cells[1].output == "torch.Size([3])\n"
    assert app.controls.save.filename == "mine.py"


class _NoRun(InProcessRunner):
    def run(self, cells, start=0, settings=None, on_cell=None):
        return RunResult(start=start)


def test_examples_menu_loads_each_example(app):
    app.controller.runner = _NoRun()  # loading is what is tested here; running them is the browser test's
    titles = list(list_examples())
    assert titles[:3] == ["Walkthrough", "Neuron", "Dynamic graph"]
    assert any(t.startswith("Training: ") for t in titles)
    for title, path in list_examples().items():
        app.controls.example.value = title
        with open(path, encoding="utf-8") as f:
            assert app.state.codes() == parse_percent(f.read())


def test_share_link_holds_the_cells(app):
    app.share()
    link = app.controls.link.value
    assert app.controls.link.visible and "?nb=" in link
    assert decode_share(link.split("?nb=", 1)[1]) == app.state.codes()


def test_dtype_change_reruns_everything(app):
    app.state.cells[1].code = "y = (x * 3).sum()\nprint(y.dtype)"
    app.state.dtype = "float64"
    assert app.state.cells[1].output == "torch.float64\n"


def test_devices_offered(app):
    from gradview import engine
    expected = ["cpu", "cuda"] if engine.cuda.is_available() else ["cpu"]
    assert app.state.param.device.objects == expected


def test_cuda_offered_when_present():
    from tests.conftest import emulated_cuda
    with emulated_cuda():
        a = GradviewApp(codes=["import torch\nx = torch.ones(2, device=DEVICE)\nprint(x.device)"],
                        runner=InProcessRunner(time_limit=5), scheduler=SyncScheduler())
        try:
            assert a.state.param.device.objects == ["cpu", "cuda"]
            a.state.device = "cuda"
            a.controller.run_all()
            assert a.state.cells[0].output == "cuda:0\n"
        finally:
            a.close()
            from gradview import engine
            engine.set_default_device(None)


def test_run_button_and_status(app):
    first = app.state.cells[0].id
    view = app.cells.view(first)
    view.header._run()  # ▶
    assert not app.state.running and app.state.message.startswith("Ran 2 cell(s)")
    assert app.controls.stop.disabled


def test_colour_scale_switch_keeps_one_scale_for_the_run():
    code = ("import torch\nw = torch.ones(3, requires_grad=True)\n"
            "for k in (1.0, 100.0):\n    loss = (w * 2).sum() * k\n    loss.backward()\n    w.grad = None\n")
    a = GradviewApp(codes=[code], runner=InProcessRunner(time_limit=5), scheduler=SyncScheduler())
    try:
        a.controller.run_all()
        assert a.state.colour_scale == "run" and len(a.state.steps) == 2
        view = a.graph.view
        assert view.colour_range == (pytest.approx(1.0), pytest.approx(200.0))
        a.state.step = 0
        assert (view._mapper.low, view._mapper.high) == (pytest.approx(1.0), pytest.approx(200.0))
        a.graph.colour_scale.value = "step"   # the switch above the graph
        assert a.state.colour_scale == "step" and view.colour_range is None
        assert (view._mapper.low, view._mapper.high) != (pytest.approx(1.0), pytest.approx(200.0))
    finally:
        a.close()


def test_picking_the_shown_example_again_reloads_it_and_a_load_can_be_undone(app):
    mine = app.state.codes()
    title, path = next(iter(list_examples().items()))
    with open(path, encoding="utf-8") as f:
        example = parse_percent(f.read())
    app.controls.example.value = title
    assert app.state.codes() == example
    assert app.controls.example.value == "Examples…"  # the menu names nothing the cells may no longer be
    assert app.controls.undo.visible and app.state.replaced == mine
    app.state.cells[0].code = "edited = 1"
    app.controls.example.value = title  # the same example again: reloaded
    assert app.state.codes() == example
    app.controls.undo.clicks += 1  # undo brings back the cells the load replaced
    assert app.state.codes()[0] == "edited = 1" and not app.controls.undo.visible


def test_a_broken_share_link_is_said_and_kept_said():
    from gradview.app.main import initial_cells
    codes, note = initial_cells({"nb": ["garbage!!"]})
    assert codes and note and "could not be read" in note
    a = GradviewApp(codes=codes, runner=InProcessRunner(time_limit=5), scheduler=SyncScheduler())
    try:
        a.state.notice = note
        a.controller.run_all()
        a.controller.run_all()
        assert note in a.controls.status.object  # still there after runs
        a.load_cells(["x = 1"])
        assert note not in a.controls.status.object
    finally:
        a.close()


def test_the_share_link_shows_in_the_status_bar_not_the_top_bar(app):
    app.share()
    assert app.controls.link in app.controls.status_bar.objects
    assert app.controls.link not in app.controls.header.objects


def test_full_values_control_explains_itself_in_words(app):
    from gradview.app.views.controls import FULL_VALUES_HELP
    assert "keep every value" in FULL_VALUES_HELP and app.controls.summary.description == FULL_VALUES_HELP
    assert any(FULL_VALUES_HELP in str(getattr(o, "object", "")) for o in app.controls.header.objects)


def test_the_loss_curve_picks_a_kept_step_and_the_norm_plot_marks_the_shown_step():
    code = ("import torch\nw = torch.ones(3, requires_grad=True)\nfor i in range(30):\n"
            "    loss = (w * w).sum()\n    loss.backward()\n    with torch.no_grad():\n"
            "        w -= 0.1 * w.grad\n    w.grad = None\n")
    a = GradviewApp(codes=[code], runner=InProcessRunner(time_limit=10), scheduler=SyncScheduler())
    try:
        a.controller.run_all()
        kept = [s["index"] for s in a.state.steps]
        assert len(a.state.losses) == 30 and kept[0] > 0  # the curve has every step, the graphs the last 20
        a.graph.pick_step_at(kept[3] + 0.2)
        assert a.state.current_step()["index"] == kept[3]
        a.graph.pick_step_at(2)
        assert a.state.current_step()["index"] == kept[3] and "Step 2 is not kept" in a.state.message
        w = next(n["id"] for n in a.state.current_step()["nodes"] if n["label"] == "w")
        a.state.selected_node = w
        assert a.inspector.norm_marker.location == kept[3]
        a.graph.pick_step_at(kept[5])
        assert a.inspector.norm_marker.location == kept[5]
    finally:
        a.close()


def test_the_backward_view_draws_pytorchs_graph_beside_or_instead_of_the_forward_one():
    a = GradviewApp(codes=["import torch\nx = torch.ones(2, 2, requires_grad=True)\ny = x + 2\n"
                           "z = y * y * 3\nout = z.mean()\nout.backward()\n"],
                    runner=InProcessRunner(time_limit=5), scheduler=SyncScheduler())
    try:
        a.controller.run_all()
        g = a.graph
        assert g.forward_box.visible and not g.backward_box.visible
        g.mode.value = "backward"
        assert a.state.graph_view == "backward" and not g.forward_box.visible and g.backward_box.visible
        d = g.backward.nodes.data
        assert g.backward.nodes.name == "backward-nodes" and g.backward.edges.name == "backward-edges"
        assert d["label"] == ["MeanBackward0", "MulBackward0", "MulBackward0", "AddBackward0", "AccumulateGrad"]
        forward = dict(zip(g.view.nodes.data["id"], g.view.nodes.data["label"]))
        assert [forward[f] for f in d["forward_id"]] == ["mean", "mul", "mul", "add", "x"]
        assert d["has_grad"] == [True] * 5
        e = g.backward.edges.data
        pairs = [(s.rpartition(":")[2], t.rpartition(":")[2]) for s, t in zip(e["source"], e["target"])]
        assert pairs.count(("b2", "b3")) == 2  # y * y: both slots of the MulBackward0 lead to AddBackward0
        g.mode.value = "both"
        assert g.both_box.visible and not g.forward_box.visible and not g.backward_box.visible
        b = g.both.nodes.data
        assert g.both.nodes.name == "both-nodes"
        assert list(b["label"][:5]) == ["x", "add", "mul", "mul", "mean"] and len(b["label"]) == 10
        assert list(g.both.edges.data["flow"]).count("grad") == 5  # the backward graph's edges, dashed
        # the players: one under each view, over the events of the graph it draws
        assert (g.both.player_slider.end, g.both.player_slider.value) == (10, 10)
        assert g.backward.player_slider.end == 5 and g.view.player_slider.end == 5
        # the keys f / b / v set the view through the page's key bridge
        g.keys.view = "backward"
        assert a.state.graph_view == "backward" and g.mode.value == "backward" and g.backward_box.visible
        a.state.graph_view = "forward"
        assert g.keys.view == "forward" and g.forward_box.visible
        assert "f</b> forward" in g.key_help.object
    finally:
        a.close()


def test_a_link_can_open_the_backward_view():
    from gradview.app.main import initial_view
    assert initial_view({"view": ["backward"]}) == "backward" and initial_view({"view": "both"}) == "both"
    assert initial_view({"view": ["sideways"]}) is None and initial_view({}) is None


CLASSIC = ("import torch\nx = torch.ones(2, 2, requires_grad=True)\ny = x + 2\nz = y * y * 3\nout = z.mean()\n"
           "out.backward()\n")


def test_why_this_gradient_shows_each_path_its_rules_the_join_and_the_total_of_the_gradient():
    a = GradviewApp(codes=[CLASSIC], runner=InProcessRunner(time_limit=5), scheduler=SyncScheduler())
    try:
        a.controller.run_all()
        insp = a.inspector
        assert insp.explain_button.disabled  # nothing chosen yet
        x = next(n for n in a.state.current_step()["nodes"] if n["label"] == "x")
        a.state.selected_node = x["id"]
        assert not insp.explain_button.disabled and not insp.explanation.visible
        insp.explain_button.clicks += 1
        text = insp.explanation.object
        assert insp.explanation.visible and a.state.explanation["answer"]["path_count"] == 2
        assert text.count("class='gv-explain-path'") == 2
        # each op's rule in words and symbols, with the numbers it received and sent
        assert "MulBackward0 turns the gradient it received" in text and "grad_self = grad · other" in text
        assert "grad_other = grad · self" in text and "[[0.25, 0.25], [0.25, 0.25]] → [[0.75, 0.75], [0.75, 0.75]]" in text
        assert "at AddBackward0, 2 gradients add up" in text
        assert "[[2.25, 2.25], [2.25, 2.25]] + [[2.25, 2.25], [2.25, 2.25]] = [[4.5, 4.5], [4.5, 4.5]]" in text
        total = text.split("class='gv-explain-total-value'>")[1].split("<")[0]
        assert total == "[[4.5, 4.5], [4.5, 4.5]]" and x["grad"]["data"] == [[4.5, 4.5], [4.5, 4.5]]
        # another node: the answer shown is for the node shown only
        a.state.selected_node = next(n["id"] for n in a.state.current_step()["nodes"] if n["label"] == "mean")
        assert not insp.explanation.visible
        a.explain()
        assert "path 1</b> contributes <code class='gv-explain-contribution'>1</code>" in insp.explanation.object
        # a backward node chosen in the backward view shows and explains its forward node
        a.graph.mode.value = "backward"
        d = a.graph.backward.nodes.data
        a.graph.backward.nodes.selected.indices = [list(d["label"]).index("AccumulateGrad")]
        assert a.state.selected_node == x["id"] and not insp.explain_button.disabled
        # a new run drops the answer: it was about the graph before
        a.explain()
        assert insp.explanation.visible
        a.controller.run_all()
        assert a.state.explanation is None and not insp.explanation.visible
    finally:
        a.close()


def test_why_this_gradient_is_not_offered_where_no_gradient_flowed_and_says_why_when_asked():
    a = GradviewApp(codes=["import torch\nx = torch.ones(2, requires_grad=True)\ny = x * 2\n"],
                    runner=InProcessRunner(time_limit=5), scheduler=SyncScheduler())
    try:
        a.controller.run_all()
        a.state.selected_node = a.state.current_step()["nodes"][0]["id"]
        assert a.inspector.explain_button.disabled
        a.explain()
        assert "gv-explain-error" in a.inspector.explanation.object and "no gradient" in a.inspector.explanation.object
    finally:
        a.close()


def test_many_paths_list_the_largest_and_sum_the_rest_with_a_note():
    from gradview.app.views.inspector import explanation_html
    code = "import torch\nx = torch.tensor([1.0, 1.0], requires_grad=True)\ny = x\nfor _ in range(6):\n" \
           "    y = y + y * 0.5\nout = y.sum()\nout.backward()\n"
    a = GradviewApp(codes=[code], runner=InProcessRunner(time_limit=5), scheduler=SyncScheduler())
    try:
        a.controller.run_all()
        x = next(n for n in a.state.current_step()["nodes"] if n["label"] == "x")
        a.explain(x["id"])
        answer = a.state.explanation["answer"]
        assert answer["path_count"] == 64 and len(answer["paths"]) == 20
        listed = sum(p["contribution"]["data"][0] for p in answer["paths"])
        assert listed + answer["others"]["data"][0] == pytest.approx(1.5 ** 6) == x["grad"]["data"][0]
        text = explanation_html(answer)
        assert text.count("class='gv-explain-path'") == 20 and "44 more paths (smaller), together" in text
        assert "paths grouped by the nodes they pass through" in text and "1 path through" in text
    finally:
        a.close()


def test_the_graph_sends_no_summaries_the_server_draws_the_inspector_from():
    a = GradviewApp(codes=["import torch\nx = torch.ones(2, requires_grad=True)\ny = (x * 3).sum()\ny.backward()"],
                    runner=InProcessRunner(time_limit=5), scheduler=SyncScheduler())
    try:
        a.controller.run_all()
        data = a.graph.view.nodes.data
        assert len(data["id"]) >= 3 and any(t != "none" for t in data["grad_text"])  # hover texts are there
        assert set(data["value_json"]) == set(data["grad_json"]) == {""}
        node = next(n for n in a.state.current_step()["nodes"] if n.get("grad"))
        a.state.selected_node = node["id"]
        assert a.inspector.figure_pane.visible and "<td class='k'>grad</td>" in a.inspector.facts.object
    finally:
        a.close()
