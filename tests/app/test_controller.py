"""Edits to runs to state: debouncing, staleness, errors, merged steps; and the page objects built on it."""
import pytest

from gradview.app.controller import Controller, SyncScheduler
from gradview.app.runner import InProcessRunner
from gradview.app.state import AppState, merge_steps

PROGRAM = "import torch\nx = torch.tensor(2.0, requires_grad=True)\ny = x\nfor i in range({n}):\n    y = y * x\n"


@pytest.fixture
def setup():
    state = AppState(codes=[""])
    sched = SyncScheduler()
    ctl = Controller(state, InProcessRunner(time_limit=5), sched)
    return state, sched, ctl


def ids(state):
    return [n["id"] for n in state.current_step()["nodes"]] if state.steps else []


def test_edit_runs_after_pause(setup):
    state, sched, ctl = setup
    cid = state.cells[0].id
    ctl.edit(cid, PROGRAM.format(n=3))
    assert state.pending and state.steps == [] and len(sched.timers) == 1
    ctl.edit(cid, PROGRAM.format(n=3) + "\n")  # typing again restarts the pause
    assert len(sched.timers) == 1
    sched.flush()
    assert not state.pending and not state.running
    nodes = state.current_step()["nodes"]
    assert [n["kind"] for n in nodes] == ["leaf", "op", "op", "output"]
    assert [n["label"] for n in nodes[1:]] == ["mul", "mul", "mul"]
    assert state.cells[0].status == "done"


def test_more_iterations_add_only_new_nodes(setup):
    state, sched, ctl = setup
    cid = state.cells[0].id
    ctl.edit(cid, PROGRAM.format(n=3))
    sched.flush()
    before = ids(state)
    ctl.edit(cid, PROGRAM.format(n=5))
    sched.flush()
    after = ids(state)
    assert after[:4] == before and len(after) == 6


def test_stale_marks_edited_cell_and_below(setup):
    state, sched, ctl = setup
    state.cells = [state.cells[0], *AppState(codes=["b = 1", "c = 2"]).cells]
    ctl.run_all()
    assert [c.status for c in state.cells] == ["done"] * 3
    ctl.edit(state.cells[1].id, "b = 3")
    assert [c.status for c in state.cells] == ["done", "stale", "stale"]
    sched.flush()
    assert [c.status for c in state.cells] == ["done", "done", "done"]


def test_syntax_error_keeps_graph_then_recovers(setup):
    state, sched, ctl = setup
    cid = state.cells[0].id
    ctl.edit(cid, PROGRAM.format(n=3))
    sched.flush()
    good = ids(state)
    ctl.edit(cid, PROGRAM.format(n=3) + "z = (\n")
    sched.flush()
    cell = state.cells[0]
    assert cell.status == "error" and cell.error_kind == "syntax" and cell.error_line == 6
    assert ids(state) == good  # nothing ran: the last graph stays
    ctl.edit(cid, PROGRAM.format(n=2))
    sched.flush()
    assert cell.error is None and cell.status == "done" and len(ids(state)) == 3


def test_exception_keeps_partial_graph_and_skips_below(setup):
    state, sched, ctl = setup
    state.cells = [state.cells[0], *AppState(codes=["w = x * 3"]).cells]
    state.graph_scope = "all"
    ctl.edit(state.cells[0].id, "import torch\nx = torch.ones(2, requires_grad=True)\ny = x.exp()\ny @ torch.ones(5)\n")
    sched.flush()
    first, second = state.cells
    assert first.status == "error" and first.error_line == 4 and "Traceback" in first.error
    assert second.status == "skipped" and second.graph is None
    # the graph up to the failure, the failing call marked failed on its line, no output
    nodes = state.current_step()["nodes"]
    assert [(n["label"], n["kind"]) for n in nodes] == [("x", "leaf"), ("exp", "op"), ("tensor", "leaf"),
                                                        ("matmul", "failed")]
    assert nodes[-1]["line"] == 4 and nodes[-1]["error"].startswith("RuntimeError")
    ctl.edit(first.id, "import torch\nx = torch.ones(2, requires_grad=True)\ny = x.exp()\n")
    sched.flush()
    assert first.status == second.status == "done"
    assert sorted(n["label"] for n in state.current_step()["nodes"]) == ["exp", "mul", "x", "x"]


