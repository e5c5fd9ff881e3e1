"""Computation-graph drawing: layout (pure Python), grouping, Bokeh rendering and export.

    import gradview.engine.viz as viz
    viz.draw(loss)                          # a tensor's autograd graph, inline in Jupyter
    viz.save_html(g, "graph.html")          # a captured Graph/Step (or a tensor) as one page
    script, div = viz.fragment(g)           # the same, for a page that loads BokehJS once
    view = viz.GraphView(step)              # the interactive Bokeh view the app embeds

`layout` and `folding` need nothing but the standard library; Bokeh is imported only by the
drawing functions, so `from gradview import engine` works without it.
"""
from .layout import Layout, LayoutNode, fold_groups, layout  # noqa: F401

__all__ = ["layout", "fold_groups", "Layout", "LayoutNode", "draw", "save_html", "to_html", "page", "GraphView",
           "inspector_figure", "export_png", "export_svg", "Drawing", "group_nodes", "fragment", "bokehjs_files"]

_LAZY = {"draw": "export", "save_html": "export", "to_html": "export", "page": "export", "Drawing": "export",
         "export_png": "export", "export_svg": "export", "iframe_html": "export",
         "GraphView": "bokeh_view", "inspector_figure": "bokeh_view", "group_nodes": "folding",
         "auto_collapse": "folding", "fragment": "embed", "bokehjs_files": "embed"}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gradview.engine.viz' has no attribute '{name}'")
    import importlib
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
