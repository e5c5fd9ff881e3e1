"""The inspector: the chosen node's facts, its value and gradient, and its gradient norm over steps."""
from __future__ import annotations

import html
import math

import panel as pn
import param
from bokeh.models import ColumnDataSource, Span
from bokeh.plotting import figure
from panel.viewable import Viewer

# (the answer's rendering is shared with exported pages)
from gradview.engine.viz.explanation import EXPLAIN_CSS, explanation_html, shape_text, summary_line, values_text  # noqa: F401

from ..state import AppState, node_cell_line

__all__ = ["InspectorPanel", "grad_norm", "explanation_html"]

INSPECTOR_WIDTH = 380  # px: value and gradient side by side, 190 px each

CSS = """
table { border-collapse: collapse; font-size: 12px; }
td { padding: 1px 8px 1px 0; vertical-align: top; }
td.k { color: #777; white-space: nowrap; }
code { font-size: 12px; }
""" + EXPLAIN_CSS


SCROLL_INTO_VIEW = """
if (!cb_obj.text) return;
setTimeout(() => {
  for (const v of Bokeh.index.query((v) => v.model === cb_obj)) {
    const el = v.el;
    if (!el || !el.isConnected) continue;
    const r = el.getBoundingClientRect();
    if (r.height === 0) continue;
    if (r.top >= 0 && r.bottom <= window.innerHeight) continue;
    el.scrollIntoView({block: r.height > window.innerHeight ? 'start' : 'nearest'});
  }
}, 150);
"""


def _flatten(values):
    if isinstance(values, (int, float)):
        yield float(values)
    elif isinstance(values, (list, tuple)):
        for v in values:
            yield from _flatten(v)


def grad_norm(summary) -> float | None:
    """The L2 norm of a gradient from its captured summary (whatever form the summary takes)."""
    if summary is None:
        return None
    if isinstance(summary, (int, float)):
        return abs(float(summary))
    if isinstance(summary, dict):
        for key in ("norm", "l2", "grad_norm"):
            if isinstance(summary.get(key), (int, float)):
                return float(summary[key])
        for key in ("values", "data", "value"):
            if key in summary and summary[key] is not None:
                vals = list(_flatten(summary[key]))
                if vals:
                    return math.sqrt(sum(v * v for v in vals))
        stats = summary.get("stats")
        if isinstance(stats, dict):
            return grad_norm(stats)
        return None
    vals = list(_flatten(summary))
    return math.sqrt(sum(v * v for v in vals)) if vals else None


