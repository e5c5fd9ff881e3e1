""""Why this gradient?" and the keys on exported pages, in a real headless Chromium: a saved page
answers from the explanations it holds (the classic example reads 4.5), and on a page with two
embedded graphs each key goes to the graph under the pointer (else the one last clicked), never
to both. Any page error or console error fails. Screenshots (1280x800) go to
$GRADVIEW_SCREENSHOTS when set, else to a pytest temporary folder.
"""
from __future__ import annotations

import linecache
import os
import re

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
pytest.importorskip("bokeh", reason="bokeh is not installed")

import gradview.engine as torch  # noqa: E402
from gradview.engine import graph, viz  # noqa: E402

WALK = """\
x = torch.ones(2, 2, requires_grad=True)
y = x + 2
z = y * y * 3
out = z.mean()
out.backward()
"""

JS_LABELS = "(k) => [...Bokeh.documents[k].get_model_by_name('graph-nodes').data.label]"
JS_SELECT = "([k, i]) => { Bokeh.documents[k].get_model_by_name('graph-nodes').selected.indices = [i]; }"


def walk_graph():
    linecache.cache["<walk>"] = (len(WALK), None, WALK.splitlines(True), "<walk>")
    with graph.capture() as g:
        exec(compile(WALK, "<walk>", "exec"), {"torch": torch})
    return g


