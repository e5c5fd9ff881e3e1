"""A graph far over the node budget, end to end: worker runner -> state -> graph panel (engine.viz)."""
import pytest

pytest.importorskip("panel")

from gradview.app.controller import SyncScheduler  # noqa: E402
from gradview.app.main import GradviewApp  # noqa: E402
from gradview.app.runner import WorkerRunner  # noqa: E402

CODE = ("import torch\nx = torch.ones(2, requires_grad=True)\ny = x\n"
        "for i in range(100_000):\n    y = y * 1.0001\ny.sum().backward()\n")


def test_100k_nodes_are_cut_with_a_notice_and_drawn_folded():
    app = GradviewApp(codes=[CODE], runner=WorkerRunner(time_limit=10), scheduler=SyncScheduler())
    try:
        app.controller.run_all()
        cell = app.state.cells[0]
        assert cell.error is None, cell.error  # within the worker's 10 s limit (the speed is bench_graph's)
        step = app.state.current_step()
        kept = len(step["nodes"])
        assert kept <= 20_000 and kept + step["nodes_left_out"] >= 100_000
        title = app.graph.title.object
        assert "more left out" in title, title
        drawn = len(app.graph.view.nodes.data["id"])
        assert 0 < drawn < 200 and app.graph.view.collapsed  # folded, not 4,000 separate glyphs
    finally:
        app.close()
