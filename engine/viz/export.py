"""Pages and files from a graph: one self-contained HTML file, Jupyter display, PNG and SVG.

    engine.viz.draw(loss)                      # displays inline in Jupyter
    engine.viz.save_html(g, "graph.html")      # a Graph, Step, their dicts or a Tensor
    engine.viz.export_png(g, "graph.png")

The HTML page carries BokehJS inline (bokeh.resources.INLINE) and makes no network request. It
keeps hover, zoom, search, tap-to-inspect (the value and gradient of the tapped node, drawn in the
page by JavaScript from the node's summary) and, for a captured training run, a slider over the
kept steps with the loss curve.
"""
from __future__ import annotations

import html
import importlib.util
import json
import os
import shutil

from .bokeh_view import VIEWS, GraphView, as_step_dict, node_columns, view_step
from . import _js
from .explanation import EXPLAIN_CSS, EXPLAIN_PATHS, explanation_html

__all__ = ["Drawing", "draw", "page", "page_layout", "to_html", "save_html", "iframe_html", "export_png",
           "export_svg"]

INSPECTOR_CSS = """
:host { font: 12px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
.gv-hint { color: #6b7280; padding: 6px 2px; }
.gv-title { font-size: 15px; font-weight: 600; margin: 2px 0 6px; }
.gv-kind { font-size: 11px; font-weight: 400; color: #6b7280; background: #f3f4f6; border-radius: 8px; padding: 1px 7px; }
table.gv-facts { border-collapse: collapse; margin-bottom: 6px; }
table.gv-facts td { padding: 1px 8px 1px 0; vertical-align: top; }
table.gv-facts td:first-child { color: #6b7280; }
pre.gv-code { background: #f6f8fa; border-radius: 4px; padding: 4px 6px; margin: 4px 0 8px; white-space: pre-wrap;
  font-size: 11px; }
.gv-pair { display: flex; gap: 14px; flex-wrap: wrap; }
.gv-side { min-width: 150px; }
.gv-what { font-weight: 600; margin-bottom: 3px; }
.gv-big { font: 22px monospace; padding: 4px 0; }
.gv-stats { color: #374151; font-size: 11px; margin-top: 3px; }
.gv-stats span { margin-right: 6px; white-space: nowrap; }
.gv-bad { color: #b91c1c; font-weight: 600; }
.gv-none { color: #9ca3af; }
.gv-cap { color: #6b7280; font-size: 11px; margin-top: 4px; }
svg.gv-heat text { font: 9px monospace; fill: #111; }
svg { display: block; }
"""

# the answer under the inspector wraps within its column (its formulas and numbers can be long)
ANSWER_CSS = """
.gv-explain { overflow-wrap: anywhere; }
.gv-explain code { white-space: pre-wrap; }
"""

HEADER_CSS = """
:host { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
.gv-head b { font-size: 15px; }
.gv-head span { color: #6b7280; margin-left: 8px; }
.gv-keys { color: #6b7280; font-size: 12px; }
"""


def _summary_line(step, view):
    nodes = step.get("nodes") or []
    parts = [f"{len(nodes):,} nodes", f"{len(step.get('edges') or []):,} edges"]
    if step.get("loss") is not None:
        parts.append(f"loss {step['loss']:.6g}")
    drawn = len(view.nodes.data["id"])
    if drawn != len(nodes):
        parts.append(f"{drawn:,} drawn (loops and modules folded)")
    return " · ".join(parts)


