"""A plain Bokeh drawing of a captured step, used when engine.viz.bokeh_view cannot be imported.

Same surface as `gradview.engine.viz.bokeh_view.GraphView` as far as the app uses it: `.figure`,
`.nodes` (the "graph-nodes" source), `.edges` ("graph-edges"), `.update(step)` keeping the
positions of surviving nodes.
"""
from __future__ import annotations

from bokeh.models import ColumnDataSource, HoverTool, TapTool
from bokeh.plotting import figure

from gradview.engine.viz.layout import LayoutNode, layout

KIND_COLOURS = {"leaf": "#9ecae1", "param": "#fdae6b", "op": "#e5e5e5", "output": "#a1d99b"}


class GraphView:
    def __init__(self, step=None, direction="LR"):
        self.direction = direction
        self.nodes = ColumnDataSource(name="graph-nodes", data=self._empty_nodes())
        self.edges = ColumnDataSource(name="graph-edges", data={"source": [], "target": [], "xs": [], "ys": []})
        p = figure(tools="pan,wheel_zoom,box_zoom,reset", active_scroll="wheel_zoom", match_aspect=False,
                   toolbar_location="above", sizing_mode="stretch_both", min_height=200)
        p.axis.visible = False
        p.grid.visible = False
        p.outline_line_color = None
        p.multi_line("xs", "ys", source=self.edges, line_color="#888", line_alpha=0.8)
        r = p.rect("x", "y", width=0.9, height=0.42, source=self.nodes, fill_color="colour",
                   line_color="#555", selection_line_color="#d62728", selection_line_width=3,
                   nonselection_fill_alpha=0.5)
        p.text("x", "y", text="label", source=self.nodes, text_align="center", text_baseline="middle",
               text_font_size="9pt")
        p.add_tools(HoverTool(renderers=[r], tooltips=[("", "@label"), ("shape", "@shape"), ("line", "@line")]),
                    TapTool(renderers=[r]))
        self.figure = p
        self._pos = {}
        if step is not None:
            self.update(step)

    @staticmethod
    def _empty_nodes():
        return {k: [] for k in ("id", "label", "kind", "shape", "line", "has_grad", "x", "y", "colour")}

    def update(self, step):
        if step is not None and "steps" in step:
            step = step["steps"][-1] if step["steps"] else None
        nodes = (step or {}).get("nodes", [])
        edges = (step or {}).get("edges", [])
        ids = [str(n["id"]) for n in nodes]
        known = set(ids)
        pairs = [(str(e["source"]), str(e["target"])) for e in edges
                 if str(e["source"]) in known and str(e["target"]) in known]
        prev = {k: v for k, v in self._pos.items() if k in known}
        lay = layout([LayoutNode(i) for i in ids], pairs, direction=self.direction, previous=prev or None)
        self._pos = dict(lay.positions)
        xs = [self._pos[i][0] for i in ids]
        ys = [self._pos[i][1] for i in ids]
        self.nodes.data = {
            "id": ids, "label": [str(n.get("label") or n.get("op") or "") for n in nodes],
            "kind": [n.get("kind", "op") for n in nodes], "shape": [str(n.get("shape")) for n in nodes],
            "line": [n.get("line") if n.get("line") is not None else -1 for n in nodes],
            "has_grad": [n.get("grad") is not None for n in nodes], "x": xs, "y": ys,
            "colour": [KIND_COLOURS.get(n.get("kind"), "#ddd") for n in nodes],
        }
        self.edges.data = {
            "source": [a for a, _ in pairs], "target": [b for _, b in pairs],
            "xs": [[self._pos[a][0], self._pos[b][0]] for a, b in pairs],
            "ys": [[self._pos[a][1], self._pos[b][1]] for a, b in pairs],
        }


def inspector_figure(node, width=None):
    return None
