""""Why this gradient?" at 1280×800: once the button is clicked, the answer (its first line, with the
gradient it explains) is in the window without the reader scrolling, although it is drawn below the
value and gradient readout. Any uncaught page error or console error fails."""
from __future__ import annotations

import os

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")

from tests.browser.test_backward_view import JS_LABELS, WALK, open_app, server  # noqa: E402,F401
from tests.browser.test_explain_gradient import JS_SELECT  # noqa: E402

def test_the_answer_is_in_view_after_the_click(browser, server, tmp_path):
    folder = os.environ.get("GRADVIEW_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    context, page, watch = open_app(browser, server, (1280, 800), [WALK])
    try:
        labels = page.evaluate(JS_LABELS, "graph-nodes")
        page.evaluate(JS_SELECT, ["graph-nodes", labels.index("x")])
        button = page.get_by_role("button", name="why this gradient?")
        button.wait_for(state="visible", timeout=15000)
        page.wait_for_timeout(500)
        button.click()
        page.locator(".gv-explain-total-value").wait_for(state="attached", timeout=30000)
        head = page.locator(".gv-explain-head").first  # (the locator looks inside shadow roots)
        box = None
        for _ in range(50):  # the page scrolls to the answer once it is drawn
            box = head.bounding_box()  # in the window's coordinates
            if box and box["y"] >= 0 and box["y"] + box["height"] <= 800:
                break
            page.wait_for_timeout(100)
        page.screenshot(path=os.path.join(folder, "explanation-1280.png"))
        assert "4.5" in head.text_content()
        assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 800, box
        watch.check("asking why")
    finally:
        context.close()