def page_layout(view, *, title=None, steps=None, losses=None, start=None, inspector_width=380, views=None,
                shown="forward", player=True, explanations=None, values=None):
    """The page around a GraphView: title line, search box, the graph, an inspector panel and, with
    `steps` (a list of precomputed step drawings), a step slider and the loss curve.

    views: {"forward": [drawing per step], "backward": [...], "both": [...]} (drawings as in
    `steps`): a forward/backward/both switch (keys f, b, v) shows the one chosen, `shown` at first.
    player: a step-through player under the graph (⇤ ‹ ▶ › ⇥, keys ← →).
    explanations: an `Explanations` (see `explanations_of`): "why this gradient?" under the
    inspector answers from them.
    values: {"shown": bool, "off": {view: [drawing per step]}, "on": {...}}: a "values on nodes"
    toggle (key n) between drawings without and with each node's value and gradient written on it."""
    from bokeh.layouts import column, row
    from bokeh.models import CustomJS, Div, InlineStyleSheet, RadioButtonGroup, Slider, TextInput, Toggle
    from bokeh.plotting import figure
    step = view.step or {"nodes": [], "edges": []}
    head = Div(text=f"<div class='gv-head'><b>{html.escape(title or 'Computation graph')}</b>"
                    f"<span>{html.escape(_summary_line(step, view))}</span></div>",
               stylesheets=[InlineStyleSheet(css=HEADER_CSS)], sizing_mode="stretch_width")
    status = Div(text="", stylesheets=[InlineStyleSheet(css=HEADER_CSS)], width=120)
    search = TextInput(placeholder="find a node: name, op, code or line number", width=360, name="graph-search")
    search.js_on_change("value_input", CustomJS(args=dict(nodes=view.nodes, xr=view.figure.x_range,
                                                          yr=view.figure.y_range, status=status), code=_js.SEARCH))
    more = (" · keys: <b>f</b> forward, <b>b</b> backward, <b>v</b> both graphs" if views else "") + (
        " · <b>← →</b> step through the events" if player else "") + (
        " · <b>n</b> values on nodes" if values else "") + (
        f" · {html.escape(explanations.note)}" if explanations is not None and explanations.note else "")
    keys = Div(text="<div class='gv-keys'>scroll: zoom · drag: pan · click a node: its value and gradient, and the "
                    f"path it takes to the output · colour: mean |grad| per element{more}</div>",
               stylesheets=[InlineStyleSheet(css=HEADER_CSS)], sizing_mode="stretch_width")
    inspector = Div(text="", width=inspector_width, name="graph-inspector",
                    stylesheets=[InlineStyleSheet(css=INSPECTOR_CSS)], styles={"overflow": "auto"})
    inspect = CustomJS(args=dict(nodes=view.nodes, div=inspector), code=_js.INSPECT)
    view.nodes.selected.js_on_change("indices", inspect)
    inspector.text = ("<div class='gv-hint'>Click a node to see its value and gradient. Scroll to zoom, drag to "
                      "pan; labels appear as you zoom in.</div>")
    top = row(search, status)
    switch = None
    if views:
        names = [v for v in VIEWS if v in views]
        switch = RadioButtonGroup(labels=names, active=names.index(shown), name="graph-view")
        top = row(search, switch, status)
    side = inspector
    explain_ready = None
    if explanations is not None and explanations.tables:
        from bokeh.models import Button
        why = Button(label="why this gradient?", disabled=True, name="graph-explain", width=160)
        # (scrolls past the figure's height, so that the player stays near the graph)
        answer = Div(text="", width=inspector_width - 20, name="graph-explanation",
                     stylesheets=[InlineStyleSheet(css=INSPECTOR_CSS + EXPLAIN_CSS + ANSWER_CSS)],
                     styles={"max-height": f"{view.figure.height or 560}px", "overflow-y": "auto"})
        explain_ready = CustomJS(args=dict(nodes=view.nodes, table=explanations.tables, slider=None, button=why,
                                           answer=answer), code=_js.EXPLAIN)
        view.nodes.selected.js_on_change("indices", explain_ready)
        why.js_on_click(explain_ready)
        side = column(inspector, why, answer)
    toggle = None
    if values:
        toggle = Toggle(label="values on nodes", active=bool(values["shown"]), width=130, name="graph-values",
                        button_type="light")
        top.children.insert(len(top.children) - 1, toggle)
    parts = [head, top, keys, row(view.figure, side)]
    if player:
        parts.append(view.player(width=view.figure.width))
    if view.needs_overview:
        parts.append(view.overview_figure())
    slider = None
    if steps and len(steps) > 1:
        title_div = Div(text=steps[start]["title"] if start is not None else "",
                        stylesheets=[InlineStyleSheet(css=HEADER_CSS)])
        slider = Slider(start=0, end=len(steps) - 1, value=start if start is not None else len(steps) - 1, step=1,
                        title="kept step", width=420, name="graph-step")
        slider.js_on_change("value", CustomJS(args=dict(steps=steps, nodes=view.nodes, edges=view.edges,
                                                        groups=view.groups, title=title_div, views=views or {},
                                                        switch_=switch, **_values_args(values, toggle)),
                                              code=_js.STEP_SLIDER))
        parts.append(row(slider, title_div))
        if explain_ready is not None:  # the answers of the step shown
            explain_ready.args["slider"] = slider
    if switch is not None:
        switch.js_on_change("active", CustomJS(args=dict(views=views, nodes=view.nodes, edges=view.edges,
                                                         groups=view.groups, slider=slider,
                                                         **_values_args(values, toggle)), code=_js.VIEW_SWITCH))
    if toggle is not None:
        toggle.js_on_change("active", CustomJS(args=dict(nodes=view.nodes, edges=view.edges, groups=view.groups,
                                                         slider=slider, switch_=switch, **_values_args(values, toggle)),
                                               code=_js.VALUES_SWITCH))
    page_keys = None
    if switch is not None or player or toggle is not None:
        # (bound once the figure has its size: the first thing every page, whole or fragment, does)
        page_keys = CustomJS(args=dict(switch_=switch, player=view.player_slider if player else None,
                                       nodes=view.nodes, values=toggle, root=None), code=_js.PAGE_KEYS)
        view.figure.js_on_change("inner_width", page_keys)
    if losses and len(losses) > 1:
        lf = figure(height=130, width=view.figure.width, title="loss per step", tools="hover",
                    tooltips=[("step", "@x"), ("loss", "@y")], toolbar_location=None)
        xs = [i for i, v in losses if v is not None]
        ys = [v for i, v in losses if v is not None]
        lf.line(xs, ys, line_width=2, color="#1677ff")
        lf.scatter(xs, ys, size=4, color="#1677ff")
        lf.title.text_font_size = "11px"
        from bokeh.models import BasicTicker
        lf.xaxis.ticker = BasicTicker(desired_num_ticks=8, min_interval=1)
        lf.yaxis.ticker = BasicTicker(desired_num_ticks=3)
        lf.axis.major_label_text_font_size = "9px"
        lf.xaxis.axis_label = "step"
        lf.xaxis.axis_label_text_font_size = "10px"
        parts.append(lf)
    root = column(*parts)
    if page_keys is not None:
        page_keys.args["root"] = root  # where the pointer makes this graph the one keys go to
    return root


