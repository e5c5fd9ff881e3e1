"""Export one program's graph as a self-contained HTML page.

    python -m app.export SCRIPT.py -o OUT.html [--title TEXT] [--step N] [--json OUT.json] [-- ARGS...]

The script runs under engine.graph.capture(); inside it `import torch` (and `torch.nn`, ...) gives
the engine: an import alias is put in place for this run only and removed afterwards, nothing is
installed as `torch`. The page (engine.viz.save_html) carries BokehJS inline and needs no network.
If the script raises, what ran until then is still exported and the exit status is 1.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys
import traceback

__all__ = ["torch_alias", "run_captured", "main"]


class _TorchAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `torch` and `torch.<name>` as the engine's modules `engine` and `engine.<name>`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        real = "engine" + fullname[len("torch"):]
        try:
            found = importlib.util.find_spec(real)
        except (ImportError, ValueError):
            found = None
        if found is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=found.submodule_search_locations is not None)

    def create_module(self, spec):
        return importlib.import_module("engine" + spec.name[len("torch"):])

    def exec_module(self, module):
        pass  # the engine module is already loaded


class torch_alias:
    """Context manager: `import torch` gives the engine inside the block, and only there."""

    def __enter__(self):
        self._finder = _TorchAlias()
        self._saved = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
        for k in self._saved:
            del sys.modules[k]
        sys.meta_path.insert(0, self._finder)
        return self

    def __exit__(self, *exc):
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
        for k in [k for k in sys.modules if k == "torch" or k.startswith("torch.")]:
            del sys.modules[k]
        sys.modules.update(self._saved)
        return False


def run_captured(script, args=(), *, full_values=64, keep_steps=20):
    """Run a script file under capture with `torch` mapped to the engine.
    Returns (graph, error text or None)."""
    from engine import graph
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


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m app.export",
                                 description="Run a PyTorch-style script on the engine and export its graph as "
                                             "one self-contained HTML page.")
    ap.add_argument("script", help="the Python file to run")
    ap.add_argument("-o", "--output", default=None, help="the HTML file to write (default: SCRIPT.html)")
    ap.add_argument("--title", default=None)
    ap.add_argument("--step", type=int, default=None, help="the step to show first (default: the last backward's)")
    ap.add_argument("--json", default=None, help="also write the captured graph as JSON here")
    ap.add_argument("--direction", choices=("LR", "TB"), default="LR")
    ap.add_argument("--full-values", type=int, default=64)
    ap.add_argument("--keep-steps", type=int, default=20)
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
    from engine.viz import save_html
    title = ns.title or os.path.basename(ns.script)
    save_html(g, out, title=title, step=ns.step, direction=ns.direction)
    if ns.json:
        with open(ns.json, "w", encoding="utf-8") as f:
            f.write(g.to_json())
    steps = g.steps
    nodes = sum(s.node_count for s in steps)
    print(f"wrote {out}: {len(steps)} step{'s' if len(steps) != 1 else ''}, {nodes} nodes captured")
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