def test_training_steps_and_losses(setup):
    state, sched, ctl = setup
    ctl.edit(state.cells[0].id, "import torch\nw = torch.ones(3, requires_grad=True)\n"
                                "for i in range(40):\n    loss = (w * w).sum()\n    loss.backward()\n"
                                "    with torch.no_grad():\n        w -= 0.1 * w.grad\n    w.grad = None\n")
    sched.flush()
    assert len(state.losses) == 40 and state.losses[0][0] == 0
    assert len(state.steps) > 1 and state.step == len(state.steps) - 1
    w = next(n for n in state.current_step()["nodes"] if n["label"] == "w")
    history = state.node_history(w["id"])
    assert len(history) == len(state.steps)  # w is in every kept step, under one id
    state.step = 0
    assert state.current_step()["index"] == state.steps[0]["index"]


def test_merge_prefixes_ids_and_repeats_single_step_cells():
    single = {"steps": [{"index": 0, "loss": None, "nodes": [{"id": "a", "inputs": []}], "edges": []}]}
    multi = {"steps": [{"index": i, "loss": 1.0 / (i + 1), "nodes": [{"id": "p", "inputs": []},
                                                                    {"id": "q", "inputs": ["p"]}],
                        "edges": [{"source": "p", "target": "q"}]} for i in range(3)]}
    steps, losses = merge_steps([("c1", single), ("c2", multi), ("c3", None)])
    assert len(steps) == 3 and [l for _, l in losses] == [1.0, 0.5, 1.0 / 3]
    assert [n["id"] for n in steps[1]["nodes"]] == ["c1:a", "c2:p", "c2:q"]
    assert steps[2]["edges"] == [{"source": "c2:p", "target": "c2:q"}]
    assert steps[2]["nodes"][2]["inputs"] == ["c2:p"]


def test_page_objects_follow_the_state():
    pytest.importorskip("panel")
    from gradview.app.main import GradviewApp
    app = GradviewApp(codes=[""], runner=InProcessRunner(time_limit=5), scheduler=SyncScheduler())
    cid = app.state.cells[0].id
    view = app.cells.view(cid)
    assert "gv-cell" in view.editor.css_classes and view.editor.language == "python"
    view.editor.value_input = PROGRAM.format(n=3)
    app.controller.scheduler.flush()
    assert list(app.graph.view.nodes.data["label"])[1:] == ["mul", "mul", "mul"]
    assert list(app.graph.view.nodes.data["kind"]) == ["leaf", "op", "op", "output"]
    assert app.graph.view.nodes.name == "graph-nodes"
    view.editor.value_input = "y = ("
    app.controller.scheduler.flush()
    assert view.error.visible and "gv-error" in view.error.css_classes and view.editor.annotations
    assert view.editor.annotations[0]["row"] == 0
    view.editor.value_input = "print('fine')"
    app.controller.scheduler.flush()
    assert not view.error.visible and not view.editor.annotations and view.output.visible
    # structure: add, move, delete
    app.add_cell(cid)
    assert len(app.state.cells) == 2 and len(app.cells.column.objects) == 2
    second = app.state.cells[1].id
    app.move_cell(second, -1)
    assert app.state.cells[0].id == second
    app.delete_cell(second)
    assert [c.id for c in app.state.cells] == [cid]
    # clicking a node selects it and asks the editor to go to its line
    app.edit(cid, PROGRAM.format(n=2))
    app.controller.scheduler.flush()
    app.graph.view.nodes.selected.indices = [1]
    node = app.state.node(app.state.selected_node)
    assert node["label"] == "mul" and app.bridge.goto.startswith(f"{cid}|5|")
    # a cursor on line 5 highlights that line's nodes
    app.bridge.cursor = f"{cid}|5"
    assert app.state.selected_line == (cid, 5)
    assert sorted(app.graph.view.nodes.selected.indices) == [1, 2]  # x was made on line 2, not here
    # clicking the leaf goes to the line that made it, and lights only what that line made
    app.graph.view.nodes.selected.indices = [0]
    assert app.state.node(app.state.selected_node)["label"] == "x" and app.bridge.goto.startswith(f"{cid}|2|")
    app.bridge.cursor = f"{cid}|2"
    assert sorted(app.graph.view.nodes.selected.indices) == [0]
    app.close()


def test_ops_after_the_last_backward_join_the_last_step():
    closed = [{"index": i, "loss": 1.0, "closed": True, "nodes": [{"id": "w"}, {"id": "f"}],
               "edges": [{"source": "w", "target": "f"}]} for i in range(2)]
    tail = {"index": 2, "loss": None, "closed": False,
            "nodes": [{"id": "w"}, {"id": "upd", "inputs": ["w"], "updates": "w"}],
            "edges": [{"source": "w", "target": "upd"}]}
    steps, losses = merge_steps([("c", {"steps": closed + [tail]})])
    assert len(steps) == 2 and len(losses) == 2
    assert [n["id"] for n in steps[1]["nodes"]] == ["c:w", "c:f", "c:after:w", "c:after:upd"]
    assert {"source": "c:after:w", "target": "c:after:upd"} in steps[1]["edges"]
    assert [n["id"] for n in steps[0]["nodes"]] == ["c:w", "c:f"]