def _values_args(values, toggle):
    """The drawings the values toggle chooses between, for the page's CustomJS callbacks."""
    if not values:
        return {"values": None, "values_off": {}, "values_on": {}}
    return {"values": toggle, "values_off": values["off"], "values_on": values["on"]}


def _steps_of(obj):
    """(detailed step dicts, [(index, loss)] for all steps) of a Graph or graph dict, else None."""
    from .. import graph as graph_mod
    if isinstance(obj, graph_mod.Graph):
        all_steps = [s.to_dict() for s in obj.steps]
    elif isinstance(obj, dict) and "steps" in obj:
        all_steps = obj["steps"]
    else:
        return None
    detailed = [s for s in all_steps if s.get("nodes")]
    losses = [(s.get("index", i), s.get("loss")) for i, s in enumerate(all_steps)]
    return detailed, losses


def page(obj, *, step=None, title=None, **view_kw):
    """The Bokeh layout of an exported page for `obj` (a Graph, Step, their dicts, a Tensor, or a
    GraphView). For a Graph with several kept steps the page can switch between them.

    values=True writes each node's value and gradient on it at first; the page's "values on nodes"
    toggle (key n) switches them on and off (pages of more than VALUES_UP_TO nodes in all keep the
    drawing asked for, without the toggle)."""
    if isinstance(obj, GraphView):
        return page_layout(obj, title=title)
    if isinstance(obj, Drawing):
        return page_layout(obj.view, title=title)
    view_kw.setdefault("toggle_on_tap", False)  # a static page has no Python to unfold groups
    shown = view_kw.pop("view", None) or "forward"
    if shown not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, not {shown!r}")
    player = view_kw.pop("player", True)
    explain = view_kw.pop("explain", True)
    values_on = bool(view_kw.pop("values", False))
    run = _steps_of(obj)
    if run is None or len(run[0]) <= 1:
        s = as_step_dict(obj, step)
        views = _view_drawings([s], view_kw, values_on) if s.get("backward") else None
        view = GraphView(view_step(s, shown) if views else s, values=values_on, **view_kw)
        values = _values_sets([s], view_kw, values_on, views or {"forward": [_drawing(view)]})
        live = _live_step(obj, step, s)
        clickable = _clickable([view.nodes.data] + [v[0]["nodes"] for v in (views or {}).values()])
        return page_layout(view, title=title, losses=run[1] if run else None, views=views,
                           shown=shown if views else "forward", player=player, values=values,
                           explanations=explanations_of([(live, s, clickable)]) if explain and live is not None
                           else None)
    detailed, losses = run
    chosen = as_step_dict(obj, step)
    start = next((k for k, s in enumerate(detailed) if s is chosen or s.get("index") == chosen.get("index")),
                 len(detailed) - 1)
    # lay the steps out in order, each placed from the previous one, so that nodes stay put
    drawings = []
    previous = None
    direction = view_kw.get("direction", "LR")
    max_nodes = view_kw.get("max_nodes", 2000)
    for s in detailed:
        cols, ecols, gcols, info = node_columns(s, direction=direction, collapsed=view_kw.get("collapsed"),
                                                max_nodes=max_nodes, previous=previous, values=values_on)
        previous = info["layout"].positions
        loss = s.get("loss")
        drawings.append({"nodes": cols, "edges": ecols, "groups": gcols,
                         "title": f"step {s.get('index')}" + (f" · loss {loss:.6g}" if loss is not None else "")
                                  + f" · {len(s.get('nodes') or [])} nodes"})
    views = None
    if any(s.get("backward") for s in detailed) and sum(len(s.get("nodes") or ()) for s in detailed) <= VIEWS_UP_TO:
        views = _view_drawings(detailed, view_kw, values_on)
        views["forward"] = drawings
    else:
        shown = "forward"
    values = _values_sets(detailed, view_kw, values_on, views or {"forward": drawings})
    view = GraphView(None, values=values_on, **view_kw)
    view.update(view_step(detailed[start], shown), keep_positions=False)
    first = (views or {}).get(shown, drawings)[start]
    view.nodes.data = first["nodes"]
    view.edges.data = first["edges"]
    view.groups.data = first["groups"]
    explanations = None
    if explain:
        live = [_live_step(obj, None, d) for d in detailed]
        if any(s is not None for s in live):
            clickable = [_clickable([d["nodes"]] + [v[k]["nodes"] for v in (views or {}).values()])
                         for k, d in enumerate(drawings)]
            explanations = explanations_of(list(zip(live, detailed, clickable)))
    return page_layout(view, title=title, steps=drawings, losses=losses, start=start, views=views, shown=shown,
                       player=player, explanations=explanations, values=values)


