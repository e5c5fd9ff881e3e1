"""The `gradview` command: the `python -m` forms under one name.

    gradview serve [--port N] [--address ADDR]    # python -m gradview.app: the app on 127.0.0.1
    gradview export SCRIPT.py -o OUT.html         # python -m gradview.app.export: one graph as a page
    gradview build --out DIR                      # python -m gradview.app.build: the static site
    gradview run SCRIPT.py [ARGS...]              # python -m gradview.engine.run: a PyTorch script on the engine
    gradview --version                            # gradview's version

`gradview COMMAND --help` shows a command's options.
"""
from __future__ import annotations

import importlib
import sys

from gradview import __version__

__all__ = ["COMMANDS", "main"]

# command -> (the module whose main() it runs, what it does)
COMMANDS = {
    "serve": ("gradview.app.__main__", "serve the app (127.0.0.1 unless told otherwise)"),
    "export": ("gradview.app.export", "run a script under capture and export its graph as one HTML page"),
    "build": ("gradview.app.build", "build the static site that runs in the browser on Pyodide"),
    "run": ("gradview.engine.run", "run a PyTorch script on the engine (`import torch` gives the engine)"),
}


def usage():
    lines = ["usage: gradview COMMAND [OPTIONS]", "", "commands:"]
    lines += [f"  {name:<8} {what}" for name, (_, what) in COMMANDS.items()]
    lines += ["", "gradview COMMAND --help shows a command's options; gradview --version its version."]
    return "\n".join(lines)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        print(f"gradview {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"gradview: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return module.main(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
