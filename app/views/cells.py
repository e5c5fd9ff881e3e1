"""The notebook side: code cells with their output and errors."""
from __future__ import annotations

import html

import panel as pn
import param
from panel.reactive import ReactiveHTML
from panel.viewable import Viewer

from ..state import AppState, Cell

__all__ = ["CellEditor", "CellView", "CellsView"]

LINE_PX = 17
MIN_LINES, MAX_LINES = 3, 40

CELL_CSS = """
.stale { opacity: 0.45; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 12px; line-height: 1.35; }
"""
ERROR_CSS = CELL_CSS + """
:host { background: #fff1f0; border-left: 3px solid #d4380d; padding: 4px 8px; color: #a8071a; }
"""
OUTPUT_CSS = CELL_CSS + """
:host { background: #fafafa; border-left: 3px solid #d9d9d9; padding: 4px 8px; max-height: 220px;
        overflow: auto; }
"""
EDITOR_CSS = """
:host { border: 1px solid #d9d9d9; border-radius: 4px; }
.gv-player-line { position: absolute; background: rgba(249, 115, 22, 0.2); border-left: 3px solid #f97316; }
"""
STATUS_TEXT = {
    "new": "", "stale": "stale: will re-run", "running": "running…", "done": "✓",
    "error": "error", "skipped": "not run: a cell above failed",
}


def use_bundled_ace():
    """Load the Ace editor from the copy Panel ships instead of a CDN, so the page works offline.

    Panel 1.7.5 bundles Ace under `aceplot/ajax/libs/1.40.1/` but asks for it by its CDN path, which
    does not match the bundle; naming the bundled path makes it serve its own copy.
    """
    from panel.config import config
    from panel.io.resources import BUNDLE_DIR
    from panel.models.ace import AcePlot
    folder = "aceplot/ajax/libs/1.40.1"
    names = ("ace.js", "ext-language_tools.js", "ext-modelist.js")
    if all((BUNDLE_DIR / folder / n).is_file() for n in names):
        AcePlot.__javascript_raw__ = [f"{config.npm_cdn}/ajax/libs/1.40.1/{n}" for n in names] + [NO_PYTHON_SNIPPETS]


# Panel's editor turns on Ace's snippets, and Ace then fetches snippets/python.js, which the bundle
# does not have (a 404 on every page load): an empty snippets module, defined right after Ace loads,
# answers that request without the network.
NO_PYTHON_SNIPPETS = ("data:text/javascript,"
                      "ace.define('ace/snippets/python',['require','exports','module'],"
                      "function(r,e,m){e.snippetText='';e.scope='python';});")


def _editor_height(code: str) -> int:
    lines = min(max(code.count("\n") + 1, MIN_LINES), MAX_LINES)
    return lines * LINE_PX + 12


class CellHeader(ReactiveHTML):
    """A cell's number, status and buttons, as one element (five widgets would be five models to lay out)."""

    number = param.Integer(default=1)
    status = param.String(default="new", doc="The cell's status (styles its text: st-running, st-error, ...).")
    status_text = param.String(default="", doc="The cell's status as plain text.")

    # (the status is written by a script, not as template content: content is a child model, and a new
    # child model on every run makes the document recount all its models, ~40 ms a run, and the page
    # build a new view)
    _template = """
<div id="head" class="gv-head">
  <span class="num">[${number}]</span>
  <span id="st" class="st"></span>
  <span class="tools">
    <button id="run" title="Run this cell and the ones below (Shift+Enter)" onclick="${_run}">▶</button>
    <button id="up" title="Move up" onclick="${_up}">↑</button>
    <button id="down" title="Move down" onclick="${_down}">↓</button>
    <button id="add" title="Add a cell below" onclick="${_add}">+</button>
    <button id="del" title="Delete this cell" onclick="${_delete}">✕</button>
  </span>
</div>"""

    _stylesheets = ["""
.gv-head { display: flex; align-items: center; gap: 8px; font: 12px system-ui, sans-serif; color: #555;
           height: 28px; }
.num { font-weight: bold; color: #333; }
.st { flex: 1; }
.st-running { color: #1677ff; } .st-error { color: #cf1322; } .st-stale, .st-skipped { color: #999; }
.st-done { color: #389e0d; }
.tools button { border: 1px solid transparent; background: none; border-radius: 4px; width: 28px; height: 24px;
                cursor: pointer; color: #555; font-size: 13px; }
.tools button:hover { background: #f0f0f0; border-color: #d9d9d9; }
"""]

    _scripts = {
        "render": "st.className = 'st st-' + data.status; st.textContent = data.status_text",
        "status": "st.className = 'st st-' + data.status",
        "status_text": "st.textContent = data.status_text",
    }

    def __init__(self, on_action=None, **params):
        super().__init__(**params)
        self.on_action = on_action

    def _act(self, what):
        if self.on_action is not None:
            self.on_action(what)

    def _run(self, event=None):
        self._act("run")

    def _up(self, event=None):
        self._act("up")

    def _down(self, event=None):
        self._act("down")

    def _add(self, event=None):
        self._act("add")

    def _delete(self, event=None):
        self._act("delete")