EXPLAIN_NODES = 200          # nodes of a step whose answers a page holds (all of a smaller step)
EXPLAIN_BYTES = 1_000_000    # bytes of answers a page holds at most (the page says when it left some out)


class Explanations:
    """The answers to "why this gradient?" a page holds: `tables` ([{node id: HTML}] per drawn step,
    the HTML as the app's inspector shows it), `note` (what the page says about those left out)."""

    def __init__(self, tables, note=""):
        self.tables = tables
        self.note = note

    @property
    def size(self):
        """Bytes the answers add to a saved page."""
        return sum(_page_bytes(k) + _page_bytes(v) for t in self.tables for k, v in t.items())


def _chosen_nodes(nodes):
    """The ids of the nodes a gradient reached, in the order a page takes their answers: the leaves
    and parameters first (what a reader asks about), then the others from the output back (their
    answers are the shortest)."""
    reached = [n for n in nodes if n.get("grad") is not None and n.get("kind") not in ("group", "elided", "failed")]
    first = [n["id"] for n in reached if n.get("kind") in ("leaf", "param")]
    return first + [n["id"] for n in reversed(reached) if n.get("kind") not in ("leaf", "param")]


def _clickable(columns):
    """The ids of the nodes a reader can click in these drawings (node columns): the nodes drawn,
    and those a backward node stands for (a folded group's members are not drawn)."""
    out = set()
    for c in columns:
        out.update(c.get("id") or ())
        out.update(i for i in c.get("forward_id") or () if i)
    return out


