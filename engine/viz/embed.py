"""Graphs as fragments of a host page that loads BokehJS once (documentation sites).

    script, div = engine.viz.fragment(g, title="relu layer")   # no BokehJS inside
    for name, path in engine.viz.bokehjs_files():               # copy these next to the site's pages
        ...

An exported page (`save_html`) carries its own copy of BokehJS (about 1.5 MB). A page with many
graphs should load BokehJS once, from the site's static files, and hold each graph's data only:
`fragment` gives the same layout as `page()` as a `<script>` (the graph's document) and a `<div>`
(where it is drawn), for any number of graphs on one page, provided the scripts of `bokehjs_files()`
are loaded in the page's head (synchronously or with `defer`), before the fragments run.
"""
from __future__ import annotations

import os

__all__ = ["fragment", "bokehjs_files", "BOKEHJS_COMPONENTS"]

# the BokehJS bundles a graph page uses: the core (figure, glyphs, tools) and the widgets (title,
# search box, inspector, step slider)
BOKEHJS_COMPONENTS = ("bokeh", "bokeh-widgets")


def bokehjs_files():
    """[(file name, absolute path)] of the minified BokehJS scripts a page of fragments loads, in
    load order. The names carry Bokeh's version, so a site never pairs a cached old BokehJS with a
    newer document."""
    import bokeh
    from bokeh.util.paths import bokehjs_path
    js = os.path.join(str(bokehjs_path()), "js")
    return [(f"{name}-{bokeh.__version__}.min.js", os.path.join(js, f"{name}.min.js")) for name in BOKEHJS_COMPONENTS]


def fragment(obj, *, title=None, step=None, **view_kw):
    """(script, div) HTML for `obj` (a Graph, Step, their dicts or a Tensor) drawn as `page()` draws
    it (search box, inspector and, for a Graph with several kept steps, the step slider and loss
    curve), without BokehJS: the host page loads `bokehjs_files()` once."""
    from bokeh.embed import components
    from .export import page
    root = page(obj, title=title, step=step, **view_kw)
    script, div = components(root)
    return script, div
