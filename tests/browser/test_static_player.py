"""The player on the static site (the app in the browser's Python), offline: a training step typed
into a cell ends with its optimizer update, and the line of the player's current event is marked
in the cell's editor, following the player. No page or console error."""
from __future__ import annotations

import pytest

pytest.importorskip("panel", reason="panel is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")

from tests.browser.test_player_updates import JS_MARKED  # noqa: E402
from tests.browser.test_static_build import (offline, pyodide_dist, site_url, type_at_end,  # noqa: E402,F401
                                             wait_nodes, www)

JS_PLAYER = """() => { const d = gradview.jsdoc; const s = d.get_model_by_name('graph-player');
  const u = d.get_model_by_name('graph-player-updates').data;
  return {value: s.value, end: s.end, label: d.get_model_by_name('graph-player-label').text, updates: [...u.text]}; }"""


def _until(page, js, ready, arg=None, timeout_ms=30_000):
    waited = 0
    value = page.evaluate(js, arg) if arg is not None else page.evaluate(js)
    while not ready(value) and waited < timeout_ms:
        page.wait_for_timeout(100)
        waited += 100
        value = page.evaluate(js, arg) if arg is not None else page.evaluate(js)
    return value


def test_static_site_player_updates_and_marks_the_line(offline, site_url):
    url, _ = site_url
    page = offline.page
    offline.boot(url)
    wait_nodes(page, lambda n: n > 0)
    last = page.locator(".gv-cell").count() - 1
    type_at_end(page, last, "\nq = torch.ones(2, requires_grad=True)\nopt = torch.optim.SGD([q], lr=0.5)\n"
                            "(q * q).sum().backward(); opt.step()")
    p = _until(page, JS_PLAYER, lambda p: any("SGD.step() updates q" in t for t in p["updates"]))
    assert any("SGD.step() updates q: [1, 1] → [0, 0]" in t for t in p["updates"]), p
    # the update is the step's last event; its line is marked in the cell
    page.evaluate("() => { const s = gradview.jsdoc.get_model_by_name('graph-player'); s.value = s.end - 1; }")
    p = _until(page, JS_PLAYER, lambda p: "SGD" in p["label"])
    assert "updates <b>q</b>" in p["label"], p
    line = int(p["label"].split("line ")[1].split()[0].rstrip("<"))
    rows = _until(page, JS_MARKED, lambda r: r == [line])
    assert rows == [line]
    # the first event (a node of the first cell): the mark moves there; the whole graph clears it
    page.evaluate("() => { gradview.jsdoc.get_model_by_name('graph-player').value = 0; }")
    p = _until(page, JS_PLAYER, lambda p: p["label"].startswith("event 1/"))
    if "line " in p["label"]:
        first = int(p["label"].split("line ")[1].split()[0].rstrip("<"))
        assert _until(page, JS_MARKED, lambda r: r == [first]) == [first]
    page.evaluate("() => { const s = gradview.jsdoc.get_model_by_name('graph-player'); s.value = s.end; }")
    assert _until(page, JS_MARKED, lambda r: r == []) == []
    problems = [c for c in offline.console if c.startswith(("error", "pageerror"))]
    assert problems == [], problems
    assert offline.left == [], f"requests left the machine: {offline.left}"
