"""Run a PyTorch script on the engine: `import torch` inside it gives the engine.

    python -m gradview.engine.run SCRIPT.py [ARGS...]

The alias is in place only while the script runs; nothing is installed as `torch`, so a real
PyTorch elsewhere in the process stays real.
"""
import os
import runpy
import sys

from ._alias import ModuleAlias

__all__ = ["torch_alias", "run_script", "main"]


class torch_alias:
    """Context manager: `import torch` gives the engine inside the block, and only there."""

    def __enter__(self):
        self._finder = ModuleAlias("torch", __package__)   # __package__: the engine, however installed
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


def run_script(path, args=()):
    """Run `path` as __main__ with `torch` mapped to the engine and `sys.argv` set to its args."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [path, *args]
    # as `python SCRIPT.py` does: the script's folder first on the path, so its sibling modules import
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        with torch_alias():
            runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: python -m {__package__}.run SCRIPT.py [ARGS...]   (gradview run SCRIPT.py [ARGS...])\n")
        print(__doc__.strip())
        return 0 if argv else 2
    run_script(argv[0], argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
