"""The app in a real headless Chromium: typing, errors, sessions, examples, screenshots.

Starts `panel serve app/main.py` on a free port and drives /usr/bin/chromium through Playwright.
Screenshots go to $GRADVIEW_SCREENSHOTS when set (else a pytest temporary folder).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytest.importorskip("panel", reason="panel is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
if shutil.which("panel") is None:
    pytest.skip("the panel command is not on PATH", allow_module_level=True)

sys.path.insert(0, ROOT)
from gradview.app.notebook import encode_share, parse_percent  # noqa: E402
from gradview.app.views.controls import list_examples  # noqa: E402

JS_NODES = """() => {
  const doc = window.Bokeh && Bokeh.documents[0];
  const m = doc && doc.get_model_by_name('graph-nodes');
  if (!m) return null;
  const d = m.data;
  return {id: [...d.id], label: [...d.label], kind: [...d.kind], x: [...d.x], y: [...d.y]};
}"""

JS_SET_CODE = """([index, code]) => {
  const views = [...Bokeh.index.query((v) => v._editor != null && v.model.css_classes.includes('gv-cell'))];
  views.sort((a, b) => a.el.getBoundingClientRect().top - b.el.getBoundingClientRect().top);
  views[index]._editor.setValue(code, 1);
}"""

JS_EDITOR_TEXT = """() => [...Bokeh.index.query((v) => v._editor != null && v.model.css_classes.includes('gv-cell'))]
  .sort((a, b) => a.el.getBoundingClientRect().top - b.el.getBoundingClientRect().top)
  .map((v) => v._editor.getValue())"""

PROGRAM = "import torch\nx = torch.tensor(2.0, requires_grad=True)\ny = x\nfor i in range({n}):\ny = y * x\n"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = dict(os.environ, GRADVIEW_TIME_LIMIT="10", PYTHONPATH=ROOT)
    proc = subprocess.Popen(
        ["panel", "serve", "app/main.py", "--port", str(port), "--address", "127.0.0.1",
         f"--allow-websocket-origin=127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/main"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("panel serve exited:\n" + proc.stdout.read().decode(errors="replace"))
        try:
            # (a first page can take several seconds on a busy machine: a short timeout would only
            # abandon it and ask again, each time building another session)
            with urllib.request.urlopen(url, timeout=30) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("panel serve did not come up")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()



@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    context.close()


def open_notebook(page, server, cells):
    page.goto(f"{server}?nb={encode_share(cells)}")
    page.locator(".gv-cell").first.wait_for()
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                           "Bokeh.documents[0].get_model_by_name('graph-nodes') != null")
    wait_idle(page)


def text_of(locator):
    """The text a Panel pane shows (it lives in the element's shadow root)."""
    return locator.evaluate("""(el) => el.shadowRoot
      ? [...el.shadowRoot.children].filter((c) => !['STYLE', 'LINK'].includes(c.tagName))
          .map((c) => c.innerText).join('')
      : el.innerText""")


def wait_idle(page, timeout=20):
    """Until no run is pending or in flight (the status bar says neither)."""
    deadline = time.time() + timeout
    text = None
    while time.time() < deadline:
        text = text_of(page.locator(".gv-status").first)
        if text and "running" not in text and "waiting" not in text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"app still busy: {text!r}")


def nodes(page):
    return page.evaluate(JS_NODES)


def wait_nodes(page, predicate, timeout=15):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = nodes(page)
        if last is not None and predicate(last):
            return last
        time.sleep(0.05)
    raise AssertionError(f"graph never matched; last: {last}")


def type_into_cell(page, index, text):
    editor = page.locator(".gv-cell").nth(index)
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text, delay=5)


