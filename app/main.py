"""gradview's page: code cells on the left, the live graph and the inspector on the right.

`panel serve app/main.py` serves it; each browser tab gets its own state, runner and namespace.
"""
from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a script by `panel serve app/main.py`: from a checkout, make
    _root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # its packages importable
    if os.path.isfile(os.path.join(_root, "gradview", "__init__.py")):
        sys.path.insert(0, _root)

import panel as pn  # noqa: E402
import param  # noqa: E402

from gradview.app.capacity import ServerFull  # noqa: E402
from gradview.app.controller import Controller, DocScheduler, SyncScheduler  # noqa: E402
from gradview.app.notebook import decode_share, parse_percent, share_url  # noqa: E402
from gradview.app.runner import Runner, make_runner  # noqa: E402
from gradview.app.state import AppState  # noqa: E402
from gradview.app.views.bridge import EditorBridge  # noqa: E402
from gradview.app.views.cells import CellsView, use_bundled_ace  # noqa: E402
from gradview.app.views.controls import ControlsPanel, list_examples  # noqa: E402
from gradview.app.views.graph import GraphPanel  # noqa: E402
from gradview.app.views.inspector import InspectorPanel  # noqa: E402

__all__ = ["GradviewApp", "ServerFullPage", "build_app", "initial_cells"]

STARTER = [
    "import torch\n\nx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\nw = torch.tensor(0.5, requires_grad=True)",
    "y = (w * x).relu()\nloss = (y ** 2).sum()\nloss.backward()\nprint(loss, x.grad)",
]

PAGE_CSS = """
.gv-pane { border: 1px solid #eee; border-radius: 6px; }
"""


def initial_cells(query: dict | None = None) -> tuple[list[str], str | None]:
    """The cells a new page starts with: a share link's, else the walkthrough example."""
    query = query or {}
    token = query.get("nb")
    if isinstance(token, (list, tuple)):
        token = token[0] if token else None
    if token:
        try:
            return decode_share(token), None
        except ValueError as exc:
            note = f"The link's notebook could not be read ({exc}); showing the walkthrough instead."
        else:
            note = None
    else:
        note = None
    examples = list_examples()
    first = next(iter(examples.values()), None)
    if first:
        with open(first, encoding="utf-8") as f:
            return parse_percent(f.read()), note
    return list(STARTER), note


def initial_view(query: dict | None = None) -> str | None:
    """The graph view a link asks for (`?view=forward|backward|both`), if it names one."""
    view = (query or {}).get("view")
    if isinstance(view, (list, tuple)):
        view = view[0] if view else None
    return view if view in ("forward", "backward", "both") else None


