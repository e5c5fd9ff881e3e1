"""The player on a training loop, in the app in a real headless Chromium: after the step's forward ops
come its optimizer.step() updates (the parameter ringed, its value before → after), the player
follows the step slider, and the line of the current event is marked in its cell's editor (an Ace
marker), following the player and cleared when it is reset. Any page error or console error fails.

Screenshots go to $GRADVIEW_SCREENSHOTS when set (else a pytest temporary folder).
"""
from __future__ import annotations

import os

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")

from tests.browser.test_backward_view import open_app, player_when, server  # noqa: E402,F401

TRAIN = ("import torch\n"
         "w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))\n"
         "opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)\n"
         "for i in range(3):\n"
         "    opt.zero_grad()\n"
         "    loss = ((w * 3 - 1) ** 2).sum()\n"
         "    loss.backward()\n"
         "    opt.step()\n")
STEP_LINE = 8

# the rows of the player's line markers in the cell editors (Ace markers of class gv-player-line)
JS_MARKED = """() => {
  const rows = [];
  for (const v of Bokeh.index.query((v) => v._editor != null && v.model.css_classes != null
                                         && v.model.css_classes.includes('gv-cell'))) {
    for (const m of Object.values(v._editor.session.getMarkers(false))) {
      if (m.clazz === 'gv-player-line') rows.push(m.range.start.row + 1);
    }
  }
  return rows;
}"""

JS_SET = "([name, value]) => { Bokeh.documents[0].get_model_by_name(name).value = value; }"


def marked(page, want, timeout=10):
    deadline = timeout * 10
    rows = page.evaluate(JS_MARKED)
    while rows != want and deadline > 0:
        page.wait_for_timeout(100)
        deadline -= 1
        rows = page.evaluate(JS_MARKED)
    return rows


def _updates(page):
    return page.evaluate("() => { const d = Bokeh.documents[0].get_model_by_name('graph-player-updates').data;"
                         " return {text: [...d.text], target: [...d.target], line: [...d.line]}; }")


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_training_step_ends_with_its_updates_and_the_line_follows(browser, server, size, tmp_path):
    folder = os.environ.get("GRADVIEW_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    context, page, watch = open_app(browser, server, size, [TRAIN])
    try:
        page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('graph-player-updates').data"
                               ".target.length === 1", timeout=30000)
        ups = _updates(page)
        assert len(ups["target"]) == 1 and ups["target"][0].endswith(":param:w") and ups["line"] == [STEP_LINE]
        assert "SGD.step() updates w" in ups["text"][0] and "→" in ups["text"][0]
        p = player_when(page, "graph", lambda p: p["end"] > 1)
        end = p["end"]
        n_nodes = page.evaluate("() => Bokeh.documents[0].get_model_by_name('graph-nodes').data.id.length")
        assert end == n_nodes + 1  # the forward ops, then the one update
        # play the step to its end: the last event is the update, w ringed, nothing veiled
        page.locator("button", has_text="⇤").filter(visible=True).first.click()
        page.locator("button", has_text="▶").filter(visible=True).first.click()
        page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('graph-player').value === "
                               f"{end}", timeout=30000)
        page.evaluate(JS_SET, ["graph-player", end - 1])
        p = player_when(page, "graph", lambda p: p["value"] == end - 1 and "SGD" in p["label"])
        assert f"event {end}/{end}" in p["label"] and "<b>w</b>" in p["label"] and "→" in p["label"]
        assert p["current"] == 1 and p["pending"] == 0
        ringed = page.evaluate("(w) => { const d = Bokeh.documents[0]; const c = d.get_model_by_name("
                               "'graph-player-current').data; const n = d.get_model_by_name('graph-nodes').data;"
                               " const i = [...n.id].indexOf(w); return [c.x[0], i >= 0 ? n.x[i] : null]; }",
                               ups["target"][0])
        assert ringed[0] == ringed[1]
        assert marked(page, [STEP_LINE]) == [STEP_LINE]
        page.screenshot(path=os.path.join(folder, f"player-update-{size[0]}.png"))
        # back one event: the loss's sum, on its own line; the marker follows
        page.evaluate(JS_SET, ["graph-player", end - 2])
        p = player_when(page, "graph", lambda p: p["value"] == end - 2)
        line = int(p["label"].split("line ")[1].split()[0].rstrip("<"))
        assert line == 6 and marked(page, [6]) == [6]
        # early in the step: the ops not run yet veiled, the mark on the line of the op shown
        page.evaluate(JS_SET, ["graph-player", 2])
        p = player_when(page, "graph", lambda p: p["value"] == 2 and p["pending"] > 0)
        assert p["pending"] == n_nodes - 3 and marked(page, [6]) == [6]
        page.screenshot(path=os.path.join(folder, f"player-veiled-{size[0]}.png"))
        # the whole graph again: no line marked
        page.evaluate(JS_SET, ["graph-player", end])
        assert marked(page, []) == []
        # the step slider: another step's updates start where the previous step's ended
        last_text = ups["text"][0]
        page.evaluate("""() => { for (const v of Bokeh.index.query((v) => v.model.type === 'Slider'
                                   && !String(v.model.name || '').includes('player') && v.model.end === 2)) {
                                   v.model.value = 1; v.model.value_throttled = 1; } }""")
        page.wait_for_function(f"() => Bokeh.documents[0].get_model_by_name('graph-player-updates').data"
                               f".text[0] !== {last_text!r}", timeout=30000)
        after_step_1 = _updates(page)["text"][0].split(": ", 1)[1].split(" → ")[1]
        assert after_step_1 == last_text.split(": ", 1)[1].split(" → ")[0]
        p = player_when(page, "graph", lambda p: p["value"] == p["end"])
        assert p["value"] == p["end"] == end  # the player is reset on the step chosen
        page.evaluate(JS_SET, ["graph-player", end - 1])
        assert marked(page, [STEP_LINE]) == [STEP_LINE]
        # editing the code clears the mark
        page.locator(".gv-cell .ace_content").first.click()
        page.keyboard.press("End")
        page.keyboard.type(" ")
        assert marked(page, []) == []
        watch.check("playing a training step")
    finally:
        context.close()


