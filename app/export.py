"""Export one program's graph as a self-contained HTML page.

    python -m gradview.app.export SCRIPT.py -o OUT.html [--title TEXT] [--step N] [--json OUT.json] [--try-it URL]
                         [--view forward|backward|both] [--no-player] [--no-explain] [-- ARGS...]

The script runs under engine.graph.capture(); inside it `import torch` (and `torch.nn`, ...) gives
the engine: an import alias is put in place for this run only and removed afterwards, nothing is
installed as `torch`. The page (engine.viz.save_html) carries BokehJS inline and needs no network.
If the script raises, what ran until then is still exported and the exit status is 1.
"""
from __future__ import annotations

import argparse
import os
import re
import runpy
import sys
import traceback

from gradview.engine.run import torch_alias

__all__ = ["torch_alias", "run_captured", "add_try_it_link", "main"]


def run_captured(script, args=(), *, full_values=64, keep_steps=20):
    """Run a script file under capture with `torch` mapped to the engine.
    Returns (graph, error text or None)."""
    from gradview.engine import graph
    script = os.path.abspath(script)
    old_argv, old_path0 = sys.argv, sys.path[0] if sys.path else None
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(script))
    error = None
    try:
        with torch_alias():
            with graph.capture(full_values=full_values, keep_steps=keep_steps) as g:
                try:
                    runpy.run_path(script, run_name="__main__")
                except SystemExit as exc:
                    if exc.code not in (None, 0):
                        error = f"SystemExit: {exc.code}"
                except Exception:  # noqa: BLE001  the script's error is reported, the graph still exported
                    error = traceback.format_exc()
    finally:
        sys.argv = old_argv
        if sys.path and sys.path[0] == os.path.dirname(script):
            sys.path.pop(0)
        elif old_path0 is not None and old_path0 not in sys.path:
            sys.path.insert(0, old_path0)
    return g, error


def add_try_it_link(page, script, app_url):
    """Put a "Try it" link at the top of an exported page: the static app, opened on the script."""
    import html
    from gradview.app.notebook import share_url
    with open(script, encoding="utf-8") as f:
        url = share_url(app_url, [f.read()])
    link = ('<p style="font:13px system-ui,sans-serif;margin:6px 8px">'
            f'<a class="gradview-try" href="{html.escape(url)}">Try it: edit and run this code in your browser</a></p>')
    with open(page, encoding="utf-8") as f:
        text = f.read()
    body = re.search(r"</head>\s*<body[^>]*>", text)  # the page's own tag (BokehJS inline mentions "<body>")
    if body is not None:
        text = text[:body.end()] + "\n" + link + text[body.end():]
    with open(page, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m gradview.app.export",
                                 description="Run a PyTorch-style script on the engine and export its graph as "
                                             "one self-contained HTML page.")
    ap.add_argument("script", help="the Python file to run")
    ap.add_argument("-o", "--output", default=None, help="the HTML file to write (default: SCRIPT.html)")
    ap.add_argument("--title", default=None)
    ap.add_argument("--step", type=int, default=None, help="the step to show first (default: the last backward's)")
    ap.add_argument("--json", default=None, help="also write the captured graph as JSON here")
    ap.add_argument("--direction", choices=("LR", "TB"), default="LR")
    ap.add_argument("--view", choices=("forward", "backward", "both"), default="forward",
                    help="the graph shown first (keys f, b, v switch)")
    ap.add_argument("--no-player", action="store_true", help="leave out the step-through player")
    ap.add_argument("--no-explain", action="store_true",
                    help="leave out the answers to \"why this gradient?\" (worked out when the page is written)")
    ap.add_argument("--full-values", type=int, default=64)
    ap.add_argument("--keep-steps", type=int, default=20)
    ap.add_argument("--try-it", metavar="URL", default=None,
                    help="the published static app (python -m gradview.app.build): the page links to it, opened on "
                         "the script")
    argv = list(sys.argv[1:] if argv is None else argv)
    script_args = []
    if "--" in argv:  # what follows -- goes to the script
        k = argv.index("--")
        argv, script_args = argv[:k], argv[k + 1:]
    ns = ap.parse_args(argv)
    out = ns.output or os.path.splitext(ns.script)[0] + ".html"
    g, error = run_captured(ns.script, script_args, full_values=ns.full_values, keep_steps=ns.keep_steps)
    if error:
        sys.stderr.write(error if error.endswith("\n") else error + "\n")
    from gradview.engine.viz import save_html
    title = ns.title or os.path.basename(ns.script)
    save_html(g, out, title=title, step=ns.step, direction=ns.direction, view=ns.view, player=not ns.no_player,
              explain=not ns.no_explain)
    if ns.try_it:
        add_try_it_link(out, ns.script, ns.try_it)
    if ns.json:
        with open(ns.json, "w", encoding="utf-8") as f:
            f.write(g.to_json())
    steps = g.steps
    nodes = sum(s.node_count for s in steps)
    print(f"wrote {out}: {len(steps)} step{'s' if len(steps) != 1 else ''}, {nodes} nodes captured")
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