class GradviewApp(param.Parameterized):
    """One page: state, runner and views, and the actions the views call."""

    title = "gradview"

    def __init__(self, codes=None, runner: Runner | None = None, scheduler=None, **params):
        super().__init__(**params)
        self.state = AppState(codes=codes or list(STARTER))
        self.runner = runner or make_runner(spare=True)
        self.state.time_limit = self.runner.time_limit or self.state.time_limit
        self.controller = Controller(self.state, self.runner, scheduler or SyncScheduler())
        self.bridge = EditorBridge(margin=0, height=0, width=0)
        self.bridge.param.watch(self._bridge_run, "run_request")
        self.bridge.param.watch(self._bridge_cursor, "cursor")
        self.controls = ControlsPanel(self.state, self)
        if sys.platform != "emscripten":
            self.controls.stop.visible = True   # (the static site's page shows and handles its own)
        self.cells = CellsView(self.state, self)
        self.graph = GraphPanel(self.state, self)
        self.inspector = InspectorPanel(self.state)
        self.state.param.watch(lambda e: self.controller.run_all(), ["device", "dtype", "summary_size"])
        self.state.param.watch(lambda e: self.state.rebuild_steps(), ["graph_scope"])
        self.state.param.watch(lambda e: setattr(self.bridge, "rescan", self.bridge.rescan + 1), "cells")

    # -- actions the views call --------------------------------------------------------------------------
    def edit(self, cell_id, code):
        self.controller.edit(cell_id, code)

    def run_cell(self, cell_id):
        self.controller.run_cell(cell_id)

    def run_all(self):
        self.controller.run_all()

    def add_cell(self, after=None):
        self.state.add_cell(after)

    def delete_cell(self, cell_id):
        index = self.state.delete_cell(cell_id)
        self.state.rebuild_steps()
        if index < len(self.state.cells) and self.state.cells[index].status != "new":
            self.controller.run_from(index)

    def move_cell(self, cell_id, delta):
        index = self.state.move_cell(cell_id, delta)
        self.controller.run_from(index)

    def load_cells(self, codes):
        """Replace the cells (an example, a file); the cells replaced can be brought back with undo_load."""
        before = self.state.codes()
        self.state.notice = ""
        self.state.replaced = before if before != list(codes) and any(c.strip() for c in before) else None
        self.state.load(codes)
        self.controller.reset_and_run_all()

    def undo_load(self):
        codes = self.state.replaced
        if codes is not None:
            self.state.replaced = None
            self.state.load(codes)
            self.controller.reset_and_run_all()

    def stop(self):
        self.controller.stop()

    def restart(self):
        self.controller.reset_and_run_all()

    def goto_line(self, cell_id, line):
        self.bridge.goto = f"{cell_id}|{line}|{self.state.run_count}-{id(object())}"

    def share(self):
        base = ""
        loc = pn.state.location
        if loc is not None and loc.href:
            base = loc.href
        url = share_url(base or "", self.state.codes())
        if loc is not None:
            try:
                loc.update_query(nb=url.split("?nb=", 1)[1])
            except Exception:  # noqa: BLE001
                pass
        self.controls.show_link(url)

    def _bridge_run(self, event):
        cell_id = (event.new or "").split("|", 1)[0]
        try:
            self.controller.run_cell(cell_id)
        except KeyError:
            pass

    def _bridge_cursor(self, event):
        cell_id, _, line = (event.new or "").partition("|")
        try:
            self.state.index(cell_id)
            self.state.focus(cell_id)
            self.state.selected_line = (cell_id, int(line))
        except (KeyError, ValueError):
            pass

    # -- the page --------------------------------------------------------------------------------------
    def layout(self):
        left = pn.Column(self.cells, sizing_mode="stretch_both", scroll=True, margin=(0, 5),
                         styles={"flex": "0 0 42%", "max-width": "42%"})
        bottom = pn.Row(
            pn.Column(self.inspector, sizing_mode="stretch_both", scroll=True, margin=(0, 5)),
            pn.Column(self.graph.charts, self.inspector.norm_pane, width=320, margin=(0, 5)),
            height=240, sizing_mode="stretch_width", margin=0, styles={"border-top": "1px solid #eee"})
        right = pn.Column(self.graph, bottom, sizing_mode="stretch_both", margin=0)
        return pn.Column(self.controls, pn.Row(left, right, sizing_mode="stretch_both", margin=0), self.bridge,
                         sizing_mode="stretch_both", margin=0)

    def close(self):
        self.controller.close()


class ServerFullPage:
    """What a new visitor gets when the server has no room for another session: a clear page, not a
    session that would slow down everyone else's."""

    title = "gradview: the server is full"

    def __init__(self, reason: str):
        self.reason = reason

    def layout(self):
        again = pn.widgets.Button(name="Try again", button_type="primary", width=120)
        again.js_on_click(code="window.location.reload()")
        text = pn.pane.Markdown(
            f"## The server is full, try again in a few minutes\n\n"
            f"Every session runs its cells in a process of its own, and this server has no room for "
            f"another one now ({self.reason}). Places free up as other sessions close or sit idle. "
            f"Your notebook link, if you came with one, still works when you try again.",
            css_classes=["gv-server-full"], width=640)
        return pn.Column(text, again, margin=40)

    def close(self):
        pass


def build_app():
    """The app for the current session (server or Pyodide); ServerFullPage when there is no room."""
    use_bundled_ace()
    pn.extension("codeeditor", raw_css=[PAGE_CSS], notifications=False)
    query = {}
    if pn.state.session_args:
        query = {k: [v.decode() if isinstance(v, bytes) else v for v in vals]
                 for k, vals in pn.state.session_args.items()}
    elif pn.state.location is not None and pn.state.location.query_params:
        query = dict(pn.state.location.query_params)
    codes, note = initial_cells(query)
    doc = pn.state.curdoc
    scheduler = DocScheduler(doc, ready=False) if doc is not None and sys.platform != "emscripten" else None
    if scheduler is None and sys.platform == "emscripten":
        from gradview.app.controller import AsyncioScheduler
        scheduler = AsyncioScheduler()
    try:
        app = GradviewApp(codes=codes, scheduler=scheduler)
    except ServerFull as full:
        return ServerFullPage(str(full))
    view = initial_view(query)
    if view:
        app.state.graph_view = view
    if note:
        app.state.notice = note
    # run at once: the results are usually in before the browser has loaded the page's scripts
    app.controller.run_all()
    if isinstance(scheduler, DocScheduler):
        pn.state.onload(scheduler.ready)
    pn.state.on_session_destroyed(lambda ctx: app.close())
    return app


if __name__.startswith("bokeh_app") or __name__ == "__main__":
    if sys.platform != "emscripten":
        from gradview.app.__main__ import warn_if_exposed
        warn_if_exposed()  # once per server: cells run arbitrary Python, say so when others can reach it
    _app = build_app()
    _app.layout().servable(title=_app.title)