def test_an_exported_training_page_plays_each_steps_updates(browser, tmp_path):
    import linecache

    import gradview.engine as torch
    from gradview.engine import graph, viz
    from tests.browser.test_page_errors import Watch
    # (the engine given as `torch`: the line numbers stay those of the cell)
    program = TRAIN.replace("import torch\n", "# the engine as torch\n").replace(
        "SGD([w], lr=0.1, momentum=0.9)", "Adam([w], lr=0.1)")
    linecache.cache["<train>"] = (len(program), None, program.splitlines(True), "<train>")
    with graph.capture() as g:
        exec(compile(program, "<train>", "exec"), {"torch": torch})
    path = tmp_path / "train.html"
    viz.save_html(g, path, title="training")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    watch = Watch(page)
    try:
        page.goto(path.as_uri())
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                               "Bokeh.documents[0].get_model_by_name('graph-player') !== null")
        last = _updates(page)["text"]
        assert len(last) == 1 and last[0].startswith("Adam.step() updates w: ")
        end = player_when(page, "graph", lambda p: p["end"] > 1)["end"]
        page.evaluate(JS_SET, ["graph-player", end - 1])
        p = player_when(page, "graph", lambda p: p["value"] == end - 1 and "Adam" in p["label"])
        assert "<b>w</b>" in p["label"] and f"line {STEP_LINE}" in p["label"] and "opt.step()" in p["label"]
        assert p["current"] == 1
        page.screenshot(path=str(tmp_path / "exported-update.png"))
        # another kept step: its own update, the player reset over its events
        page.evaluate(JS_SET, ["graph-step", 1])
        page.wait_for_function(f"() => Bokeh.documents[0].get_model_by_name('graph-player-updates').data.text[0]"
                               f" !== {last[0]!r}", timeout=15000)
        step_1 = _updates(page)["text"][0]
        assert step_1.split(" → ")[1] == last[0].split(": ", 1)[1].split(" → ")[0]
        p = player_when(page, "graph", lambda p: p["value"] == p["end"])
        assert p["value"] == p["end"] == end and p["current"] == 0
        watch.check("playing an exported training page")
    finally:
        context.close()