def explanations_of(steps, *, max_nodes=EXPLAIN_NODES, max_bytes=EXPLAIN_BYTES):
    """The answers for [(captured Step, its drawn step dict[, the ids a reader can click])], worked
    out now with `Step.explain`,
    bounded: at most `max_nodes` nodes a step (`_chosen_nodes`) and `max_bytes` of page in all
    (answers are added in that order when they fit: one path through an unrolled loop can be long).
    The page says how many nodes it holds answers for when that is not all of them."""
    tables, asked, held, size, made = [], 0, 0, 0, 0
    for live, drawn, *clickable in steps:
        table = {}
        tables.append(table)
        if live is None or not drawn.get("closed", True):
            continue
        known = {str(n.id): n.id for n in live.nodes}
        reached = _chosen_nodes(drawn.get("nodes") or ())
        if clickable:
            reached = [i for i in reached if i in clickable[0]]
        asked += len(reached)
        for node_id in reached[:max_nodes]:
            if made > 4 * max_bytes or node_id not in known:  # (work in proportion to what is kept)
                continue
            try:
                answer = live.explain(known[node_id]).to_dict(max_paths=EXPLAIN_PATHS)
            except (ValueError, RuntimeError, KeyError):  # nothing to explain there
                continue
            text = explanation_html(answer)
            cost = _page_bytes(node_id) + _page_bytes(text)
            made += cost
            if size + cost <= max_bytes:  # (else it is left out, and smaller ones after it may fit)
                table[node_id] = text
                size += cost
                held += 1
    note = ""
    if held < asked:
        note = (f"“why this gradient?” answers {held:,} of the {asked:,} nodes a gradient reached (the leaves and "
                f"parameters first; a page holds at most {EXPLAIN_NODES} a step and {max_bytes / 1e6:g} MB of them)"
                if held else f"no “why this gradient?” here: its answers would make the page too big "
                             f"(more than {max_bytes / 1e6:g} MB)")
    return Explanations(tables, note)


def _page_bytes(text):
    """What a string adds to a saved page: Bokeh writes it as JSON, HTML-escaped, in UTF-8."""
    return len(html.escape(json.dumps(text, ensure_ascii=False), quote=False).encode())


def _live_step(obj, step, drawn):
    """The captured Step behind the one step drawn, when `obj` is a capture (not dicts)."""
    from .. import graph as graph_mod
    if isinstance(obj, graph_mod.Step):
        return obj
    if isinstance(obj, graph_mod.Graph):
        return next((s for s in obj.steps if s.index == drawn.get("index")), None)
    return None


VIEWS_UP_TO = 20000  # a page of kept steps with more nodes than this in all draws the forward view only
VALUES_UP_TO = 2000  # ... and with more than this, has no values toggle (its drawings would double)


def _drawing(view):
    """A GraphView's drawing, as the page's switches hold them."""
    return {"nodes": dict(view.nodes.data), "edges": dict(view.edges.data), "groups": dict(view.groups.data)}


def _values_sets(steps, view_kw, values_on, shown_set):
    """The values toggle's drawings: {"shown", "off", "on"}, `shown_set` the drawings of the state
    shown at first; None when the page is too big for a second set."""
    if sum(len(s.get("nodes") or ()) for s in steps) > VALUES_UP_TO:
        return None
    other = _view_drawings(steps, view_kw, not values_on, names=list(shown_set))
    return {"shown": values_on, "off": other if values_on else shown_set, "on": shown_set if values_on else other}


def _view_drawings(steps, view_kw, values=False, names=VIEWS):
    """{view: [drawing of each step in that view]} for the forward/backward/both switch."""
    out = {}
    direction = view_kw.get("direction", "LR")
    max_nodes = view_kw.get("max_nodes", 2000)
    for v in names:
        previous = None
        out[v] = []
        for s in steps:
            cols, ecols, gcols, info = node_columns(view_step(s, v), direction=direction, max_nodes=max_nodes,
                                                    collapsed=view_kw.get("collapsed"), previous=previous,
                                                    values=values)
            previous = info["layout"].positions
            out[v].append({"nodes": cols, "edges": ecols, "groups": gcols})
    return out