class CellEditor(pn.widgets.CodeEditor):
    """Panel's code editor, handing each change of the typed text over at once: Panel otherwise waits
    50 ms to combine a widget's changes from the page, which every keystroke-to-graph wait would add
    to the app's own pause in typing (see Controller.edit)."""

    _priority_changes = ["code_input"]


class CellView(Viewer):
    """One cell: a header (number, status, buttons), its editor, printed output and error."""

    cell = param.ClassSelector(class_=Cell)
    number = param.Integer(default=1)

    def __init__(self, cell: Cell, actions, **params):
        super().__init__(cell=cell, **params)
        self.actions = actions
        self.editor = CellEditor(
            value=cell.code, language="python", on_keyup=False, sizing_mode="stretch_width",
            height=_editor_height(cell.code), css_classes=["gv-cell", f"gv-cell-{cell.id}"],
            stylesheets=[EDITOR_CSS], margin=(2, 5), print_margin=False, soft_tabs=True)
        self.editor.param.watch(self._typed, "value_input")
        self.output = pn.pane.HTML("", css_classes=["gv-output"], stylesheets=[OUTPUT_CSS],
                                   sizing_mode="stretch_width", visible=False, margin=(2, 5))
        self.error = pn.pane.HTML("", css_classes=["gv-error"], stylesheets=[ERROR_CSS],
                                  sizing_mode="stretch_width", visible=False, margin=(2, 5))
        handlers = {
            "run": lambda: actions.run_cell(cell.id), "up": lambda: actions.move_cell(cell.id, -1),
            "down": lambda: actions.move_cell(cell.id, +1), "add": lambda: actions.add_cell(cell.id),
            "delete": lambda: actions.delete_cell(cell.id)}
        self.header = CellHeader(on_action=lambda what: handlers[what](), number=self.number,
                                 sizing_mode="stretch_width", height=28, margin=(4, 5, 0, 5))
        self._layout = pn.Column(
            self.header, self.editor, self.output, self.error,
            sizing_mode="stretch_width", margin=(4, 0, 8, 0), css_classes=["gv-cell-box"])
        cell.param.watch(self._refresh, ["output", "error", "status", "error_line", "duration", "code"])
        self.param.watch(self._refresh, "number")
        self._refresh()

    def __panel__(self):
        return self._layout

    def _typed(self, event):
        code = event.new
        height = _editor_height(code)
        if height != self.editor.height:
            self.editor.height = height
        self.actions.edit(self.cell.id, code)

    def _refresh(self, *events):
        cell = self.cell
        if any(e.name == "code" for e in events) and self.editor.value_input != cell.code:
            self.editor.value = cell.code  # set from outside (a loaded notebook)
            self.editor.height = _editor_height(cell.code)
        # output from an earlier run: the cell changed, is running, or did not run this time
        stale = cell.status in ("stale", "running", "skipped")
        status = STATUS_TEXT.get(cell.status, "")
        if cell.status == "done" and cell.duration:
            status = f"✓ {cell.duration * 1000:.0f} ms"
        self.header.param.update(number=self.number, status=cell.status, status_text=status)
        # stale output is dimmed inside the pane (a class on the pane itself would re-lay out the page)
        pre = "<pre class='stale'>" if stale else "<pre>"
        output = f"{pre}{html.escape(cell.output)}</pre>" if cell.output else ""
        error = f"{pre}{html.escape(cell.error)}</pre>" if cell.error else ""
        if output != self.output.object:
            self.output.object = output
        if bool(output) != self.output.visible:
            self.output.visible = bool(output)
        if error != self.error.object:
            self.error.object = error
        if bool(error) != self.error.visible:
            self.error.visible = bool(error)
        annotations = []
        if cell.error and cell.error_line and not stale:
            last = cell.error.strip().splitlines()[-1] if cell.error.strip() else cell.error
            annotations = [{"row": cell.error_line - 1, "column": max((cell.error_col or 1) - 1, 0),
                            "text": last, "type": "error"}]
        if annotations != self.editor.annotations:
            self.editor.annotations = annotations


class CellsView(Viewer):
    """All cells, top to bottom, with "add cell" and "run all" below them."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, actions, **params):
        super().__init__(state=state, **params)
        self.actions = actions
        self._views: dict[str, CellView] = {}
        add = pn.widgets.Button(name="+ Add cell", button_type="default", margin=(4, 5))
        add.on_click(lambda e: actions.add_cell(None))
        run = pn.widgets.Button(name="▶▶ Run all", button_type="primary", margin=(4, 5))
        run.on_click(lambda e: actions.run_all())
        self.column = pn.Column(sizing_mode="stretch_width", margin=0)
        self._layout = pn.Column(self.column, pn.Row(add, run, margin=0), sizing_mode="stretch_width", margin=0)
        state.param.watch(self._sync, "cells")
        self._sync()

    def __panel__(self):
        return self._layout

    def view(self, cell_id: str) -> CellView:
        return self._views[cell_id]

    def _sync(self, *events):
        views = []
        for i, cell in enumerate(self.state.cells):
            v = self._views.get(cell.id)
            if v is None:
                v = self._views[cell.id] = CellView(cell, self.actions, number=i + 1)
            else:
                v.number = i + 1
            views.append(v)
        alive = {c.id for c in self.state.cells}
        for cid in list(self._views):
            if cid not in alive:
                del self._views[cid]
        self.column.objects = views
