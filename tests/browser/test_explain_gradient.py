""""Why this gradient?" in the app, in a real headless Chromium: click a node (in the forward view,
then through its AccumulateGrad in the backward view), press the button, and read a path and the
total, which equals the gradient the inspector shows. Any uncaught page error or console error
fails. Screenshots go to $GRADVIEW_SCREENSHOTS when set (else a pytest temporary folder).
"""
from __future__ import annotations

import os
import re

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")

from tests.browser.test_backward_view import JS_LABELS, WALK, open_app, press, server  # noqa: E402,F401

JS_SELECT = """([name, i]) => { Bokeh.documents[0].get_model_by_name(name).selected.indices = [i]; }"""


def numbers(text):
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def ask(page):
    button = page.get_by_role("button", name="why this gradient?")
    button.wait_for(state="visible", timeout=15000)
    button.click()
    total = page.locator(".gv-explain-total-value")
    total.wait_for(state="visible", timeout=30000)
    return total.text_content()


def test_why_this_gradient_reads_the_paths_and_a_total_equal_to_the_gradient(browser, server, tmp_path):
    folder = os.environ.get("GRADVIEW_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    context, page, watch = open_app(browser, server, (1280, 800), [WALK])
    try:
        labels = page.evaluate(JS_LABELS, "graph-nodes")
        page.evaluate(JS_SELECT, ["graph-nodes", labels.index("x")])
        total = ask(page)
        assert total == "[[4.5, 4.5], [4.5, 4.5]]"
        # the gradient the inspector shows for x is the total
        shown = page.locator("td.k", has_text="grad").locator("xpath=following-sibling::td").first.text_content()
        assert numbers(shown) == [4.5] * 4 == numbers(total)
        paths = page.locator(".gv-explain-path")
        assert paths.count() == 2
        first = paths.first.text_content()
        assert "path 1 contributes [[2.25, 2.25], [2.25, 2.25]]" in first
        assert "MulBackward0 turns the gradient it received" in first and "grad_self = grad · other" in first
        assert "AccumulateGrad adds what it receives into .grad" in first
        assert "2 gradients add up" in page.locator(".gv-explain-join").first.text_content()
        page.screenshot(path=os.path.join(folder, "why-this-gradient-1280.png"))
        # the backward view: its AccumulateGrad stands for x
        press(page, "b")
        page.wait_for_function("""() => { const m = Bokeh.documents[0].get_model_by_name('backward-nodes');
            return m && m.data.label.includes('AccumulateGrad'); }""", timeout=15000)
        back = page.evaluate(JS_LABELS, "backward-nodes")
        labels = page.evaluate(JS_LABELS, "graph-nodes")
        page.evaluate(JS_SELECT, ["graph-nodes", labels.index("mean")])
        page.locator(".gv-explain-total-value").wait_for(state="hidden", timeout=15000)
        page.evaluate(JS_SELECT, ["backward-nodes", back.index("AccumulateGrad")])
        assert ask(page) == total
        page.screenshot(path=os.path.join(folder, "why-this-gradient-backward-1280.png"))
        watch.check("asking why this gradient")
    finally:
        context.close()
