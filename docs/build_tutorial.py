"""Build the tutorial page from the app's walkthrough, with every cell's graph embedded.

    python docs/build_tutorial.py [--source app/examples/walkthrough.py] [--out docs/_build]

Writes, under --out:
  tutorial.html        one self-contained page: the walkthrough's text and code, what each cell
                       printed, and its graph (interactive, BokehJS inline, no network needed);
  graphs/cell-N.html   each graph as its own page (engine.viz.save_html), for iframes;
  tutorial.md          the same tutorial as Markdown with those iframes, for MkDocs.

The walkthrough is a plain Python file whose cells start with `# %%`; a cell's leading comment lines
are its text. Cells run in order in one namespace, each under engine.graph.capture(), with
`import torch` giving the engine (as in the app).
"""
from __future__ import annotations

import argparse
import contextlib
import html
import io
import linecache
import os
import sys
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PAGE_CSS = """
body { font: 15px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; max-width: 1320px;
       margin: 24px auto; padding: 0 20px; }
h1 { font-size: 26px; margin-bottom: 4px; }
.lead { color: #57606a; margin-top: 0; }
.cell { margin: 34px 0 10px; border-top: 1px solid #e5e7eb; padding-top: 14px; }
.cell h2 { font-size: 17px; margin: 0 0 6px; color: #57606a; }
.text p { margin: 4px 0; }
pre.code { background: #f6f8fa; border-radius: 6px; padding: 10px 12px; font-size: 13px; overflow-x: auto; }
pre.out { background: #fff; border-left: 3px solid #d0d7de; padding: 4px 12px; font-size: 13px; color: #374151; }
pre.err { border-left-color: #cf222e; color: #cf222e; }
.graph { margin-top: 8px; }
"""


def split_cells(source):
    """[(text lines, code)] from a `# %%` file."""
    cells = []
    for chunk in source.split("# %%"):
        lines = chunk.strip("\n").splitlines()
        if not any(line.strip() for line in lines):
            continue
        text = []
        while lines and (lines[0].startswith("#") or not lines[0].strip()):
            line = lines.pop(0)
            if line.startswith("#"):
                text.append(line.lstrip("#").strip())
        cells.append((text, "\n".join(lines).rstrip() + "\n"))
    return cells


def run_cells(cells, source_name):
    """Run each cell under capture; returns [(text, code, printed, error, graph)]."""
    from gradview.app.export import torch_alias
    from gradview.engine import graph
    ns = {"__name__": "__main__"}
    results = []
    with torch_alias():
        for k, (text, code) in enumerate(cells):
            filename = f"<{source_name} cell {k + 1}>"
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            out = io.StringIO()
            error = None
            with contextlib.redirect_stdout(out):
                with graph.capture() as g:
                    try:
                        exec(compile(code, filename, "exec"), ns)
                    except Exception:  # noqa: BLE001  shown in the page
                        error = traceback.format_exc(limit=-1)
            results.append((text, code, out.getvalue(), error, g))
    return results


def _step_to_show(g):
    steps = g.steps
    if not steps:
        return None
    closed = [s for s in steps if s.closed and not s.truncated]
    return (closed or steps)[-1]


def build(source, out_dir, width=880, height=430):
    from bokeh.embed import components
    from bokeh.embed.bundle import bundle_for_objs_and_resources
    from bokeh.resources import INLINE
    from gradview.engine.viz import page, save_html
    with open(source, encoding="utf-8") as f:
        text = f.read()
    name = os.path.splitext(os.path.basename(source))[0]
    cells = run_cells(split_cells(text), name)
    os.makedirs(os.path.join(out_dir, "graphs"), exist_ok=True)
    roots, blocks, md = [], [], ["# Walkthrough: see the graph", "",
                                 "Each cell below ran on the engine under `gradview.engine.graph.capture()`; its graph is "
                                 "interactive: hover a node, click it to see its value and gradient, scroll to zoom.",
                                 ""]
    for k, (text_lines, code, printed, error, g) in enumerate(cells, start=1):
        step = _step_to_show(g)
        graph_file = None
        if step is not None and step.node_count:
            graph_file = f"graphs/cell-{k}.html"
            save_html(step, os.path.join(out_dir, graph_file), title=f"cell {k}", width=width, height=height)
            roots.append(page(step, title=f"cell {k}: {step.node_count} nodes", width=width, height=height))
        else:
            roots.append(None)
        blocks.append((k, text_lines, code, printed, error))
        md += [f"## Cell {k}", ""] + [line for line in text_lines] + ["", "```python", code.rstrip(), "```", ""]
        if printed:
            md += ["```text", printed.rstrip(), "```", ""]
        if graph_file:
            md += [f'<iframe src="{graph_file}" width="100%" height="{height + 330}" style="border:0"></iframe>', ""]
    drawn = [r for r in roots if r is not None]
    script, divs = components(drawn) if drawn else ("", [])
    bundle = bundle_for_objs_and_resources(drawn, INLINE)  # only the BokehJS parts these graphs use
    resources = bundle._render_css() + "\n" + bundle._render_js()
    divs = iter(divs)
    parts = []
    for (k, text_lines, code, printed, error), root in zip(blocks, roots):
        paras = "".join(f"<p>{html.escape(line)}</p>" for line in text_lines if line)
        parts.append(f"<div class='cell'><h2>Cell {k}</h2><div class='text'>{paras}</div>"
                     f"<pre class='code'>{html.escape(code)}</pre>")
        if printed:
            parts.append(f"<pre class='out'>{html.escape(printed)}</pre>")
        if error:
            parts.append(f"<pre class='out err'>{html.escape(error)}</pre>")
        if root is not None:
            parts.append(f"<div class='graph'>{next(divs)}</div>")
        parts.append("</div>")
    page_html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Walkthrough: see the graph</title>
<style>{PAGE_CSS}</style>
{resources}
{script}
</head><body>
<h1>Walkthrough: see the graph</h1>
<p class="lead">The code of <code>{html.escape(os.path.relpath(source, ROOT))}</code>, run cell by cell on the engine.
Every graph below is interactive: hover a node for its shape and values, click it to inspect its value and gradient
and to light up the path to the output, scroll to zoom, drag to pan.</p>
{''.join(parts)}
</body></html>
"""
    with open(os.path.join(out_dir, "tutorial.html"), "w", encoding="utf-8") as f:
        f.write(page_html)
    with open(os.path.join(out_dir, "tutorial.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")
    return os.path.join(out_dir, "tutorial.html")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=os.path.join(ROOT, "app", "examples", "walkthrough.py"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "_build"))
    ns = ap.parse_args(argv)
    path = build(ns.source, ns.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
