"""What the page says about itself, in a real Chromium at 1280×800 and 1920×1080: a share link that
could not be read, the share link box beside the controls, picking an example again and undoing a
load, the loss curve picking a step, a graph marked stale while its code runs again, and the words
behind "full values ≤". Each test fails on a page error or console error.

Screenshots go to $GRADVIEW_SCREENSHOTS when set (else a pytest temporary folder).
"""
from __future__ import annotations

import os
import re
import time

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")

from gradview.app.notebook import parse_percent  # noqa: E402
from gradview.app.views.controls import FULL_VALUES_HELP, list_examples  # noqa: E402
from tests.browser.test_app import JS_EDITOR_TEXT, JS_SET_CODE, server, text_of, wait_idle  # noqa: E402,F401
from tests.browser.test_page_errors import JS_BUSY_SEEN, JS_STATUS_LOG, Watch, pick_example  # noqa: E402

SIZES = [(1280, 800), (1920, 1080)]

# the page position of (x, y) in data units of the figure whose title starts with `title`
JS_PLOT_POINT = """([title, x, y]) => {
  const v = [...Bokeh.index.query((v) => v.model.title != null && v.model.title.text != null
                                          && v.model.title.text.startsWith(title))][0];
  const r = v.canvas_view.el.getBoundingClientRect();
  const sy = y == null ? v.frame.bbox.vcenter : v.frame.y_scale.compute(y);
  return [r.left + v.frame.x_scale.compute(x), r.top + sy]; }"""

@pytest.fixture(params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def page(request, browser, server, tmp_path):
    context = browser.new_context(viewport={"width": request.param[0], "height": request.param[1]})
    p = context.new_page()
    p.set_default_timeout(30_000)
    p.watch = Watch(p)
    p.size = request.param
    p.shots = os.environ.get("GRADVIEW_SCREENSHOTS") or str(tmp_path)
    os.makedirs(p.shots, exist_ok=True)
    yield p
    context.close()


def open_page(page, server, query=""):
    page.goto(server + query)
    page.locator(".gv-cell").first.wait_for(timeout=60_000)
    wait_idle(page, timeout=60)


def shot(page, name):
    page.screenshot(path=os.path.join(page.shots, f"controls-{page.size[0]}x{page.size[1]}-{name}.png"))


def status(page):
    return text_of(page.locator(".gv-status").first)


def edit(page, index, code):
    """Put `code` in cell `index` and wait until the run it starts is over."""
    page.evaluate(JS_STATUS_LOG)
    page.evaluate(JS_SET_CODE, [index, code])
    page.wait_for_function(JS_BUSY_SEEN, timeout=60_000)
    wait_idle(page, timeout=60)


def test_a_broken_share_link_is_said_and_kept_said(page, server):
    open_page(page, server, "?nb=garbage!!")
    assert "could not be read" in status(page)
    edit(page, 0, page.evaluate(JS_EDITOR_TEXT)[0] + "\n")
    assert "could not be read" in status(page)  # still said after a run
    shot(page, "broken-link")
    page.watch.check("a broken share link")


def test_the_share_link_leaves_every_control_on_screen(page, server):
    open_page(page, server)
    page.get_by_role("button", name="Share link").click()
    link = page.locator("input[placeholder='the share link appears here']")
    link.wait_for(state="visible")
    assert "?nb=" in link.input_value()
    width = page.size[0]
    full_values = page.locator("span[title]").filter(has_text="full values").first
    for control in (page.get_by_role("button", name="Restart"), full_values, link):
        box = control.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    shot(page, "share-link")
    page.watch.check("sharing a link")


def test_picking_the_shown_example_again_reloads_it_and_undo_brings_the_edit_back(page, server):
    open_page(page, server)
    with open(list_examples()["Neuron"], encoding="utf-8") as f:
        cells = parse_percent(f.read())
    pick_example(page, "Neuron")
    assert page.locator("select").first.input_value() != "Neuron"  # the menu never names what may be edited
    edited = cells[0] + "\nz_edited = 1\n"
    edit(page, 0, edited)
    pick_example(page, "Neuron")   # the example shown, picked again: loaded again
    assert page.evaluate(JS_EDITOR_TEXT) == cells
    page.get_by_role("button", name="Undo load").click()
    deadline = time.time() + 30
    while page.evaluate(JS_EDITOR_TEXT)[0] != edited:
        assert time.time() < deadline, "undo did not bring the edited cell back"
        time.sleep(0.1)
    wait_idle(page, timeout=60)
    shot(page, "undo-load")
    page.watch.check("picking an example again and undoing it")


def test_the_loss_curve_picks_a_kept_step_or_says_it_is_not_kept(page, server):
    open_page(page, server)
    pick_example(page, "Training: linear regression")
    label = page.locator(".bk-panel-models-markup-HTML").filter(has_text="kept)").first
    text = text_of(label)
    first, last = (int(v) for v in re.search(r"steps (\d+)–(\d+) kept", text).groups())
    want = last - 3
    page.mouse.click(*page.evaluate(JS_PLOT_POINT, ["loss over steps", want, None]))
    deadline = time.time() + 30
    while f"training step {want}" not in text_of(label):
        assert time.time() < deadline, text_of(label)
        time.sleep(0.1)
    shot(page, "loss-curve-step")
    page.wait_for_timeout(800)  # (a second click at once would make a double click, which zooms)
    page.mouse.click(*page.evaluate(JS_PLOT_POINT, ["loss over steps", first // 2, None]))
    deadline = time.time() + 30
    while "is not kept" not in status(page):
        assert time.time() < deadline, status(page)
        time.sleep(0.1)
    page.watch.check("picking steps on the loss curve")


def test_a_graph_whose_code_runs_again_is_marked_stale(page, server):
    open_page(page, server)
    page.evaluate(JS_STATUS_LOG)
    page.evaluate(JS_SET_CODE, [0, "import time\nimport torch\nx = torch.ones(2, requires_grad=True)\n"
                                   "y = (x * 3).sum()\ntime.sleep(2)\n"])
    page.wait_for_function("() => window.gvStatusLog.some((t) => t.includes('running'))", timeout=60_000)
    title = page.locator(".bk-panel-models-markup-HTML").filter(has_text="Graph").first
    assert "stale" in text_of(title)
    shot(page, "stale-graph")
    wait_idle(page, timeout=60)
    assert "stale" not in text_of(title)
    page.watch.check("a graph marked stale")


def test_full_values_says_in_words_what_it_does(page, server):
    open_page(page, server)
    label = page.locator("span[title]").filter(has_text="full values")
    assert label.first.get_attribute("title") == FULL_VALUES_HELP
    page.watch.check("the full values control")
