"""The %%gradview cell magic: in an IPython shell in process, and in a notebook executed by
`jupyter nbconvert --execute --to html` (docs/examples/notebook.ipynb)."""
import html
import re

import pytest

pytest.importorskip("IPython", reason="IPython is not installed (pip install -e '.[docs]')")
pytest.importorskip("bokeh", reason="bokeh is not installed (pip install -e '.[docs]')")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

from tests.app.integrations.sites import executed_notebook_html  # noqa: E402

CELL = """\
import torch
w = torch.ones(3, requires_grad=True)
for i in range(3):
    print("step", i)
    (w.exp() * i).sum().backward()
"""


@pytest.fixture(scope="module")
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "gradview.app.integrations.jupyter")
    return ip


def run_cell(shell, line, cell):
    with capture_output() as out:
        shell.run_cell_magic("gradview", line, cell)
    return out


def test_the_magic_shows_the_graph_with_the_step_slider(shell):
    out = run_cell(shell, 'step=0 title="three steps" height=300', CELL)
    assert out.stdout == "step 0\nstep 1\nstep 2\n"
    (shown,) = out.outputs
    page = shown.data["text/html"]
    assert page.startswith("<iframe srcdoc=") and "height:820px" in page  # 300 + page + steps
    doc = html.unescape(page)
    assert "graph-nodes" in doc and "graph-step" in doc and "three steps" in doc
    assert "cdn.bokeh.org" not in doc  # BokehJS inline: no server, no network
    # the cell ran in the notebook's namespace; `torch` there is the engine, only in the cell
    assert shell.user_ns["w"].grad.tolist() == pytest.approx([8.15484549] * 3)
    assert len(shell.user_ns["_gradview_graph"].steps) == 3


def test_an_error_shows_its_traceback_and_the_graph_so_far(shell):
    code = "import torch\nx = torch.ones(2, requires_grad=True)\ny = x.exp()\nz = y @ torch.ones(3)\n"
    out = run_cell(shell, "", code)
    assert "RuntimeError" in out.stderr and 'line 4' in out.stderr
    assert len(out.outputs) == 1 and "graph-nodes" in html.unescape(out.outputs[0].data["text/html"])
    out = run_cell(shell, "direction=up", CELL)
    assert "direction must be LR or TB" in out.stderr and not out.outputs


def test_nbconvert_execute_keeps_the_graph_without_a_server():
    pytest.importorskip("nbconvert", reason="nbconvert is not installed (pip install -e '.[docs]')")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[docs]')")
    with open(executed_notebook_html(), encoding="utf-8") as f:
        page = f.read()
    frames = re.findall(r'<iframe[^>]*?srcdoc="([^"]*)"', page)
    assert len(frames) == 1
    doc = html.unescape(frames[0])
    assert "graph-nodes" in doc and "graph-step" in doc and "Bokeh.embed.embed_items" in doc
    assert "step 2: loss" in page and "tensor([" in page  # printed output, and the next cell saw `w`


def test_the_magic_shows_the_backward_view_with_answers_and_no_player_when_asked(shell):
    from tests.app.integrations.sites import WALK_BLOCK, graphs_in
    (shown,) = run_cell(shell, "view=backward player=false", WALK_BLOCK).outputs
    (graph,) = graphs_in(html.unescape(shown.data["text/html"]))
    assert graph == {"view": "backward", "views": ["forward", "backward", "both"], "player": False, "answers": 5}
    (shown,) = run_cell(shell, "view=both", WALK_BLOCK).outputs
    assert [(g["view"], g["player"]) for g in graphs_in(html.unescape(shown.data["text/html"]))] == [("both", True)]
    assert "view must be one of forward, backward, both" in run_cell(shell, "view=sideways", WALK_BLOCK).stderr


def test_draw_shows_the_view_asked_for_with_the_answers():
    from gradview.engine import graph, viz
    from tests.app.integrations.sites import WALK_BLOCK, graphs_in
    ns = {}
    from gradview.engine.run import torch_alias
    with torch_alias(), graph.capture() as g:
        exec(WALK_BLOCK, ns)
    drawing = viz.draw(g, view="backward", player=False)
    (graph_,) = graphs_in(html.unescape(drawing._repr_html_()))
    assert graph_["view"] == "backward" and not graph_["player"] and graph_["answers"] == 5
    assert len(drawing.view.nodes.data["id"]) == 5  # the view object draws too
