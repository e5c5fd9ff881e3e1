"""The graph side: the captured graph of the chosen step, a step slider and the loss curve."""
from __future__ import annotations

import panel as pn
import param
from bokeh.core.property.validation import validate
from bokeh.events import Tap
from bokeh.models import ColumnDataSource, Span
from bokeh.plotting import figure
from panel.viewable import Viewer

from ..state import AppState, node_cell_line
from .keys import KEY_HELP, GraphKeys

__all__ = ["GraphPanel", "load_graph_view", "EMPTY_STEP"]

EMPTY_STEP = {"index": 0, "loss": None, "nodes": [], "edges": []}
MAX_DRAWN_NODES = 4000
_DRAWN_KEYS = ("numel", "shape", "dtype", "full", "min", "max", "mean", "std", "norm", "abs_mean", "nan", "inf",
               "stale")


def _light(summary):
    """What the drawing needs of a value or gradient summary (hover text and colour): statistics and
    the numbers of tiny tensors. Histograms and previews stay with the inspector, off the wire."""
    if not summary:
        return summary
    out = {k: summary[k] for k in _DRAWN_KEYS if k in summary}
    if "data" in summary and (summary.get("numel") or 0) <= 8:
        out["data"] = summary["data"]
    return out


def inline_small_arrays(source, columns=("xs", "ys")):
    """Make per-row arrays of a source plain lists. Bokeh sends every NumPy array as a binary buffer of
    its own: for a multi_line column of 1,000 two-point edges that is 2,000 extra websocket frames,
    which cost the browser far more than the same numbers inline in the JSON."""
    data = source.data
    changed = {}
    for c in columns:
        col = data.get(c)
        if col is not None and len(col) and hasattr(col[0], "tolist"):
            changed[c] = [a.tolist() for a in col]
    if changed:
        source.data = {**dict(data), **changed}


def drawn_step(step):
    """`step` with light summaries (see `_light`), for the graph view."""
    nodes = []
    for n in step["nodes"]:
        n = dict(n)
        n["value"] = _light(n.get("value"))
        n["grad"] = _light(n.get("grad"))
        nodes.append(n)
    return dict(step, nodes=nodes)


def load_graph_view():
    """(GraphView class, inspector_figure) from the viz layer, or the app's plain stand-ins."""
    try:
        from gradview.engine.viz.bokeh_view import GraphView, inspector_figure
    except Exception:  # noqa: BLE001  viz layer missing or broken: draw plainly rather than not at all
        from ._basic_graph import GraphView, inspector_figure
    return GraphView, inspector_figure