def test_typing_draws_the_graph_and_a_longer_loop_adds_only_its_nodes(page, server):
    open_notebook(page, server, [""])
    assert nodes(page)["id"] == []
    type_into_cell(page, 0, PROGRAM.format(n=3))
    first = wait_nodes(page, lambda d: len(d["id"]) == 4)
    assert first["label"][1:] == ["mul", "mul", "mul"]
    assert first["kind"] == ["leaf", "op", "op", "output"]
    code = page.evaluate(JS_EDITOR_TEXT)[0]
    assert "range(3)" in code and "    y = y * x" in code  # the editor indented the loop body

    # change range(3) to range(5) by hand: select the 3 and type 5
    page.evaluate("""() => {
      const v = [...Bokeh.index.query((v) => v._editor != null && v.model.css_classes.includes('gv-cell'))][0];
      const ed = v._editor; ed.focus(); ed.find('range(3)');
      const r = ed.getSelectionRange(); ed.selection.setSelectionRange({start: {row: r.start.row,
        column: r.start.column + 6}, end: {row: r.start.row, column: r.start.column + 7}});
    }""")
    page.keyboard.type("5")
    second = wait_nodes(page, lambda d: len(d["id"]) == 6)
    old = {i: (x, y) for i, x, y in zip(first["id"], first["x"], first["y"])}
    new = {i: (x, y) for i, x, y in zip(second["id"], second["x"], second["y"])}
    added = [i for i in second["id"] if i not in old]
    assert set(old) <= set(new) and len(added) == 2
    assert [second["label"][second["id"].index(i)] for i in added] == ["mul", "mul"]
    for node_id, pos in old.items():
        assert new[node_id] == pytest.approx(pos), node_id


def test_syntax_error_shows_and_next_edit_recovers(page, server):
    open_notebook(page, server, [PROGRAM.format(n=2).replace("\ny = y", "\n    y = y")])
    good = wait_nodes(page, lambda d: len(d["id"]) == 3)
    error = page.locator(".gv-error").first
    assert not error.is_visible()
    type_into_cell(page, 0, "z = 1 +")
    error.wait_for(state="visible")
    assert "SyntaxError" in text_of(error)
    assert nodes(page)["id"] == good["id"]  # the last good graph stays while the code is broken
    page.keyboard.press("End")
    page.keyboard.type(" x * 3")
    error.wait_for(state="hidden")
    redrawn = wait_nodes(page, lambda d: len(d["id"]) == 5)
    assert redrawn["label"][-2:] == ["mul", "add"] and set(good["id"]) < set(redrawn["id"])


def test_runtime_error_keeps_graph_up_to_failing_op(page, server):
    open_notebook(page, server, ["import torch\nx = torch.ones(2, requires_grad=True)\ny = x.exp()\n"
                                 "z = y @ torch.ones(3)\n"])
    error = page.locator(".gv-error").first
    error.wait_for(state="visible")
    text = text_of(error)
    assert "Cell [1], line 4" in text and "RuntimeError" in text and "runner.py" not in text
    # the graph up to the failure, the failing call marked failed, nothing marked as the output
    drawn = wait_nodes(page, lambda d: len(d["id"]) == 4)
    assert drawn["label"] == ["x", "exp", "tensor", "matmul"]
    assert drawn["kind"] == ["leaf", "op", "leaf", "failed"]


def test_two_sessions_have_their_own_namespaces(browser, server):
    pages = []
    for value in (3, 5):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        open_notebook(pg, server, [f"import torch\nv = torch.ones({value})", "print(v.shape)"])
        pages.append((context, pg))
    try:
        for (_, pg), value in zip(pages, (3, 5)):
            out = pg.locator(".gv-output").nth(1)
            out.wait_for(state="visible")
            assert text_of(out).strip() == f"torch.Size([{value}])"
        # re-run only the second cell in each tab: each sees its own v
        for _, pg in pages:
            type_into_cell(pg, 1, "\nprint(v.sum().item())")
        for (_, pg), value in zip(pages, (3, 5)):
            deadline = time.time() + 10
            while time.time() < deadline:
                texts = [text_of(o) for o in pg.locator(".gv-output").all()]
                if any(f"{float(value)}" in t for t in texts):
                    break
                time.sleep(0.05)
            assert any(f"torch.Size([{value}])\n{float(value)}" in t for t in texts), texts
    finally:
        for context, _ in pages:
            context.close()


