"""A long browser session must leave the page without a single uncaught error or console error (or
Bokeh warning): every example in turn, a big loop unfolded and then replaced by a small model, steps
and views (forward, backward, both; colour scale; scope) switched, edits in between, at 1280×800 and
1920×1080, with screenshots.

Screenshots go to $GRADVIEW_SCREENSHOTS when set (else a pytest temporary folder).
"""
from __future__ import annotations

import os
import time

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")

from gradview.app.notebook import parse_percent  # noqa: E402
from gradview.app.views.controls import list_examples  # noqa: E402
from tests.browser.test_app import (JS_EDITOR_TEXT, JS_NODES, JS_SET_CODE, nodes, server,  # noqa: E402,F401
                                    text_of, wait_idle)

BIG_LOOP = ("import torch\ny = torch.ones(3, requires_grad=True)\nfor i in range(3000):\n"
            "    y = torch.sin(y) * 1.01\ny.sum().backward()\n")
MLP = ("import torch\nfrom torch import nn\ntorch.manual_seed(0)\n"
       "model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))\n"
       "x = torch.randn(16, 2)\nloss = model(x).pow(2).mean()\nloss.backward()\n")

# the backward view draws this graph's backward graph (not the one drawn before it was shown)
JS_BACKWARD_DRAWN = """() => { const doc = Bokeh.documents[0];
  const f = new Set(doc.get_model_by_name('graph-nodes').data.id), b = doc.get_model_by_name('backward-nodes').data;
  return b.label.includes('AccumulateGrad') && b.forward_id.some((id) => f.has(id)); }"""

# the "both" view draws this step: the forward graph's leaves and the backward graph's AccumulateGrad
JS_BOTH_DRAWN = """() => { const doc = Bokeh.documents[0];
  const f = doc.get_model_by_name('graph-nodes').data, b = doc.get_model_by_name('both-nodes').data;
  const ids = new Set(b.id);
  return b.label.includes('AccumulateGrad') && f.id.every((id, i) => f.kind[i] !== 'leaf' || ids.has(id)); }"""

JS_GROUPS = """() => { const m = Bokeh.documents[0].get_model_by_name('graph-groups');
  return m ? [...m.data.label] : null; }"""

# what a tap on a node does: select it (a folded group unfolds)
JS_SELECT = """(i) => { Bokeh.documents[0].get_model_by_name('graph-nodes').selected.indices = [i]; }"""

# the step slider (the one Slider of the page that is not a graph view's player)
JS_SET_STEP = """(k) => { const s = [...Bokeh.documents[0].all_models].find((m) => (m.type === 'Slider'
  || (m.constructor && m.constructor.__name__ === 'Slider')) && !String(m.name || '').endsWith('-player'));
  const was = s.value; s.setv({value: k, value_throttled: k}); return was; }"""


class Watch:
    """Every uncaught page error, console error or warning, and failed request, as it happens."""

    def __init__(self, page):
        self.problems = []
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    def check(self, after):
        assert not self.problems, f"after {after}: " + "\n".join(self.problems[:10])


def pick_example(page, title):
    """Pick an example and wait until its cells are in the editors and have run."""
    with open(list_examples()[title], encoding="utf-8") as f:
        cells = parse_percent(f.read())
    page.evaluate(JS_STATUS_LOG)
    page.locator("select").first.select_option(title)
    deadline = time.time() + 60
    while page.evaluate(JS_EDITOR_TEXT) != cells:
        assert time.time() < deadline, f"{title} never loaded"
        time.sleep(0.1)
    # loading restarts the worker, then runs the cells: wait for that run (a status before it, and
    # the errors of the example before, belong to the previous run), then for a graph or an error
    page.wait_for_function(JS_BUSY_SEEN, timeout=60_000)
    deadline = time.time() + 60
    while True:
        wait_idle(page, timeout=60)
        drawn = nodes(page)
        if (drawn and drawn["id"]) or any(e.is_visible() for e in page.locator(".gv-error").all()):
            return
        assert time.time() < deadline, f"{title} never drew"
        time.sleep(0.2)


# every text the status bar takes, in order (from its model, so no state is missed however briefly
# it is shown or however busy the page is)
JS_STATUS_LOG = """() => { const m = [...Bokeh.documents[0].all_models].find((m) => (m.css_classes || []).includes('gv-status'));
  if (!window.gvStatusLog) { window.gvStatusLog = []; m.properties.text.change.connect(() => window.gvStatusLog.push(m.text)); }
  window.gvStatusLog.length = 0; }"""
JS_BUSY_SEEN = """() => window.gvStatusLog.some((t) => t.includes('waiting') || t.includes('running'))"""


