"""An exported graph page in a real headless Chromium: it loads with no network access, its
`graph-nodes` source holds the captured nodes, and tap-to-inspect, search and the step slider work.

Uses /usr/bin/chromium through Playwright (never downloads a browser); every request that is not
for a local file is aborted and counted, and there must be none.
"""
from __future__ import annotations

import linecache
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
pytest.importorskip("bokeh", reason="bokeh is not installed")

sys.path.insert(0, ROOT)
import gradview.engine as torch  # noqa: E402
from gradview.engine import graph, nn, viz  # noqa: E402

JS_CANVASES = """() => [...Bokeh.index.query((v) => v.canvas_view !== undefined)]
  .map((v) => [v.model.type, v.canvas_view.primary.canvas.width, v.canvas_view.primary.canvas.height])"""

JS_NODES = """() => {
  const m = Bokeh.documents[0].get_model_by_name('graph-nodes');
  const d = m.data;
  return {id: [...d.id], label: [...d.label], kind: [...d.kind], shape: [...d.shape], line: [...d.line],
          has_grad: [...d.has_grad]};
}"""

PROGRAM = """\
model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(8, 3)
y = torch.randn(8, 1)
for step in range(3):
    loss = ((model(x) - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""



def open_page(browser, path):
    """Open a local file; returns (page, aborted request URLs, page errors)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    aborted, errors = [], []

    def route(r):
        url = r.request.url
        if url.startswith("file:") or url.startswith("data:") or url.startswith("blob:"):
            r.continue_()
        else:
            aborted.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("file://" + str(path))
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                           "Bokeh.documents[0].get_model_by_name('graph-nodes') !== null")
    page.wait_for_timeout(300)
    return page, aborted, errors


def captured(tmp_path):
    filename = "<train>"
    linecache.cache[filename] = (len(PROGRAM), None, PROGRAM.splitlines(True), filename)
    torch.manual_seed(0)
    with graph.capture() as g:
        exec(compile(PROGRAM, filename, "exec"), {"torch": torch, "nn": nn})
    path = tmp_path / "train.html"
    viz.save_html(g, path, title="training")
    return g, path


def test_exported_page_loads_offline_with_the_nodes(browser, tmp_path):
    g, path = captured(tmp_path)
    page, aborted, errors = open_page(browser, path)
    try:
        got = page.evaluate(JS_NODES)
        step = g.steps[-1].to_dict()  # the page opens on the last step a backward closed
        assert step["closed"]
        assert got["id"] == [n["id"] for n in step["nodes"]]
        assert got["label"] == [n["label"] for n in step["nodes"]]
        assert got["kind"] == [n["kind"] for n in step["nodes"]]
        assert got["line"] == [n["line"] for n in step["nodes"]]
        assert got["has_grad"] == [n["grad"] is not None for n in step["nodes"]]
        assert "param" in got["kind"] and got["kind"][-1] == "output"
        canvases = page.evaluate(JS_CANVASES)  # the graph and the loss curve, painted
        assert ["Figure", 900, 560] in canvases
        assert aborted == [] and errors == []
    finally:
        page.close()


def test_tap_search_and_step_slider(browser, tmp_path):
    g, path = captured(tmp_path)
    page, aborted, errors = open_page(browser, path)
    try:
        ids = page.evaluate(JS_NODES)["label"]
        k = ids.index("0.weight")
        # tap-to-inspect: the inspector shows the node's value and gradient, the path is highlighted
        page.evaluate(f"() => {{ Bokeh.documents[0].get_model_by_name('graph-nodes').selected.indices = [{k}]; }}")
        page.wait_for_timeout(200)
        text = page.evaluate("() => Bokeh.documents[0].get_model_by_name('graph-inspector').text")
        assert "0.weight" in text and "value" in text and "gradient" in text and "<svg" in text
        path_edges = page.evaluate("() => Bokeh.documents[0].get_model_by_name('graph-path').indices.length")
        assert path_edges >= 4  # weight -> addmm -> tanh -> addmm -> sub -> pow -> mean
        # search by op name selects the matches
        page.fill("input[placeholder^='find a node']", "tanh")
        page.wait_for_timeout(300)
        sel = page.evaluate("() => Bokeh.documents[0].get_model_by_name('graph-nodes').selected.indices")
        labels = page.evaluate(JS_NODES)["label"]
        assert [labels[i] for i in sel] == ["tanh"]
        # the slider switches to another kept step
        first = g.steps[0].to_dict()
        page.evaluate("() => { const s = Bokeh.documents[0].get_model_by_name('graph-step'); s.value = 0; }")
        page.wait_for_timeout(200)
        assert page.evaluate(JS_NODES)["id"] == [n["id"] for n in first["nodes"]]
        assert aborted == [] and errors == []
    finally:
        page.close()


