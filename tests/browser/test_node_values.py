"""Values and gradients on the nodes, in a real headless Chromium: on an exported page (the toggle,
the key n, the step slider and the view switch keep the numbers true to the step shown) and in the
app (the toggle and the key n, forward and backward views). The numbers are read from the
`graph-nodes` source and from the labels source the drawing paints; any uncaught page error or
console error fails. Screenshots go to $GRADVIEW_SCREENSHOTS when set (else a temporary folder).
"""
from __future__ import annotations

import os
import time

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")

from gradview.engine.viz.bokeh_view import node_columns, view_step  # noqa: E402
from tests.browser.test_backward_view import WALK, open_app, press, server  # noqa: E402,F401
from tests.browser.test_export_html import captured  # noqa: E402
from tests.browser.test_static_build import offline, pyodide_dist, site_url, www  # noqa: E402,F401

JS_VALUES = """(name) => { const d = Bokeh.documents[0];
  const n = d.get_model_by_name(name + '-nodes').data, l = d.get_model_by_name(name + '-labels').data;
  const t = d.get_model_by_name('graph-values');
  return {id: [...n.id], label: [...n.label], values: [...n.values], h: [...n.h], drawn: [...l.values],
          drawn_label: [...l.label], active: t ? t.active : null}; }"""


def joined(text):
    """A node's lines with wrapped ones joined back ("[[4.5, 4.5]," / "  [4.5, 4.5]]")."""
    return text.replace(",\n  ", ", ")


def folder(tmp_path):
    out = os.environ.get("GRADVIEW_SCREENSHOTS") or str(tmp_path)
    os.makedirs(out, exist_ok=True)
    return out


def values_when(page, name, ready, timeout=20):
    deadline = time.time() + timeout
    while True:
        v = page.evaluate(JS_VALUES, name)
        if ready(v) or time.time() > deadline:
            return v
        time.sleep(0.1)


def drawn_matches(v):
    """Every label painted carries its node's values (the labels source holds the nodes in view)."""
    by_label = {}
    for label, values in zip(v["label"], v["values"]):
        by_label.setdefault(label, set()).add(values)
    return len(v["drawn"]) == len(v["id"]) and all(d in by_label.get(lab, ()) for lab, d in
                                                   zip(v["drawn_label"], v["drawn"]))


def watched_page(browser, size):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    problems = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    return page, problems


def test_exported_page_values_toggle_key_step_slider_and_views(browser, tmp_path):
    g, _ = captured(tmp_path)
    path = tmp_path / "values.html"
    from gradview.engine import viz
    viz.save_html(g, path, title="training")
    steps = [s.to_dict() for s in g.steps if s.to_dict().get("nodes")]
    page, problems = watched_page(browser, (1280, 800))
    try:
        page.goto("file://" + str(path))
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                               "Bokeh.documents[0].get_model_by_name('graph-values') != null")
        v = values_when(page, "graph", lambda v: len(v["drawn"]) > 0)
        assert v["active"] is False and set(v["values"]) == {""} and set(v["drawn"]) == {""}
        off_h = v["h"]
        page.locator("body").press("n")
        want = node_columns(steps[-1], values=True)[0]
        v = values_when(page, "graph", lambda v: v["active"] and drawn_matches(v) and v["values"][0])
        assert v["active"] is True
        assert dict(zip(v["id"], v["values"])) == dict(zip(want["id"], want["values"]))
        assert drawn_matches(v) and all(t for t in v["drawn"])
        assert all(d.startswith("data ") or d.startswith("grad ") for d in v["drawn"])
        assert min(v["h"]) > max(off_h)  # the nodes grew to hold the lines
        page.screenshot(path=os.path.join(folder(tmp_path), "export-values-1280.png"))
        # another step: its own numbers
        page.evaluate("() => { Bokeh.documents[0].get_model_by_name('graph-step').value = 0; }")
        want0 = node_columns(steps[0], values=True)[0]
        v = values_when(page, "graph", lambda v: dict(zip(v["id"], v["values"])) == dict(zip(want0["id"], want0["values"])))
        assert dict(zip(v["id"], v["values"])) == dict(zip(want0["id"], want0["values"]))
        assert want0["values"] != want["values"]
        assert values_when(page, "graph", drawn_matches) and drawn_matches(page.evaluate(JS_VALUES, "graph"))
        # the backward view of that step: each node the gradient it received
        page.locator("body").press("b")
        wantb = node_columns(view_step(steps[0], "backward"), values=True)[0]
        v = values_when(page, "graph", lambda v: v["values"] == list(wantb["values"]))
        assert v["values"] == list(wantb["values"]) and all(t.startswith("grad ") for t in v["values"] if t)
        # off again, by the toggle itself
        page.get_by_role("button", name="values on nodes").click()
        v = values_when(page, "graph", lambda v: not v["active"] and set(v["values"]) == {""})
        assert set(v["values"]) == {""} and set(v["drawn"]) <= {""}
        assert not problems, "\n".join(problems[:10])
    finally:
        page.close()


def test_exported_page_starts_with_values_when_asked(browser, tmp_path):
    import gradview.engine as torch
    from gradview.engine import graph, viz
    with graph.capture() as g:
        x = torch.ones(2, 2, requires_grad=True)
        ((x + 2) * (x + 2) * 3).mean().backward()
    path = tmp_path / "classic.html"
    viz.save_html(g, path, values=True)
    page, problems = watched_page(browser, (1280, 800))
    try:
        page.goto("file://" + str(path))
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                               "Bokeh.documents[0].get_model_by_name('graph-values') != null")
        v = values_when(page, "graph", lambda v: len(v["drawn"]) == len(v["id"]) and v["drawn"][0])
        assert v["active"] is True
        values = {lab: joined(t) for lab, t in zip(v["label"], v["values"])}
        assert values["x"] == "data [[1, 1], [1, 1]]\ngrad [[4.5, 4.5], [4.5, 4.5]]"
        assert values["mean"] == "data 27\ngrad 1"
        assert drawn_matches(v)
        page.screenshot(path=os.path.join(folder(tmp_path), "export-classic-values-1280.png"))
        assert not problems, "\n".join(problems[:10])
    finally:
        page.close()


def test_static_site_values_toggle(offline, site_url):
    """The same app code under Pyodide: the toggle writes the numbers on the walkthrough's nodes."""
    url, _ = site_url
    offline.boot(url)
    page = offline.page
    read = """() => { const m = gradview.jsdoc.get_model_by_name('graph-nodes');
      return m ? {label: [...m.data.label], values: [...m.data.values]} : null; }"""
    deadline = time.time() + 120
    while not ((page.evaluate(read) or {}).get("label")):
        assert time.time() < deadline, "the walkthrough never drew its graph"
        time.sleep(0.2)
    assert set(page.evaluate(read)["values"]) == {""}
    page.locator(".gv-values button").first.click()
    deadline = time.time() + 60
    while not any(page.evaluate(read)["values"]):
        assert time.time() < deadline, "no values on the nodes"
        time.sleep(0.2)
    got = page.evaluate(read)
    assert all(t.startswith("data ") for t in got["values"])
    assert not [c for c in offline.console if c.startswith(("error", "pageerror"))], offline.console[-10:]
    assert not offline.left
