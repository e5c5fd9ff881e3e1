"""gradview: a PyTorch-compatible autograd engine on NumPy and a live graph of every run.

Installed, the repository's folders are the subpackages `gradview.engine` (engine/) and
`gradview.app` (app/), with the browser's files in `gradview/static` (static/). Run from a
checkout, the same names resolve to the folders beside this one.
"""
from __future__ import annotations

import os
from pathlib import Path

__version__ = "0.1.0"   # the one place the version is written (pyproject.toml reads it)

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)

# A checkout keeps engine/ and app/ beside this folder; an installed wheel has them inside it.
if not os.path.isdir(os.path.join(_HERE, "engine")) and os.path.isfile(os.path.join(_ROOT, "engine", "__init__.py")):
    __path__.append(_ROOT)  # noqa: F821 (the package's own search path)


def alias_checkout_folder(name: str) -> None:
    """Make the folder name `name` (engine, app), imported from a checkout, stand for `gradview.<name>`:
    `import engine as torch` and `python -m app.build` keep working there, with one copy of each module."""
    import importlib
    import sys
    from .engine._alias import ModuleAlias
    if not any(isinstance(f, ModuleAlias) and f.short == name for f in sys.meta_path):
        sys.meta_path.insert(0, ModuleAlias(name, f"{__name__}.{name}"))
    sys.modules[name] = importlib.import_module(f"{__name__}.{name}")


def import_root() -> str:
    """The folder to put on a child process's PYTHONPATH so that it imports these packages."""
    return _ROOT


def static_dir() -> Path:
    """The browser's files (page and worker templates, the WebGPU test page): `gradview/static` in
    an installed wheel, `static/` of a checkout."""
    inside = Path(_HERE) / "static"
    return inside if inside.is_dir() else Path(_ROOT) / "static"