def test_an_evaluation_after_training_is_a_step_of_its_own_and_the_graph_opens_on_training():
    from gradview.app.state import default_step
    closed = [{"index": i, "loss": 1.0, "closed": True, "nodes": [{"id": "w"}, {"id": "f", "inputs": ["w"]}],
               "edges": [{"source": "w", "target": "f"}]} for i in range(2)]
    tail = {"index": 2, "loss": None, "closed": False,
            "nodes": [{"id": "w"}, {"id": "upd", "inputs": ["w"], "updates": "w"}, {"id": "x"},
                      {"id": "eq", "inputs": ["x"]}, {"id": "mean", "inputs": ["eq"]}],
            "edges": [{"source": "w", "target": "upd"}, {"source": "x", "target": "eq"},
                      {"source": "eq", "target": "mean"}]}
    steps, _ = merge_steps([("c", {"steps": closed + [tail]})])
    assert len(steps) == 3 and [s["closed"] for s in steps] == [True, True, False]
    assert [n["id"] for n in steps[1]["nodes"]][-2:] == ["c:after:w", "c:after:upd"]  # the update
    assert [n["id"] for n in steps[2]["nodes"]] == ["c:x", "c:eq", "c:mean"]          # the evaluation
    assert default_step(steps) == 1


def test_a_training_example_opens_on_its_last_training_step():
    from gradview.app.main import GradviewApp
    from gradview.app.notebook import parse_percent
    from gradview.app.views.controls import list_examples
    with open(list_examples()["Training: linear regression"], encoding="utf-8") as f:
        codes = parse_percent(f.read())
    app = GradviewApp(codes=codes, runner=InProcessRunner(time_limit=30), scheduler=SyncScheduler())
    try:
        app.controller.run_all()
        step = app.state.current_step()
        assert step["closed"] is True and any(n["kind"] == "output" for n in step["nodes"])
        assert app.state.step == len(app.state.steps) - 2  # the evaluation after training is the last one
        assert "training step" in app.graph.step_label.object
    finally:
        app.close()


def test_graph_of_the_focused_cell_or_all(setup):
    state, sched, ctl = setup
    state.cells = [*AppState(codes=["import torch\na = torch.ones(2, requires_grad=True)\nb = a.exp()",
                                    "print('no tensors here')",
                                    "c = (a * 2).sum()"]).cells]
    ctl.run_all()
    first, second, third = state.cells
    assert state.focus_cell == first.id  # nothing focused: the first cell with a graph
    assert [n["label"] for n in state.current_step()["nodes"]][1:] == ["exp"]
    state.focus(third.id)
    assert [n["label"] for n in state.current_step()["nodes"]][1:] == ["mul", "sum"]
    state.focus(second.id)
    assert state.steps == []
    state.graph_scope = "all"
    state.rebuild_steps()
    assert len(state.current_step()["nodes"]) == 5
    ctl.edit(first.id, "import torch\na = torch.ones(2, requires_grad=True)\nb = a.exp().sin()")
    state.graph_scope = "cell"
    state.rebuild_steps()
    assert state.focus_cell == first.id  # editing a cell focuses it


def test_a_pending_run_marks_the_graph_and_outputs_not_rerun_as_stale():
    from gradview.app.main import GradviewApp
    from gradview.app.controller import SyncScheduler as Sched
    app = GradviewApp(codes=["import torch\nx = torch.ones(2, requires_grad=True)\ny = x * 2", "print('below')"],
                      runner=InProcessRunner(time_limit=5), scheduler=Sched())
    try:
        app.controller.run_all()
        assert "stale" not in app.graph.title.object
        first = app.state.cells[0].id
        app.edit(first, "import torch\nx = torch.ones(2, requires_grad=True)\ny = x * 3")
        assert app.state.pending and "stale" in app.graph.title.object
        app.controller.scheduler.flush()
        assert "stale" not in app.graph.title.object
        # a failing cell: the one below keeps its old output, dimmed as stale
        app.edit(first, "import torch\nraise ValueError('no')")
        app.controller.scheduler.flush()
        below = app.cells.view(app.state.cells[1].id)
        assert app.state.cells[1].status == "skipped" and "class='stale'" in below.output.object
    finally:
        app.close()