def inline_resources():
    """BokehJS inline, without the scripts other libraries register for their own models.

    Bokeh adds the `__javascript__` of every imported model class to a page's resources; with
    Panel imported (the app) that means script tags pointing at Panel's server, which a saved
    page cannot reach. The graph page uses Bokeh's own models only.
    """
    from bokeh.resources import Resources

    class SelfContained(Resources):
        def _collect_external_resources(self, resource_attr):
            return []

        def clone(self, *, components=None):
            copy = super().clone(components=components)
            copy.__class__ = SelfContained
            return copy
    return SelfContained(mode="inline")


def to_html(obj, *, title=None, **kw):
    """One self-contained HTML page (BokehJS inline, no network access) showing `obj`."""
    from bokeh.embed import file_html
    root = page(obj, title=title, **kw)
    return file_html(root, resources=inline_resources(), title=title or "Computation graph")


def save_html(obj, path, *, title=None, **kw):
    """Write `to_html(obj)` to `path`; returns the path."""
    text = to_html(obj, title=title, **kw)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def iframe_html(obj, height=None, title=None, **page_kw):
    """An <iframe srcdoc=...> holding the whole page: displays in Jupyter (classic, Lab, VS Code)
    without any notebook extension or network access. `page_kw` (step=, direction=, width=,
    height= of the figure as `figure_height=`) go to the page."""
    if isinstance(obj, GraphView):
        obj = obj.step or {"nodes": [], "edges": []}
    if "figure_height" in page_kw:
        page_kw["height"] = page_kw.pop("figure_height")
    return _iframe(to_html(obj, title=title, **page_kw), height)


def _iframe(doc, height=None):
    h = height or 780
    return (f'<iframe srcdoc="{html.escape(doc, quote=True)}" style="width:100%;height:{h}px;border:0" '
            f'sandbox="allow-scripts allow-same-origin"></iframe>')


PAGE_OPTIONS = ("view", "player", "explain")  # what page() takes besides the GraphView's options


class Drawing:
    """What engine.viz.draw returns: shows itself inline in Jupyter, saves as HTML/PNG/SVG/JSON.

    Each display or save builds its own page from the step (a Bokeh model lives in one document);
    `.view` is a GraphView of it to use or embed directly."""

    def __init__(self, obj, title=None, **view_kw):
        from .. import graph as graph_mod
        view_kw.setdefault("toggle_on_tap", False)
        self.source = obj
        self.title = title
        self._kw = view_kw
        self._step = obj.step if isinstance(obj, GraphView) else as_step_dict(obj)
        self._view = obj if isinstance(obj, GraphView) else None
        # a page is drawn from the capture itself when there is one: its answers come from it
        self._page_of = obj if isinstance(obj, (graph_mod.Graph, graph_mod.Step)) else self._step

    @property
    def _view_kw(self):
        """The options that are the GraphView's (not the page's: view, player, explain)."""
        return {k: v for k, v in self._kw.items() if k not in PAGE_OPTIONS}

    @property
    def view(self):
        if self._view is None:
            self._view = self._new_view()
        return self._view

    def _new_view(self):
        return GraphView(view_step(self._step, self._kw.get("view") or "forward"), **self._view_kw)

    @property
    def figure(self):
        return self.view.figure

    @property
    def nodes(self):
        return self.view.nodes

    @property
    def edges(self):
        return self.view.edges

    @property
    def step(self):
        return self._step

    def to_html(self):
        return to_html(self._page_of, title=self.title, **self._kw)

    def save(self, path):
        """Save by extension: .html (a page), .png, .svg, .json (the step dict)."""
        ext = os.path.splitext(str(path))[1].lower()
        if ext in (".html", ".htm"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.to_html())
        elif ext == ".png":
            export_png(self._new_view(), path)
        elif ext == ".svg":
            export_svg(self._new_view(), path)
        elif ext == ".json":
            import json
            with open(path, "w", encoding="utf-8") as f:
                json.dump(self._step, f, allow_nan=False)
        else:
            raise ValueError(f"don't know how to save {path!r}: use .html, .png, .svg or .json")
        return path

    def _repr_html_(self):
        return _iframe(self.to_html())

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self._repr_html_()}

    def show(self):
        """Open the page in a web browser (a temporary file)."""
        import tempfile
        import webbrowser
        fd, path = tempfile.mkstemp(suffix=".html", prefix="graph-")
        os.close(fd)
        self.save(path)
        webbrowser.open("file://" + path)
        return path

    def __repr__(self):
        return f"<Drawing: {len(self._step.get('nodes') or [])} nodes>"


