"""Sphinx extension: a `gradview` directive that runs PyTorch code on the engine at build time and
draws its graph in the page (no iframe; BokehJS loaded once per page from `_static/gradview/`).

conf.py:

    extensions = ["gradview.app.integrations.sphinx"]        # with "myst_parser" for Markdown pages
    gradview_on_error = "raise"                      # or "warn": the page shows the error instead
    gradview_defaults = {"height": "360"}            # default options for every block
    gradview_try_it = "https://you.github.io/gradview/"   # the static app: a "try it" under each graph

reStructuredText:

    .. gradview::
       :step: 0
       :direction: TB

       import torch
       x = torch.ones(3, requires_grad=True)
       (x * 2).sum().backward()

MyST Markdown: the same inside ```{gradview} ... ```. Options: step, view (forward, backward or
both: the graph shown first), player (true/false), direction, height, width, title, show-code,
show-output, try-it (true/false), file (a script, relative to the page, or to the source folder
with a leading /). Keys (f, b, v, ← →) go to the graph under the pointer, else the one last clicked.
Each block runs alone (fresh namespace, seed 0); a rebuild
re-runs only the blocks whose code, script or options changed (the rendered blocks are kept under
the doctree folder).
"""
from __future__ import annotations

import os
import weakref

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.errors import SphinxError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .blocks import (OPTION_NAMES, BlockCache, BlockOptionError, copy_bokehjs, error_html, parse_options,
                     render_block, script_path, with_try_it)

logger = logging.getLogger(__name__)

# per build environment: (the BlockCache, the default BlockOptions), set when the builder starts
_builds = weakref.WeakKeyDictionary()

CONTAINER_CLASS = "gradview"


class GradviewError(SphinxError):
    category = "gradview error"


class GradviewDirective(SphinxDirective):
    has_content = True
    option_spec = {name: directives.unchanged for name in OPTION_NAMES}

    def _fail(self, where, message, details=""):
        """Stop the build with the page and line, or (gradview_on_error = "warn") warn and go on."""
        if self.config.gradview_on_error == "raise":
            raise GradviewError(f"{where}: {message}" + (f"\n{details}" if details else ""))
        logger.warning(f"gradview: {message}" + (f"\n{details}" if details else ""), location=where)

    def run(self):
        source, directive_line = self.get_source_info()
        first_line = _first_code_line(source, directive_line, self.content) or self.content_offset + 1
        code = "\n".join(self.content) + "\n"
        try:
            cache, defaults = _builds[self.env]
            options = parse_options(self.options, defaults)
            if options.file:
                script = script_path(options.file, os.path.dirname(source), self.env.srcdir)
                self.env.note_dependency(script)  # an edited script re-reads the page
            elif not code.strip():
                raise BlockOptionError("no code: give the block content or the file option")
            result = render_block(code, options, base_dir=os.path.dirname(source), root_dir=self.env.srcdir,
                                  cache=cache)
        except BlockOptionError as exc:
            self._fail(f"{source}:{directive_line}", str(exc))
            return []
        container = nodes.container(classes=[CONTAINER_CLASS])
        self.set_source_info(container)
        if options.show_code:
            block = nodes.literal_block(result.code, result.code, language="python")
            block.source, block.line = source, first_line
            container += block
        if options.show_output and result.printed:
            container += nodes.literal_block(result.printed, result.printed, language="text",
                                             classes=["gradview-output"])
        if result.error:
            path, line = result.location(source, first_line)
            where = f"{path}:{line}" if line else f"{source}:{directive_line}"
            self._fail(where, f"the code raised {result.error_summary}", result.error)
            container += nodes.raw("", error_html(result, source, first_line), format="html")
        if result.html:
            container += nodes.raw("", with_try_it(result, options, self.config.gradview_try_it), format="html")
            _pages_with_graphs(self.env).add(self.env.docname)
        return [container]


def _first_code_line(source, directive_line, content):
    """The page line of the block's first code line, found in the page's text: MyST does not give
    docutils the content's offset, reStructuredText does, and this serves both."""
    first = next((line.strip() for line in content if line.strip()), None)
    if first is None:
        return None
    try:
        with open(source, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for k in range(max(directive_line - 1, 0), len(lines)):
        if lines[k].strip() == first:
            return k + 1 - next(i for i, line in enumerate(content) if line.strip())
    return None


def _pages_with_graphs(env):
    """The documents with a graph, kept in the environment (so parallel and incremental builds know)."""
    if not hasattr(env, "gradview_pages"):
        env.gradview_pages = set()
    return env.gradview_pages


def _purge(app, env, docname):
    _pages_with_graphs(env).discard(docname)


def _merge(app, env, docnames, other):
    _pages_with_graphs(env).update(_pages_with_graphs(other))


def _start(app):
    try:
        defaults = parse_options(app.config.gradview_defaults)
    except BlockOptionError as exc:
        raise GradviewError(f"gradview_defaults in conf.py: {exc}") from None
    _builds[app.env] = (BlockCache(os.path.join(app.doctreedir, "gradview")), defaults)
    if app.config.gradview_on_error not in ("raise", "warn"):
        raise GradviewError(f"gradview_on_error must be 'raise' or 'warn', not {app.config.gradview_on_error!r}")


def _load_bokehjs(app, pagename, templatename, context, doctree):
    """Pages with graphs load BokehJS (each file once), the others nothing."""
    if app.builder.format != "html" or pagename not in _pages_with_graphs(app.env):
        return
    from gradview.engine.viz import bokehjs_files
    for name, _ in bokehjs_files():
        app.add_js_file(f"gradview/{name}")  # in the head: loaded before the graphs' scripts run


def _finish(app, exception):
    if exception is not None:
        return
    cache, _ = _builds[app.env]
    if cache.runs or cache.hits:
        logger.info(f"gradview: {cache.runs} block(s) run, {cache.hits} reused from the last build")
    if app.builder.format == "html" and _pages_with_graphs(app.env):
        copy_bokehjs(os.path.join(app.outdir, "_static"))


def setup(app):
    app.add_config_value("gradview_on_error", "raise", "env")
    app.add_config_value("gradview_defaults", {}, "env")
    app.add_config_value("gradview_try_it", None, "env")
    app.add_directive("gradview", GradviewDirective)
    app.connect("builder-inited", _start)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("html-page-context", _load_bokehjs)
    app.connect("build-finished", _finish)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