def shots(tmp_path):
    folder = os.environ.get("GRADVIEW_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    return folder


def open_page(browser, path, documents=1):
    """(page, problems): problems collects page errors, console errors and any request that would
    leave the machine."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    problems = []

    def route(r):
        url = r.request.url
        if url.startswith(("file:", "data:", "blob:")):
            r.continue_()
        else:
            problems.append(f"request: {url}")
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto("file://" + str(path))
    page.wait_for_function(f"""() => window.Bokeh && Bokeh.documents.length === {documents} &&
        Bokeh.documents.every((d) => d.get_model_by_name('graph-nodes') !== null)""")
    page.wait_for_function(f"() => window.gvGraphs && window.gvGraphs.list.length === {documents}")
    return page, problems


def test_why_this_gradient_on_a_saved_page_reads_4_5(browser, tmp_path):
    g = walk_graph()
    path = tmp_path / "walk.html"
    viz.save_html(g, path, title="walk")
    page, problems = open_page(browser, path)
    try:
        button = page.get_by_role("button", name="why this gradient?")
        assert button.is_disabled()  # nothing chosen yet
        labels = page.evaluate(JS_LABELS, 0)
        page.evaluate(JS_SELECT, [0, labels.index("x")])
        button.click()
        total = page.locator(".gv-explain-total-value")
        total.wait_for(state="visible")
        assert total.text_content() == "[[4.5, 4.5], [4.5, 4.5]]"
        assert [float(v) for v in re.findall(r"\d+(?:\.\d+)?", total.text_content())] == [4.5] * 4
        assert page.locator(".gv-explain-path").count() == 2
        assert "2 gradients add up" in page.locator(".gv-explain-join").first.text_content()
        page.screenshot(path=os.path.join(shots(tmp_path), "export-why-1280.png"))
        # the backward view: AccumulateGrad stands for x, and gives the same answer
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("b")
        page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('graph-nodes').data.label"
                               ".includes('AccumulateGrad')")
        assert page.locator(".gv-explain-total-value").count() == 0  # a new view clears the answer
        back = page.evaluate(JS_LABELS, 0)
        page.evaluate(JS_SELECT, [0, back.index("AccumulateGrad")])
        button.click()
        assert page.locator(".gv-explain-total-value").text_content() == "[[4.5, 4.5], [4.5, 4.5]]"
        page.screenshot(path=os.path.join(shots(tmp_path), "export-why-backward-1280.png"))
        assert problems == []
    finally:
        page.close()


def two_graph_page(tmp_path):
    """A documentation-like page: BokehJS loaded once, two graphs embedded as fragments, text between."""
    from gradview.engine.viz import bokehjs_files, fragment
    g = walk_graph()
    first = fragment(g, title="first graph", width=700, height=260)
    second = fragment(g, title="second graph", width=700, height=260)
    head = "\n".join(f'<script src="file://{p}"></script>' for _, p in bokehjs_files())
    body = (f'<h1>Two graphs</h1><p>Some text. <input id="notes" placeholder="notes"></p>'
            f'<div id="g0">{first[1]}{first[0]}</div><p>Between the graphs.</p>'
            f'<div id="g1">{second[1]}{second[0]}</div><p>After.</p>')
    path = tmp_path / "two.html"
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>",
                    encoding="utf-8")
    return path


JS_VIEWS = """() => Bokeh.documents.map((d) => { const s = d.get_model_by_name('graph-view');
  return s.labels[s.active]; })"""


def test_keys_go_to_the_graph_the_pointer_is_on(browser, tmp_path):
    path = two_graph_page(tmp_path)
    page, problems = open_page(browser, path, documents=2)
    try:
        # which document draws which graph: the order of the page is not the order of Bokeh.documents
        order = page.evaluate("""() => Bokeh.documents.map((d) => {
            const el = document.querySelector(`[data-root-id="${d.roots()[0].id}"]`);
            return el.closest('#g0') ? 0 : 1; })""")
        doc = {order[k]: k for k in range(2)}

        def views():
            got = page.evaluate(JS_VIEWS)
            return [got[doc[0]], got[doc[1]]]

        def hover(k):
            page.locator(f"#g{k}").scroll_into_view_if_needed()
            box = page.locator(f"#g{k}").bounding_box()
            page.mouse.move(box["x"] + 60, box["y"] + 60)

        def settle():
            page.wait_for_timeout(250)

        assert views() == ["forward", "forward"]
        hover(1)
        page.keyboard.press("b")
        settle()
        assert views() == ["forward", "backward"]  # the graph under the pointer, only
        page.screenshot(path=os.path.join(shots(tmp_path), "two-graphs-second-backward-1280.png"))
        hover(0)
        page.keyboard.press("v")
        settle()
        assert views() == ["both", "backward"]
        # the player's arrow keys too: only the hovered graph's player moves
        players = "() => Bokeh.documents.map((d) => d.get_model_by_name('graph-player').value)"
        before = page.evaluate(players)
        page.keyboard.press("ArrowLeft")
        settle()
        after = page.evaluate(players)
        assert after[doc[0]] == before[doc[0]] - 1 and after[doc[1]] == before[doc[1]]
        page.screenshot(path=os.path.join(shots(tmp_path), "two-graphs-first-both-1280.png"))
        # off both graphs: the last one clicked answers (not the last one passed over)
        hover(1)
        box = page.locator("#g1").bounding_box()
        page.mouse.click(box["x"] + 600, box["y"] + 12)  # on its title line
        hover(0)
        page.get_by_text("Between the graphs.").hover()
        page.keyboard.press("f")
        settle()
        assert views() == ["both", "forward"]
        # typing in the page's own input, or in a graph's search box (in a shadow root), is not a key
        page.locator("#notes").click()
        page.keyboard.type("bv")
        settle()
        assert views() == ["both", "forward"] and page.locator("#notes").input_value() == "bv"
        search = page.locator("#g1 input[placeholder^='find a node']")
        search.click()
        search.press_sequentially("bv")
        settle()
        assert views() == ["both", "forward"] and search.input_value() == "bv"
        search.fill("")
        # "why this gradient?" in the second graph answers there only
        page.evaluate(JS_SELECT, [doc[1], page.evaluate(JS_LABELS, doc[1]).index("x")])
        page.locator("#g1").get_by_role("button", name="why this gradient?").click()
        total = page.locator("#g1 .gv-explain-total-value")
        total.wait_for(state="visible")
        assert total.text_content() == "[[4.5, 4.5], [4.5, 4.5]]"
        assert page.locator("#g0 .gv-explain-total-value").count() == 0
        total.scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(shots(tmp_path), "two-graphs-why-1280.png"))
        assert problems == []
    finally:
        page.close()
