"""Pages built by the documentation integrations, served on 127.0.0.1 to a real headless Chromium
that aborts every request for anywhere else: the example Sphinx site (reStructuredText and MyST pages), the
example MkDocs site and the example notebook executed by nbconvert. Each graph is drawn, BokehJS is
loaded once per page, and there are no page errors and no console errors.

Uses /usr/bin/chromium through Playwright (tests/browser/conftest.py; never downloads a browser).
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
pytest.importorskip("bokeh", reason="bokeh is not installed")

from tests.app.integrations.sites import (build_sphinx, built_mkdocs_example, built_sphinx_example,  # noqa: E402
                                          executed_notebook_html)

JS_GRAPHS = """() => Bokeh.documents.map((d) => {
  const nodes = d.get_model_by_name('graph-nodes');
  return nodes === null ? null : [...nodes.data.label];
})"""

JS_PAINTED = """() => [...Bokeh.index.query((v) => v.canvas_view !== undefined)]
  .filter((v) => v.model.type === 'Figure').map((v) => v.canvas_view.primary.canvas.width)"""

JS_STEP = """(value) => {
  const doc = Bokeh.documents.find((d) => d.get_model_by_name('graph-step') !== null);
  if (value !== undefined && value !== null) doc.get_model_by_name('graph-step').value = value;
  return JSON.stringify([...doc.get_model_by_name('graph-nodes').data.value_text]);
}"""


class Visit:
    """A page opened offline: aborted requests, page errors and console errors are recorded."""

    def __init__(self, browser, url, graphs, frame_index=None):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.aborted, self.errors, self.console, self.requested = [], [], [], []

        def route(r):
            url = r.request.url
            self.requested.append(url)
            if url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:")):
                r.continue_()
            else:
                self.aborted.append(url)
                r.abort()

        self.page.route("**/*", route)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        self.page.goto(url)
        self.frame = self.page if frame_index is None else self.page.frames[frame_index]
        self.frame.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length === {graphs} && "
                                     "Bokeh.documents.every((d) => d.get_model_by_name('graph-nodes') !== null)")
        self.page.wait_for_timeout(300)

    def evaluate(self, js, *args):
        return self.frame.evaluate(js, *args)

    def step_values(self, step=None):
        """The drawn nodes' values of the graph with a step slider, after moving it to `step`."""
        if step is not None:
            self.evaluate(JS_STEP, step)
            self.page.wait_for_timeout(200)
        return self.evaluate(JS_STEP)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def visit(browser):
    """visit(file, graphs): serve the file's folder on 127.0.0.1 and open the file."""
    opened, servers = [], []

    def open_(path, graphs, frame_index=None):
        folder, name = os.path.split(os.path.abspath(path))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=folder))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        opened.append(Visit(browser, f"http://127.0.0.1:{server.server_port}/{name}", graphs, frame_index))
        return opened[-1]
    yield open_
    for v in opened:
        v.page.close()
    for server in servers:
        server.shutdown()
        server.server_close()


def check_drawn(v, expected_labels):
    graphs = v.evaluate(JS_GRAPHS)
    for labels, expected in zip(graphs, expected_labels):
        assert set(expected) <= set(labels), (labels, expected)
    painted = v.evaluate(JS_PAINTED)  # each graph's figure (and a run's loss curve), drawn
    assert len(painted) >= len(graphs) and all(w > 0 for w in painted)


def check_bokehjs_once(v):
    from gradview.engine.viz import bokehjs_files
    names = [name for name, _ in bokehjs_files()]
    loaded = [url.rsplit("/", 1)[-1] for url in v.requested if "/gradview/bokeh" in url]
    assert loaded == names  # each file requested once, in order
    assert v.evaluate("() => Bokeh.version") == names[0].split("-")[1].removesuffix(".min.js")


def test_sphinx_pages(visit):
    _, out, _, _ = built_sphinx_example()
    v = visit(os.path.join(out, "html", "index.html"), graphs=2)
    check_drawn(v, [["x", "w", "mm", "relu", "mean"], ["0.weight", "addmm", "tanh", "mean"]])
    check_bokehjs_once(v)
    # the training script's step slider switches the drawn step
    first = v.step_values()
    assert "1.8252" in first and "1.6605" in v.step_values(2)  # the losses the script printed
    assert v.aborted == [] and v.errors == [] and v.console == []
    m = visit(os.path.join(out, "html", "myst.html"), graphs=2)
    check_drawn(m, [["logits", "softmax", "log", "neg"], ["0.weight", "addmm", "tanh", "mean"]])
    check_bokehjs_once(m)
    assert m.aborted == [] and m.errors == [] and m.console == []


APP_STUB = """<!DOCTYPE html><html><body><p id="cells"></p>
<script>document.getElementById('cells').textContent = location.search;</script></body></html>"""


def test_try_it_swaps_the_graph_for_the_app_on_its_code(visit, tmp_path):
    """With `gradview_try_it` set, a graph's "try it" button puts the static app (here a stub that
    shows the address it was opened with) in the graph's place, opened on the block's code."""
    from gradview.app.notebook import decode_share
    src, out, _, _ = built_sphinx_example()
    shutil.copytree(src, tmp_path / "src")
    shutil.copytree(out, tmp_path / "out")  # the rendered blocks of the session's build, reused
    build_sphinx(str(tmp_path / "src"), str(tmp_path / "out"), gradview_try_it="app/")
    html = tmp_path / "out" / "html"
    (html / "app").mkdir()
    (html / "app" / "index.html").write_text(APP_STUB)
    v = visit(html / "index.html", graphs=2)
    v.page.click(".gradview-try >> nth=0")
    v.page.wait_for_selector("iframe.gradview-live")
    assert v.page.evaluate("() => document.querySelectorAll('.gradview-graph').length") == 1
    frame = next(f for f in v.page.frames if f is not v.page.main_frame)
    frame.wait_for_function("() => document.getElementById('cells').textContent.startsWith('?nb=')")
    cells = decode_share(frame.evaluate("() => document.getElementById('cells').textContent")[len("?nb="):])
    assert cells[0].startswith("import torch\ntorch.manual_seed(0)\nx = torch.randn(8, 3)")
    assert v.aborted == [] and v.errors == [] and v.console == []


def test_mkdocs_page(visit):
    _, site, _ = built_mkdocs_example()
    v = visit(os.path.join(site, "index.html"), graphs=2)
    check_drawn(v, [["x", "w", "mm", "relu", "mean"], ["w", "exp", "mul", "sum"]])
    check_bokehjs_once(v)
    assert v.aborted == [] and v.errors == [] and v.console == []


def test_notebook_exported_by_nbconvert(visit):
    pytest.importorskip("nbconvert", reason="nbconvert is not installed (pip install -e '.[docs]')")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[docs]')")
    v = visit(executed_notebook_html(), graphs=1, frame_index=1)
    check_drawn(v, [["w", "exp", "mul", "sum"]])
    first = v.step_values()
    assert v.step_values(2) != first  # the step slider works in the exported notebook
    # nbconvert's own template asks for a few files from CDNs (aborted here); the graph needs none
    assert all("bokeh" not in url for url in v.aborted)
    assert v.errors == [] and [c for c in v.console if "Failed to load resource" not in c] == []