def test_shift_enter_runs_at_once(page, server):
    open_notebook(page, server, ["import torch\na = torch.ones(2, requires_grad=True)"])
    wait_nodes(page, lambda d: True)
    editor = page.locator(".gv-cell").first
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nb = (a * 2).sum()", delay=0)
    page.keyboard.press("Shift+Enter")
    t0 = time.time()
    wait_nodes(page, lambda d: "sum" in d["label"], timeout=5)
    assert time.time() - t0 < 5
    assert not page.evaluate(JS_EDITOR_TEXT)[0].endswith("\n")  # Shift+Enter ran rather than typed


# training examples that take longer than a run may (10 s): they run fine as scripts
SLOW = {"Training: char rnn": "trains an LSTM for 250 steps, longer than the app's 10 s run limit",
        "Training: cnn digits": "trains for 6 epochs, about the app's 10 s run limit"}


@pytest.fixture(scope="module")
def examples_page(browser, server):
    """One tab for all examples: each is picked from the menu in turn."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(server)
    page.locator(".gv-cell").first.wait_for()
    wait_idle(page, timeout=30)
    yield page
    context.close()


@pytest.mark.parametrize("title", list(list_examples()))
def test_example_runs_and_draws(examples_page, title):
    if title in SLOW:
        pytest.skip(SLOW[title])
    page = examples_page
    with open(list_examples()[title], encoding="utf-8") as f:
        cells = parse_percent(f.read())
    page.locator("select").first.select_option(title)
    deadline = time.time() + 60
    while time.time() < deadline:
        texts = page.evaluate(JS_EDITOR_TEXT)
        if len(texts) == len(cells) and texts[0] == cells[0]:
            break
        time.sleep(0.1)
    assert page.evaluate(JS_EDITOR_TEXT) == cells
    wait_idle(page, timeout=60)
    errors = [e for e in page.locator(".gv-error").all() if e.is_visible()]
    assert not errors, text_of(errors[0])
    assert len(nodes(page)["id"]) > 0


def test_screenshots(browser, server, tmp_path):
    folder = os.environ.get("GRADVIEW_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    for w, h in ((1280, 800), (1920, 1080)):
        context = browser.new_context(viewport={"width": w, "height": h})
        pg = context.new_page()
        pg.goto(server)
        pg.locator(".gv-cell").first.wait_for()
        wait_nodes(pg, lambda d: len(d["id"]) > 3, timeout=30)
        wait_idle(pg)
        # show the inspector too: click the first op node's centre
        path = os.path.join(folder, f"app-{w}x{h}.png")
        pg.screenshot(path=path)
        assert os.path.getsize(path) > 10_000
        context.close()


def test_share_link_reopens_the_notebook(browser, page, server):
    cells = ["import torch\nshared = torch.arange(4.0, requires_grad=True)", "print((shared * 2).sum().item())"]
    open_notebook(page, server, cells)
    page.get_by_role("button", name="Share link").click()
    page.wait_for_function("() => window.location.search.includes('nb=')")
    link = page.url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        other = context.new_page()
        other.goto(link)
        other.locator(".gv-cell").first.wait_for()
        deadline = time.time() + 10
        while time.time() < deadline and other.evaluate(JS_EDITOR_TEXT) != cells:
            time.sleep(0.05)
        assert other.evaluate(JS_EDITOR_TEXT) == cells
        out = other.locator(".gv-output").nth(1)
        out.wait_for(state="visible")
        assert text_of(out).strip() == "12.0"
    finally:
        context.close()


JS_NODE_XY = """(index) => {
  const m = Bokeh.documents[0].get_model_by_name('graph-nodes');
  const pv = [...Bokeh.index.query((v) => v.model.renderers != null && v.frame != null
                                   && v.model.renderers.some((r) => r.data_source === m))][0];
  const box = pv.canvas_view.el.getBoundingClientRect();
  return [box.left + pv.frame.x_scale.compute(m.data.x[index]), box.top + pv.frame.y_scale.compute(m.data.y[index])];
}"""

JS_CURSOR_ROW = """() => [...Bokeh.index.query((v) => v._editor != null && v.model.css_classes.includes('gv-cell'))][0]
  ._editor.getCursorPosition().row"""


def test_node_click_goes_to_its_line_and_a_line_lights_its_nodes(page, server):
    open_notebook(page, server, ["import torch\na = torch.ones(3, requires_grad=True)\n\nb = a * 2\nc = b.exp().sum()\n"])
    data = wait_nodes(page, lambda d: "exp" in d["label"])
    target = data["label"].index("exp")
    x, y = page.evaluate(JS_NODE_XY, target)
    page.mouse.click(x, y)
    page.wait_for_function(f"() => ({JS_CURSOR_ROW})() === 4")  # line 5, where exp ran
    # the cursor on line 4 lights up the node made there (the mul; a was made on line 2)
    page.evaluate("""() => { const ed = [...Bokeh.index.query((v) => v._editor != null)][0]._editor;
                             ed.focus(); ed.gotoLine(4, 0, false); }""")
    page.wait_for_function("""() => { const m = Bokeh.documents[0].get_model_by_name('graph-nodes');
        const sel = m.selected.indices.map((i) => m.data.label[i]);
        return sel.length === 1 && sel[0] === 'mul'; }""")
    # clicking the leaf goes to the line that made it
    x, y = page.evaluate(JS_NODE_XY, data["label"].index("a"))
    page.mouse.click(x, y)
    page.wait_for_function(f"() => ({JS_CURSOR_ROW})() === 1")


def test_cell_buttons_add_move_delete(page, server):
    open_notebook(page, server, ["a = 1", "print(a)"])
    page.locator('button[title="Add a cell below"]').first.click()
    page.wait_for_function(f"() => ({JS_EDITOR_TEXT})().length === 3")
    assert page.evaluate(JS_EDITOR_TEXT) == ["a = 1", "", "print(a)"]
    page.locator('button[title="Move down"]').first.click()
    page.wait_for_function(f"() => ({JS_EDITOR_TEXT})()[1] === 'a = 1'")
    page.locator('button[title="Delete this cell"]').first.click()
    page.wait_for_function(f"() => ({JS_EDITOR_TEXT})().length === 2")
    assert page.evaluate(JS_EDITOR_TEXT) == ["a = 1", "print(a)"]


JS_LABELS = """() => { const m = Bokeh.documents[0].get_model_by_name('graph-labels');
  return m ? [...m.data.label] : null; }"""


@pytest.mark.parametrize("cells", [
    ["import torch\nh = torch.ones(3, requires_grad=True)\nz = h\nfor step in range(3):\n"
     "    z = torch.sin(z) * 2\ntotal = z.sum()\ntotal.backward()\n"],
    ["import torch\nfrom torch import nn\ntorch.manual_seed(0)\n"
     "model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))\n"
     "loss = model(torch.randn(4, 2)).pow(2).mean()\nloss.backward()\n"],
], ids=["walkthrough-loop", "mlp"])
def test_small_graphs_label_every_node_at_first_view(page, server, cells, tmp_path):
    open_notebook(page, server, cells)
    drawn = wait_nodes(page, lambda d: len(d["id"]) > 6)
    assert len(drawn["id"]) <= 60
    page.wait_for_function(f"() => ({JS_LABELS})().length === {len(drawn['id'])}")
    assert sorted(page.evaluate(JS_LABELS)) == sorted(drawn["label"])
    folder = os.environ.get("GRADVIEW_SCREENSHOTS") or str(tmp_path)
    page.screenshot(path=os.path.join(folder, f"labels-{len(drawn['id'])}-nodes.png"))
