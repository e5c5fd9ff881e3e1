"""Jupyter: a `%%gradview` cell magic that runs the cell on the engine under capture and shows its
graph below the cell, step slider included.

    %load_ext gradview.app.integrations.jupyter

    %%gradview step=0 direction=TB height=360
    import torch
    w = torch.ones(3, requires_grad=True)
    for i in range(3):
        (w * i).sum().backward()

The cell runs in the notebook's namespace (its names stay for the next cells) with `import torch`
giving the engine for the cell. What it printed shows as usual; an error shows its traceback, and
the graph up to the failing op. The graph is a whole page in an `<iframe srcdoc>`: it needs no
notebook extension, no server and no network, so it shows in classic Notebook, JupyterLab, VS Code
and in `jupyter nbconvert --to html` output, and a saved notebook keeps it (about 1.5 MB a graph).
The captured Graph is left in the namespace as `_gradview_graph`.
Options as for the documentation blocks: step, view (forward, backward or both), player (true/false),
direction, height, width, title, file.
"""
from __future__ import annotations

import os
import sys

from IPython.core.magic import Magics, cell_magic, magics_class

from .blocks import BlockOptionError, parse_option_line, parse_options, run_block

__all__ = ["GradviewMagics", "GraphOutput", "load_ipython_extension", "graph_display"]

PAGE_CHROME = 330   # the exported page's title, search box and keys line, around the figure
STEPS_CHROME = 190  # the step slider and the loss curve of a run with several kept steps


class GraphOutput:
    """What the magic displays: the graph's page as an iframe (text/html)."""

    def __init__(self, html):
        self.html = html

    def _repr_html_(self):
        return self.html


def graph_display(g, options):
    """A displayable GraphOutput showing captured graph `g` as `options` (BlockOptions) say."""
    from gradview.engine.viz.export import iframe_html
    several = sum(1 for s in g.steps if s.node_count) > 1
    height = options.height + PAGE_CHROME + (STEPS_CHROME if several else 0)
    return GraphOutput(iframe_html(g, height=height, title=options.title, step=options.step,
                                   direction=options.direction, width=options.width, figure_height=options.height,
                                   view=options.view, player=options.player))


@magics_class
class GradviewMagics(Magics):
    @cell_magic
    def gradview(self, line, cell):
        """Run the cell on the engine under capture and show its graph: `%%gradview [step=N]
        [direction=LR|TB] [height=PX] [width=PX] [title=TEXT] [view=forward|backward|both] [player=false]
        [file=SCRIPT]`."""
        from IPython.display import display
        try:
            options = parse_options(parse_option_line(line))
        except (BlockOptionError, ValueError) as exc:
            print(f"%%gradview: {exc}", file=sys.stderr)
            return
        script = os.path.abspath(options.file) if options.file else None
        g, result = run_block(cell, script=script, namespace=self.shell.user_ns, keep_printed=False)
        self.shell.user_ns["_gradview_graph"] = g
        if result.error:
            sys.stderr.write(result.error)
            sys.stderr.flush()
        steps = g.steps
        if options.step is not None and not -len(steps) <= options.step < len(steps):
            print(f"%%gradview: step {options.step} does not exist: the cell kept {len(steps)} step(s)",
                  file=sys.stderr)
            return
        if any(s.node_count for s in steps):
            display(graph_display(g, options))


def load_ipython_extension(ipython):
    ipython.register_magics(GradviewMagics)