def draw(obj, *, title=None, **view_kw):
    """Draw a tensor's autograd graph (no capture needed, like torchviz's make_dot), or a captured
    Graph/Step. Returns a Drawing: inline in Jupyter, `.save("graph.html")`, `.view` for the
    GraphView (direction=, collapsed=, max_nodes= go to it; view= "forward", "backward" or "both",
    player= and explain= to the page)."""
    return Drawing(obj, title=title, **view_kw)


# ---------------------------------------------------------------------------------------------
# PNG and SVG
def _webdriver_problem():
    if importlib.util.find_spec("selenium") is None:
        return "the 'selenium' package is not installed"
    if not (shutil.which("chromedriver") or shutil.which("geckodriver")):
        return "no chromedriver (or geckodriver) on PATH"
    return None


def _playwright_browser():
    if importlib.util.find_spec("playwright") is None:
        return None
    from .headless import find_chromium
    return find_chromium()


def _figure_of(obj):
    if isinstance(obj, GraphView):
        return obj.figure
    if isinstance(obj, Drawing):
        return obj.figure
    return GraphView(as_step_dict(obj), toggle_on_tap=False).figure


def export_png(obj, path, *, width=None, height=None, scale_factor=1):
    """Save the graph figure as a PNG with bokeh.io.export_png (needs selenium and a Chromium or
    Firefox driver). Without them, a local Chromium driven by Playwright is used if there is one;
    otherwise a RuntimeError says what is missing."""
    fig = _figure_of(obj)
    problem = _webdriver_problem()
    if problem is None:
        from bokeh.io import export_png as bokeh_export_png
        bokeh_export_png(fig, filename=path, width=width, height=height, scale_factor=scale_factor)
        return path
    browser = _playwright_browser()
    if browser is None:
        raise RuntimeError(f"PNG export needs a headless browser: {problem}. Install selenium and chromedriver "
                           "(e.g. `pip install selenium` and your system's chromium-driver package), or save the "
                           "graph as HTML with engine.viz.save_html instead.")
    _playwright_capture(fig, path, "png", browser, scale_factor)
    return path


def export_svg(obj, path, *, width=None, height=None):
    """Save the graph figure as SVG with bokeh.io.export_svg (needs selenium and a browser driver;
    falls back to a local Chromium through Playwright, else raises RuntimeError saying what is
    missing)."""
    fig = _figure_of(obj)
    problem = _webdriver_problem()
    if problem is None:
        from bokeh.io import export_svg as bokeh_export_svg
        bokeh_export_svg(fig, filename=path, width=width, height=height)
        return path
    browser = _playwright_browser()
    if browser is None:
        raise RuntimeError(f"SVG export needs a headless browser: {problem}. Install selenium and chromedriver "
                           "(e.g. `pip install selenium` and your system's chromium-driver package), or save the "
                           "graph as HTML with engine.viz.save_html instead.")
    _playwright_capture(fig, path, "svg", browser, 1)
    return path


def _playwright_capture(fig, path, kind, browser_path, scale):
    import tempfile
    from bokeh.embed import file_html
    from playwright.sync_api import sync_playwright
    doc = file_html(fig, resources=inline_resources(), title="graph")
    with tempfile.TemporaryDirectory() as tmp:
        page_path = os.path.join(tmp, "graph.html")
        with open(page_path, "w", encoding="utf-8") as f:
            f.write(doc)
        with sync_playwright() as p:
            from .headless import CHROMIUM_ARGS
            browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(device_scale_factor=scale,
                                        viewport={"width": (fig.width or 900) + 40, "height": (fig.height or 600) + 40})
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                           else route.abort())
                page.goto("file://" + page_path)
                page.wait_for_function("() => window.Bokeh && Bokeh.index && Object.keys(Bokeh.index).length > 0")
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                if kind == "png":
                    el = page.query_selector(".bk-Figure") or page.query_selector("div")
                    el.screenshot(path=path)
                else:
                    from bokeh.io.export import _SVG_SCRIPT
                    svgs = page.evaluate("() => { " + _SVG_SCRIPT + " }")
                    if not svgs:
                        raise RuntimeError("the browser produced no SVG")
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(svgs[0])
            finally:
                browser.close()