def test_the_pause_adapts_to_how_long_the_last_run_took():
    from gradview.app.controller import DEBOUNCE_MIN_S, DEBOUNCE_S, adaptive_debounce
    assert adaptive_debounce(None) == DEBOUNCE_MIN_S == adaptive_debounce(0.05)
    assert DEBOUNCE_MIN_S < adaptive_debounce(0.4) < DEBOUNCE_S == adaptive_debounce(5.0)
    state = AppState(codes=["x = 1"])
    ctl = Controller(state, InProcessRunner(time_limit=5), SyncScheduler())
    assert ctl.pause() == DEBOUNCE_MIN_S
    ctl._last_round_trip = 2.0
    assert ctl.pause() == DEBOUNCE_S
    assert Controller(state, InProcessRunner(), SyncScheduler(), debounce=0.25).pause() == 0.25


class _Runs:
    """A controller on a worker, with threads for timers and runs (as on the server), and a way to
    wait for the next applied run."""

    def __init__(self, codes):
        import threading
        from gradview.app.controller import ThreadScheduler
        from gradview.app.runner import WorkerRunner
        self.state = AppState(codes=codes)
        self.runner = WorkerRunner(time_limit=30)
        self.ctl = Controller(self.state, self.runner, ThreadScheduler())
        self.applied = []
        self.event = threading.Event()
        self.ctl.listeners.append(lambda result: (self.applied.append(result), self.event.set()))

    def wait(self, timeout):
        import time
        t0 = time.perf_counter()
        assert self.event.wait(timeout), "no run was applied"
        self.event.clear()
        return time.perf_counter() - t0

    def until_running(self):
        import time
        for _ in range(200):
            if self.ctl._in_flight and self.state.running:
                time.sleep(0.3)   # well inside the loop
                return
            time.sleep(0.02)
        raise AssertionError("the run never started")

    def close(self):
        self.ctl.close()


@pytest.fixture
def runaway():
    runs = _Runs(["kept = 7", "x = kept + 1"])
    runs.ctl.run_all()
    runs.wait(30)
    yield runs
    runs.close()


def test_stop_ends_a_runaway_cell_at_once_and_keeps_the_names(runaway):
    state, ctl = runaway.state, runaway.ctl
    pid = runaway.runner.pid
    ctl.edit(state.cells[1].id, "while True:\n    pass")
    runaway.until_running()
    ctl.stop()
    took = runaway.wait(5)
    assert took < 1.0, f"stopping took {took:.2f} s"
    assert state.cells[1].status == "error" and state.cells[1].error.startswith("Stopped by request.")
    assert state.message == "Stopped at cell [2] by request." and not state.running and not state.errors
    assert runaway.runner.pid == pid and not runaway.applied[-1].restarted
    ctl.edit(state.cells[1].id, "print(kept)")
    runaway.wait(5)
    assert state.cells[1].output == "7\n" and state.cells[1].status == "done"


def test_an_edit_supersedes_a_runaway_cell_and_only_the_new_run_is_shown(runaway):
    state, ctl = runaway.state, runaway.ctl
    ctl.edit(state.cells[1].id, "while True:\n    pass")
    runaway.until_running()
    applied = len(runaway.applied)
    ctl.edit(state.cells[1].id, "y = kept * 2\nprint(y)")
    took = runaway.wait(5)
    assert took < 1.0, f"the fix took {took:.2f} s to show"
    assert len(runaway.applied) == applied + 1   # the stopped run was never applied
    cell = state.cells[1]
    assert cell.status == "done" and cell.output == "14\n" and cell.error is None
    assert state.message.startswith("Ran ") and not state.running and not state.pending


def test_restart_during_a_runaway_cell_forgets_the_names_and_runs_everything_again(runaway):
    state, ctl = runaway.state, runaway.ctl
    ctl.edit(state.cells[1].id, "later = 1\nwhile True:\n    pass")
    runaway.until_running()
    applied = len(runaway.applied)
    ctl.reset_and_run_all()          # stops the loop, forgets every name, runs from the top...
    ctl.edit(state.cells[1].id, "print('later' in dir(), kept)")   # ... and the fix follows
    took = runaway.wait(5)
    assert took < 8.0, f"restart and fix took {took:.2f} s"   # a new worker starts: far below the 30 s limit
    assert len(runaway.applied) == applied + 1
    assert [c.status for c in state.cells] == ["done", "done"]
    assert state.cells[1].output == "False 7\n"