def test_big_graph_page(browser, tmp_path):
    """A 6,000-node expanded graph stays usable: it renders and a tap updates the inspector."""
    nodes, edges = [{"id": "x", "label": "x", "kind": "leaf", "shape": [4], "line": 1}], []
    prev = "x"
    for k in range(2000):
        nodes += [{"id": f"w{k}", "label": "w", "kind": "param", "shape": [4, 4], "line": 2},
                  {"id": f"mm{k}", "label": "mm", "kind": "op", "shape": [4], "line": 3},
                  {"id": f"r{k}", "label": "relu", "kind": "op", "shape": [4], "line": 4}]
        edges += [(prev, f"mm{k}"), (f"w{k}", f"mm{k}"), (f"mm{k}", f"r{k}")]
        prev = f"r{k}"
    step = {"index": 0, "loss": None, "nodes": nodes, "edges": [{"source": s, "target": t} for s, t in edges]}
    path = tmp_path / "big.html"
    viz.save_html(step, path, max_nodes=None)
    page, aborted, errors = open_page(browser, path)
    try:
        assert len(page.evaluate(JS_NODES)["id"]) == 6001
        page.evaluate("() => { Bokeh.documents[0].get_model_by_name('graph-nodes').selected.indices = [5000]; }")
        page.wait_for_timeout(300)
        assert "relu" in page.evaluate("() => Bokeh.documents[0].get_model_by_name('graph-inspector').text") or \
            "mm" in page.evaluate("() => Bokeh.documents[0].get_model_by_name('graph-inspector').text")
        assert aborted == [] and errors == []
    finally:
        page.close()


WALK = """\
x = torch.ones(2, 2, requires_grad=True)
y = x + 2
z = y * y * 3
out = z.mean()
out.backward()
"""

JS_PLAYER = """() => { const d = Bokeh.documents[0];
  const get = (n) => d.get_model_by_name(n);
  return {value: get('graph-player').value, end: get('graph-player').end,
          current: get('graph-player-current').data.x.length, pending: get('graph-player-pending').data.x.length,
          label: get('graph-player-label').text}; }"""


def test_view_switch_keys_and_player_on_an_exported_page(browser, tmp_path):
    """The exported page opens on the view asked for, f / b / v switch views, ← → and the buttons step
    through the events in the order they ran, ▶ plays to the end; no page or console error."""
    filename = "<walk>"
    linecache.cache[filename] = (len(WALK), None, WALK.splitlines(True), filename)
    with graph.capture() as g:
        exec(compile(WALK, filename, "exec"), {"torch": torch})
    path = tmp_path / "walk.html"
    viz.save_html(g, path, title="walk", view="backward")
    page, aborted, errors = open_page(browser, path)
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    try:
        labels = lambda: page.evaluate(JS_NODES)["label"]  # noqa: E731
        assert labels() == ["MeanBackward0", "MulBackward0", "MulBackward0", "AddBackward0", "AccumulateGrad"]
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("v")
        page.wait_for_timeout(300)
        both = labels()
        assert both[:5] == ["x", "add", "mul", "mul", "mean"] and "AccumulateGrad" in both and len(both) == 10
        flows = page.evaluate("() => [...Bokeh.documents[0].get_model_by_name('graph-edges').data.flow]")
        assert flows.count("grad") == 5
        assert page.evaluate(JS_PLAYER)["end"] == 10
        page.screenshot(path=str(tmp_path / "both.png"))
        # the player: first event, then step with the arrow keys
        page.locator("button", has_text="⇤").click()
        page.wait_for_timeout(150)
        p = page.evaluate(JS_PLAYER)
        assert p["value"] == 0 and p["current"] == 1 and p["pending"] == 9 and "event 1/10" in p["label"]
        assert "<b>x</b>" in p["label"]
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        page.wait_for_timeout(150)
        p = page.evaluate(JS_PLAYER)
        assert p["value"] == 5 and p["pending"] == 4 and "MeanBackward0" in p["label"]  # backward starts
        page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(150)
        assert "<b>mean</b>" in page.evaluate(JS_PLAYER)["label"]
        page.screenshot(path=str(tmp_path / "player.png"))
        # play runs to the end: the whole graph, nothing veiled
        page.locator("button", has_text="▶").first.click()
        page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('graph-player').value === 10",
                               timeout=15000)
        p = page.evaluate(JS_PLAYER)
        assert p["pending"] == 0 and p["current"] == 0 and "10 events" in p["label"]
        page.keyboard.press("f")
        page.wait_for_timeout(300)
        assert labels() == ["x", "add", "mul", "mul", "mean"]
        assert page.evaluate(JS_PLAYER)["end"] == 5
        assert aborted == [] and errors == [] and console == []
    finally:
        page.close()