def set_code(page, code):
    """Put `code` in the first cell and wait until the run it starts is drawn (the edit takes a moment
    to reach the server: until then the status bar still shows the previous run)."""
    page.evaluate(JS_STATUS_LOG)
    page.evaluate(JS_SET_CODE, [0, code])
    page.wait_for_function(JS_BUSY_SEEN, timeout=60_000)
    wait_idle(page, timeout=60)


def title(page):
    return text_of(page.locator(".bk-panel-models-markup-HTML").filter(has_text="Graph").first)


def settle(page):
    """Let the browser finish drawing (labels and culling follow a change one task later)."""
    page.wait_for_timeout(400)


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_a_long_session_raises_no_page_or_console_error(browser, server, size, tmp_path):
    folder = os.environ.get("GRADVIEW_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = Watch(page)
    try:
        page.goto(server)
        page.locator(".gv-cell").first.wait_for()
        wait_idle(page, timeout=30)
        settle(page)
        watch.check("loading the page")
        shot = f"{size[0]}x{size[1]}"

        # every example in turn (replacing a graph with module or loop boxes by another)
        # (the slow ones pass the test server's 10 s run limit: their cells say so, the page must not fail)
        for name in list_examples():
            pick_example(page, name)
            settle(page)
            watch.check(f"loading the example {name!r}")
            # (on a busy machine a training example can pass the run's time limit: the cell says so)
            limited = any("Time limit" in text_of(e) for e in page.locator(".gv-error").all() if e.is_visible())
            if limited:
                continue
            errors = [text_of(e) for e in page.locator(".gv-error").all() if e.is_visible()]
            assert len(nodes(page)["id"]) > 0, f"{name}: no graph drawn; errors shown: {errors}"
            if name.startswith("Training"):
                # switch steps, then the colour scale and the scope, and back
                opened = page.evaluate(JS_SET_STEP, 0)  # (the last training step, see default_step)
                wait_idle(page)
                settle(page)
                page.evaluate(JS_SET_STEP, opened)
                wait_idle(page)
                page.get_by_role("button", name="step").click()
                page.get_by_role("button", name="all cells").click()
                wait_idle(page)
                settle(page)
                page.get_by_role("button", name="colours: run").click()
                page.get_by_role("button", name="this cell").click()
                wait_idle(page)
                settle(page)
                # the backward graph, then both, then back to the forward one
                page.get_by_role("button", name="backward", exact=True).click()
                page.wait_for_function(JS_BACKWARD_DRAWN)
                settle(page)
                page.screenshot(path=os.path.join(folder, f"session-{shot}-{name.split(': ')[-1].replace(' ', '_')}-backward.png"))
                page.get_by_role("button", name="both", exact=True).click()
                page.wait_for_function(JS_BOTH_DRAWN)
                settle(page)
                page.screenshot(path=os.path.join(folder, f"session-{shot}-{name.split(': ')[-1].replace(' ', '_')}-both.png"))
                page.get_by_role("button", name="forward", exact=True).click()
                settle(page)
                watch.check(f"stepping and switching views in {name!r}")
                page.screenshot(path=os.path.join(folder, f"session-{shot}-{name.split(': ')[-1].replace(' ', '_')}.png"))

        # a big loop, folded; unfold it; replace it with a small model
        set_code(page, BIG_LOOP)
        settle(page)
        drawn = nodes(page)
        loop = next(i for i, label in enumerate(drawn["label"]) if label.startswith("loop ×3000"))
        page.evaluate(JS_SELECT, loop)
        page.wait_for_function(f"() => ({JS_NODES})().id.length > 1000")
        wait_idle(page)
        settle(page)
        watch.check("unfolding a 3000-iteration loop")
        page.screenshot(path=os.path.join(folder, f"session-{shot}-unfolded-loop.png"))
        set_code(page, MLP)
        settle(page)
        watch.check("replacing the unfolded loop by a small model")
        drawn = nodes(page)
        assert len(drawn["id"]) == 12
        assert not any(g.startswith("loop") for g in page.evaluate(JS_GROUPS))  # no loop box left behind
        assert "12 nodes" in title(page) and "left out" not in title(page)
        status = text_of(page.locator(".gv-status").first)
        assert "waiting" not in status and "running" not in status
        page.screenshot(path=os.path.join(folder, f"session-{shot}-mlp-after-loop.png"))

        # an edit with a runtime error, then a fix
        set_code(page, MLP.replace("loss = model(x)", "loss = model(x.t())"))
        settle(page)
        assert "failed" in nodes(page)["kind"]
        set_code(page, MLP)
        settle(page)
        watch.check("an error and its fix")
    finally:
        context.close()