class GraphPanel(Viewer):
    """Draws `state.current_step()`; a tap on a node selects it; a selected line highlights its nodes."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, actions=None, **params):
        super().__init__(state=state, **params)
        self.actions = actions
        GraphView, _ = load_graph_view()
        self.view = GraphView(step=None, direction="LR")
        fig = self.view.figure
        fig.sizing_mode = "stretch_both"
        self._ignore_selection = False
        self.view.nodes.selected.on_change("indices", self._tapped)
        self._hidden = 0
        self._drawn_step = EMPTY_STEP
        self.pane = pn.pane.Bokeh(fig, sizing_mode="stretch_both", min_height=220, margin=(0, 5))
        # the backward graph as PyTorch builds it (sources backward-nodes, backward-edges), and both
        # graphs in one drawing, gradient flow dashed (sources both-nodes, both-edges)
        try:
            self.backward = GraphView(step=None, direction="LR", names="backward")
            self.both = GraphView(step=None, direction="LR", names="both")
        except TypeError:  # the plain stand-in view draws the forward graph only
            self.backward = self.both = None
        for v in (self.backward, self.both):
            if v is not None:
                v.figure.sizing_mode = "stretch_both"
                # a backward node chosen there shows (and explains) the forward node it belongs to
                v.nodes.selected.on_change("indices", lambda attr, old, new, v=v: self._tapped_backward(v, new))
        # (a Bokeh pane ignores visible=False until shown once: columns around them are hidden instead)
        self.forward_box = pn.Column(self.pane, *self._player_of(self.view), sizing_mode="stretch_both", margin=0)
        self.backward_box, self.both_box = (
            pn.Column(pn.pane.Bokeh(v.figure, sizing_mode="stretch_both", min_height=220, margin=(0, 5)),
                      *self._player_of(v), sizing_mode="stretch_both", margin=0, visible=False)
            if v is not None else pn.Column(pn.pane.HTML("no backward view"), visible=False)
            for v in (self.backward, self.both))
        self.keys = GraphKeys(view=state.graph_view)
        self.keys.link(state, view="graph_view", bidirectional=True)
        self.keys.link(state, values="node_values", bidirectional=True)
        self.keys.values = state.node_values
        # value and gradient written on each node (key n)
        # (under the graph, by the step bar: the header above has no room left for it at 1280 px)
        self.values_toggle = pn.widgets.Toggle(name="values on nodes", value=state.node_values, button_type="light",
                                               button_style="outline", margin=(3, 4, 3, 8), width=125, height=28,
                                               css_classes=["gv-values"])
        self.values_toggle.link(state, value="node_values", bidirectional=True)
        self.mode = pn.widgets.RadioButtonGroup(
            options=["forward", "backward", "both"], value=state.graph_view, button_type="light",
            button_style="outline", margin=(2, 4), width=185, height=28)  # (no hover text: it would cover the buttons)
        self.mode.link(state, value="graph_view", bidirectional=True)
        self.title = pn.pane.HTML("", margin=(6, 10, 0, 10), sizing_mode="stretch_width",
                                  styles={"font-size": "13px", "color": "#333", "line-height": "16px"})
        self.scope = pn.widgets.RadioButtonGroup(
            options={"this cell": "cell", "all cells": "all"}, value=state.graph_scope, button_type="light",
            button_style="outline", margin=(2, 10, 2, 4), width=150, height=28,
            description="Draw the graph of the cell with the cursor, or of every cell")
        self.scope.link(state, value="graph_scope")
        self.colour_scale = pn.widgets.RadioButtonGroup(
            options={"colours: run": "run", "step": "step"}, value=state.colour_scale, button_type="light",
            button_style="outline", margin=(2, 4), width=125, height=28)  # (the colour bar says what is encoded)
        self.colour_scale.link(state, value="colour_scale")
        # the step bar is always there (disabled without a training loop) so the graph never resizes
        self.slider = pn.widgets.IntSlider(name="", start=0, end=1, value=0, disabled=True,
                                           sizing_mode="stretch_width", margin=(4, 10), show_value=False)
        self.slider.param.watch(self._slid, "value_throttled")
        self.step_label = pn.pane.HTML("", width=260, margin=(8, 10, 0, 10),
                                       styles={"font-size": "12px", "color": "#555"})
        # (one point while hidden: a plot with no data at all cannot set its ranges, and Bokeh warns)
        self.loss_source = ColumnDataSource(data={"step": [0], "loss": [0.0]}, name="loss-curve")
        lf = figure(height=110, sizing_mode="stretch_width", toolbar_location=None,
                    title="loss over steps (click: show that step)", tools="")
        lf.on_event(Tap, lambda event: self.pick_step_at(event.x))
        lf.line("step", "loss", source=self.loss_source, line_width=2, color="#1677ff")
        lf.scatter("step", "loss", source=self.loss_source, size=4, color="#1677ff")
        self.loss_marker = Span(location=0, dimension="height", line_color="#d4380d", line_dash="dashed")
        lf.add_layout(self.loss_marker)
        lf.title.text_font_size = "11px"
        lf.min_border_left = 30
        # (a Bokeh pane ignores visible=False until shown once: hide a column around it instead)
        self.loss_plot = pn.Column(pn.pane.Bokeh(lf, sizing_mode="stretch_width", height=110, margin=0),
                                   visible=False, sizing_mode="stretch_width", margin=0)
        self.loss_hint = pn.pane.HTML(
            "<div style='color:#888;font-size:12px'>Training loops: each <code>backward()</code> closes a "
            "step. With several steps, their loss is drawn here and the slider above picks the step shown."
            "</div>", sizing_mode="stretch_width", margin=(4, 8))
        # (room for a title wrapped onto two lines; a fixed height, so the graph never jumps when it grows)
        header = pn.Row(self.title, self.mode, self.colour_scale, self.scope, sizing_mode="stretch_width", margin=0,
                        height=40)
        self.step_bar = pn.Row(self.values_toggle, self.step_label, self.slider, sizing_mode="stretch_width", height=34,
                               margin=0)
        self.key_help = pn.pane.HTML(f"<div class='gv-key-help' style='color:#888;font-size:12px'>{KEY_HELP}</div>",
                                     sizing_mode="stretch_width", margin=(2, 8))
        self.charts = pn.Column(self.loss_plot, self.loss_hint, self.key_help, sizing_mode="stretch_width", margin=0)
        self._layout = pn.Column(header, pn.Row(self.forward_box, self.backward_box, self.both_box,
                                                sizing_mode="stretch_both", margin=0), self.step_bar, self.keys,
                                 sizing_mode="stretch_both", margin=0)
        state.param.watch(self._redraw, ["graph_version", "step", "colour_scale", "graph_view", "node_values"])
        state.param.watch(self._retitle, ["pending", "running"])
        state.param.watch(self._highlight, ["selected_line"])
        self._redraw()

    def __panel__(self):
        return self._layout

    @staticmethod
    def _player_of(view):
        """The step-through player under a view (none for the plain stand-in view)."""
        player = getattr(view, "player", None)
        if player is None:
            return []
        return [pn.pane.Bokeh(player(), sizing_mode="stretch_width", height=58, margin=(0, 5))]

    # -- drawing ---------------------------------------------------------------------------------------
    def _redraw(self, *events):
        state = self.state
        step = state.current_step() or EMPTY_STEP
        from gradview.engine.graph import trim
        step = trim(step, MAX_DRAWN_NODES)  # the outputs and what is closest to them
        self._hidden = int(step.get("nodes_left_out") or 0)
        self.view.colour_range = self._colour_range()
        mode = state.graph_view if self.backward is not None else "forward"
        for v in (self.view, self.backward, self.both):
            if v is not None and hasattr(v, "values"):
                v.values = state.node_values
        self._ignore_selection = True
        try:
            with validate(False):  # the columns are built by the view itself; checking them costs more than drawing
                self.view.update(drawn_step(step))
                inline_small_arrays(self.view.edges)
                if self.backward is not None and mode != "forward":
                    from gradview.engine.viz.bokeh_view import view_step
                    other = self.backward if mode == "backward" else self.both
                    other.colour_range = self.view.colour_range
                    other.update(drawn_step(view_step(step, mode)))
                    inline_small_arrays(other.edges)
            self.view.nodes.selected.indices = self._indices_for_line()
        finally:
            self._ignore_selection = False
        # shown once redrawn: a view hidden meanwhile still holds the graph drawn before it was hidden
        self.forward_box.visible = mode == "forward"
        self.backward_box.visible = mode == "backward"
        self.both_box.visible = mode == "both"
        self._drawn_step = step
        self.title.object = self._title(step)
        n = len(state.steps)
        if n > 1:
            self.slider.param.update(start=0, end=n - 1, value=min(state.step, n - 1), disabled=False)
            first, last = state.steps[0]["index"], state.steps[-1]["index"]
            now = ("after training" if step.get("closed") is False
                   else f"training step <b>{step.get('index', state.step)}</b>")
            self.step_label.object = f"{now} <span style='color:#999'>(steps {first}–{last} kept)</span>"
        else:
            self.slider.param.update(start=0, end=1, value=0, disabled=True)
            self.step_label.object = "<span style='color:#999'>one step (no training loop)</span>"
        losses = state.losses
        if len(losses) > 1:
            self.loss_source.data = {"step": [s for s, _ in losses], "loss": [v for _, v in losses]}
            self.loss_marker.location = step.get("index", 0)
        if self.loss_plot.visible != (len(losses) > 1):
            self.loss_plot.visible = len(losses) > 1
            self.loss_hint.visible = not self.loss_plot.visible

    def _colour_range(self):
        """The colour scale: the whole run's range of mean |grad| (None: the drawn step's own)."""
        if self.state.colour_scale != "run":
            return None
        try:
            from gradview.engine.viz.bokeh_view import grad_range
        except Exception:  # noqa: BLE001  the plain stand-in view has no colour scale
            return None
        return grad_range(self.state.steps)

    def _title(self, step):
        state = self.state
        n = sum(1 for node in step["nodes"] if node.get("kind") != "elided")  # not the "⋯ N more" stand-in
        if state.graph_scope == "all":
            where = "all cells"
        elif state.focus_cell is not None:
            try:
                where = f"cell [{state.index(state.focus_cell) + 1}]"
            except KeyError:
                where = None
        else:
            where = None
        if n:
            what = f"{n:,} node{'s' if n != 1 else ''}"
            if self._hidden:
                what += f" drawn, {self._hidden:,} more left out"
        elif state.run_count:
            what = "no tensor operations in it: run code that computes with tensors"
        else:
            what = "not run yet"
        head = f"Graph of {where}" if where else "Graph"
        stale = ""
        if state.pending or state.running:  # (short, next to the head: a long title wraps)
            stale = (" <span class='gv-stale' style='color:#b45309' title='the code changed since this graph "
                     "was drawn; it is drawn again once the run is over'>· stale: code changed</span>")
        return f"<b>{head}</b>{stale} <span style='color:#888'>· {what}</span>"

    def _retitle(self, *events):
        self.title.object = self._title(self._drawn_step)

    def pick_step_at(self, x):
        """A click on the loss curve at step `x`: show the kept step nearest to it, or say it is not kept."""
        state = self.state
        if x is None or not state.steps:
            return
        kept = [s.get("index", k) for k, s in enumerate(state.steps)]
        want = round(x)
        if want in kept:
            state.step = kept.index(want)
        else:
            first, last = kept[0], kept[-1]
            state.message = (f"Step {want} is not kept: only steps {first}–{last} keep their graph "
                             f"(the loss curve shows every step).")

    def _slid(self, event):
        if event.new is not None and event.new != self.state.step:
            self.state.step = event.new

    # -- selection -------------------------------------------------------------------------------------
    def _indices_for_line(self):
        sel = self.state.selected_line
        if not sel:
            return []
        ids = set(self.state.nodes_at_line(*sel))
        return [i for i, nid in enumerate(self.view.nodes.data.get("id", [])) if nid in ids]

    def _highlight(self, *events):
        self._ignore_selection = True
        try:
            self.view.nodes.selected.indices = self._indices_for_line()
        finally:
            self._ignore_selection = False

    def _tapped_backward(self, view, new):
        if not new:
            return
        ids = view.nodes.data.get("id", [])
        forward_ids = view.nodes.data.get("forward_id", [])
        if new[0] >= len(ids):
            return
        node_id = forward_ids[new[0]] if new[0] < len(forward_ids) and forward_ids[new[0]] else ids[new[0]]
        if self.state.node(node_id) is not None:
            self.state.selected_node = node_id

    def _tapped(self, attr, old, new):
        if self._ignore_selection or not new:
            return
        ids = self.view.nodes.data.get("id", [])
        if new[0] >= len(ids):
            return
        node_id = ids[new[0]]
        self.state.selected_node = node_id
        node = self.state.node(node_id)
        if node is not None and self.actions is not None:
            cid, line = node_cell_line(node)
            if cid is not None:
                self.actions.goto_line(cid, line)