class InspectorPanel(Viewer):
    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, actions=None, **params):
        super().__init__(state=state, **params)
        self.actions = actions  # what the button calls: actions.explain(node_id)
        from .graph import load_graph_view
        _, self._inspector_figure = load_graph_view()
        self.facts = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(0, 8))
        self.figure_view = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=180)
        self.figure_pane = pn.Column(self.figure_view, visible=False, sizing_mode="stretch_width", margin=0)
        # (one point while hidden: a plot with no data at all cannot set its ranges, and Bokeh warns)
        self.norm_source = ColumnDataSource(data={"step": [0], "norm": [0.0]}, name="grad-norm")
        nf = figure(height=110, sizing_mode="stretch_width", toolbar_location=None, tools="",
                    title="gradient norm over steps")
        nf.line("step", "norm", source=self.norm_source, line_width=2, color="#d4380d")
        nf.scatter("step", "norm", source=self.norm_source, size=4, color="#d4380d")
        self.norm_marker = Span(location=0, dimension="height", line_color="#1677ff", line_dash="dashed")
        nf.add_layout(self.norm_marker)  # the step shown
        nf.title.text_font_size = "11px"
        nf.min_border_left = 30
        self.norm_pane = pn.Column(pn.pane.Bokeh(nf, sizing_mode="stretch_width", height=110, margin=0),
                                   visible=False, sizing_mode="stretch_width", margin=0)
        self.explain_button = pn.widgets.Button(name="why this gradient?", button_type="light", disabled=True,
                                                css_classes=["gv-why"], margin=(2, 8), width=150)
        self.explain_button.on_click(self._ask)
        self.explanation = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(0, 8),
                                        css_classes=["gv-explanation"], visible=False)
        # the answer arrives below the value and gradient readout, under the fold at 1280×800: once
        # drawn, the page scrolls to it (its top first when it is taller than the window)
        self.explanation.jscallback(text=SCROLL_INTO_VIEW)  # (the Bokeh model holds `object` as `text`)
        # (below the value and gradient readout, which stays where it was on a 1280×800 screen)
        self._layout = pn.Column(self.facts, self.figure_pane, self.explain_button, self.explanation,
                                 sizing_mode="stretch_width", margin=0)
        state.param.watch(self._refresh, ["selected_node", "step", "graph_version"])
        state.param.watch(self._show_explanation, ["explanation"])
        self._refresh()

    def _ask(self, *events):
        if self.actions is not None and self.state.selected_node is not None:
            self.actions.explain(self.state.selected_node)

    def _show_explanation(self, *events):
        """The answer for the node and step shown, if that is what it answers."""
        state = self.state
        e = state.explanation
        node = state.node(state.selected_node)
        if not e or node is None or e.get("node") != state.selected_node or e.get("step") != state.step:
            self.explanation.object = ""
            self.explanation.visible = False
            return
        self.explanation.object = explanation_html(e.get("answer"), str(node.get("label", "")))
        self.explanation.visible = True

    def __panel__(self):
        return self._layout

    def _refresh(self, *events):
        state = self.state
        node = state.node(state.selected_node)
        if node is None:
            self.facts.object = ("<div style='color:#777;font-size:12px'>Click a node in the graph to inspect "
                                 "its value and gradient; clicking also jumps to the line that made it.</div>")
            self.figure_pane.visible = False
            self.norm_pane.visible = False
            self.explain_button.disabled = True
            self._show_explanation()
            return
        cid, line = node_cell_line(node)
        where = ""
        if cid is not None:
            try:
                where = f"cell [{state.index(cid) + 1}], line {line}"
            except KeyError:
                where = f"line {line}"
        rows = [
            ("node", f"<b>{html.escape(str(node.get('label', '')))}</b> ({html.escape(str(node.get('kind', '')))})"),
            ("also", ", ".join(node.get("aliases") or ()) or None),
            ("raised", f"<code>{html.escape(node['error'])}</code>" if node.get("error") else None),
            ("op", node.get("op")), ("shape", shape_text(node.get("shape"))), ("dtype", node.get("dtype")),
            ("device", node.get("device")), ("from", where or None),
            ("code", f"<code>{html.escape(str(node.get('code')))}</code>" if node.get("code") else None),
            ("module", node.get("module")),
            ("time", f"{node['time_us']:.0f} µs" if isinstance(node.get("time_us"), (int, float)) else None),
            ("value", f"<code>{html.escape(summary_line(node.get('value')))}</code>" if node.get("value") else None),
            ("grad", f"<code>{html.escape(summary_line(node.get('grad')))}</code>"),
        ]
        body = "".join(f"<tr><td class='k'>{k}</td><td>{v if k in ('node', 'raised', 'code', 'value', 'grad') else html.escape(str(v))}</td></tr>"
                       for k, v in rows if v not in (None, ""))
        self.facts.object = f"<table>{body}</table>"
        self.explain_button.disabled = self.actions is None or state.explain_target(state.selected_node) is None
        self._show_explanation()
        try:
            # (as wide as the inspector column is at 1280 px: wider panels would be cut off there)
            fig = self._inspector_figure(node, width=INSPECTOR_WIDTH)
        except Exception:  # noqa: BLE001
            fig = None
        if fig is not None:
            fig.sizing_mode = "stretch_width"
            self.figure_view.object = fig
        self.figure_pane.visible = fig is not None
        history = [(i, grad_norm(n.get("grad"))) for i, n in state.node_history(state.selected_node)]
        history = [(i, g) for i, g in history if g is not None]
        self.norm_source.data = {"step": [i for i, _ in history], "norm": [g for _, g in history]}
        self.norm_pane.visible = len(history) > 1
        current = state.current_step()
        if current is not None:
            self.norm_marker.location = current.get("index", state.step)
