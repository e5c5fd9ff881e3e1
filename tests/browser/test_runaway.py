"""A runaway cell on the server: Stop ends it at once, and so does the next edit, which draws its
graph; the names the other cells made survive; the page never reports an error."""
from __future__ import annotations

import time

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")

from tests.browser.test_app import (JS_SET_CODE, nodes, open_notebook, page, server, text_of,  # noqa: E402,F401
                                    wait_idle)
from tests.browser.test_page_errors import Watch  # noqa: E402

CELLS = ["import torch\nkept = torch.ones(3, requires_grad=True)", "y = kept * 2"]
RUNAWAY = "{name} = 0\nwhile True:\n    {name} += 1"
BOUND_S = 1.0   # generous for a loaded machine: the app stops a run well within 200 ms


def visible_errors(page):
    return [text_of(e) for e in page.locator(".gv-error").all() if e.is_visible()]


def status(page):
    return text_of(page.locator(".gv-status").first)


def start_runaway(page, name):
    page.evaluate(JS_SET_CODE, [1, RUNAWAY.format(name=name)])
    deadline = time.time() + 20
    while "running" not in status(page):
        assert time.time() < deadline, f"the loop never showed as running: {status(page)!r}"
        time.sleep(0.02)
    time.sleep(0.5)   # well inside the loop


def test_stop_and_an_edit_end_a_runaway_cell_at_once(page, server):
    watch = Watch(page)
    open_notebook(page, server, CELLS)
    assert "mul" in nodes(page)["label"]

    # Stop
    start_runaway(page, "n")
    t0 = time.time()
    page.locator(".gv-stop button:not([disabled])").click(timeout=2_000)
    while not any("Stopped by request" in t for t in visible_errors(page)):
        assert time.time() - t0 < BOUND_S, f"not stopped after {BOUND_S} s: {status(page)!r}"
        time.sleep(0.02)
    took_stop = time.time() - t0
    assert "running" not in status(page) and status(page).startswith("Stopped at cell [2] by request.")

    # a fix typed while the loop runs
    start_runaway(page, "m")
    t0 = time.time()
    page.evaluate(JS_SET_CODE, [1, "z = (kept * 3).sum()"])
    while "sum" not in (nodes(page) or {"label": []})["label"]:
        assert time.time() - t0 < BOUND_S, f"the fix not drawn after {BOUND_S} s: {status(page)!r}"
        time.sleep(0.02)
    took_fix = time.time() - t0
    assert wait_idle(page).startswith("Ran ")        # the status line speaks of the new run only
    assert not visible_errors(page)                  # `kept` survived: the fix ran without an error
    print(f"stop shown after {took_stop * 1000:.0f} ms, the fix drawn after {took_fix * 1000:.0f} ms")
    watch.check("stopping a runaway cell")
