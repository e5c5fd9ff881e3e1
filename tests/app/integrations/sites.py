"""Building the example sites of docs/examples/ (Sphinx and MkDocs) in a temporary folder, in
process, for the integration tests and the browser tests."""
from __future__ import annotations

import atexit
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EXAMPLES = os.path.join(ROOT, "docs", "examples")


def copy_example(name, dest):
    """docs/examples/<name> copied to dest (built outputs and caches left out); returns dest."""
    shutil.copytree(os.path.join(EXAMPLES, name), dest, ignore=shutil.ignore_patterns("_build", "site", ".cache"))
    return dest


def build_sphinx(src, out, **overrides):
    """Build the Sphinx project in src into out/html (doctrees in out/doctrees, kept between builds,
    so a second call is an incremental build). Returns (status text, warnings text)."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils
    status, warnings = io.StringIO(), io.StringIO()
    with patch_docutils(str(src)), docutils_namespace():  # as sphinx-build: each build registers afresh
        app = Sphinx(str(src), str(src), os.path.join(out, "html"), os.path.join(out, "doctrees"), "html",
                     confoverrides=overrides, status=status, warning=warnings)
        app.build()
    return status.getvalue(), warnings.getvalue()


def mkdocs_entry_point(folder):
    """Make `gradview` findable as a MkDocs plugin where this checkout is not pip-installed: a
    distribution record holding only the entry point, in `folder` (to put on sys.path)."""
    info = os.path.join(folder, "gradview_docs_plugin-0.dist-info")
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: gradview-docs-plugin\nVersion: 0\n")
    with open(os.path.join(info, "entry_points.txt"), "w") as f:
        f.write("[mkdocs.plugins]\ngradview = app.integrations.mkdocs:GradviewPlugin\n")
    return folder


class BuildAborted(Exception):
    """MkDocs stopped the build; `log` is what it logged (the error among it)."""

    def __init__(self, log):
        super().__init__(log)
        self.log = log


def build_mkdocs(config_file, site_dir):
    """Build a MkDocs site (the plugin's entry point must be findable). Returns the log text;
    raises BuildAborted when the build stops."""
    from mkdocs.commands.build import build
    from mkdocs.exceptions import Abort
    from mkdocs.config import load_config
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setLevel(logging.INFO)
    logger = logging.getLogger("mkdocs")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        cfg = load_config(config_file=str(config_file), site_dir=str(site_dir))
        cfg.plugins.on_startup(command="build", dirty=False)
        try:
            build(cfg)
        except Abort:
            raise BuildAborted(buf.getvalue()) from None
        finally:
            cfg.plugins.on_shutdown()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return buf.getvalue()


def mkdocs_on_path(folder):
    """Put the entry point folder on sys.path (for in-process builds); returns it."""
    mkdocs_entry_point(folder)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return folder


_built = {}


def _scratch():
    if "dir" not in _built:
        _built["dir"] = tempfile.mkdtemp(prefix="gradview-docs-")
        atexit.register(shutil.rmtree, _built["dir"], True)
    return _built["dir"]


def built_sphinx_example():
    """docs/examples/sphinx built once per test session: (source folder, output folder, status,
    warnings); the HTML is in output/html. Tests that change it work on a copy."""
    if "sphinx" not in _built:
        src = copy_example("sphinx", os.path.join(_scratch(), "sphinx-src"))
        out = os.path.join(_scratch(), "sphinx-out")
        _built["sphinx"] = (src, out, *build_sphinx(src, out))
    return _built["sphinx"]


def built_mkdocs_example():
    """docs/examples/mkdocs built once per test session: (project folder, site folder, log)."""
    if "mkdocs" not in _built:
        mkdocs_on_path(os.path.join(_scratch(), "entry-point"))
        project = copy_example("mkdocs", os.path.join(_scratch(), "mkdocs-project"))
        site = os.path.join(_scratch(), "mkdocs-site")
        _built["mkdocs"] = (project, site, build_mkdocs(os.path.join(project, "mkdocs.yml"), site))
    return _built["mkdocs"]


def executed_notebook_html(timeout=180):
    """docs/examples/notebook.ipynb run by `jupyter nbconvert --execute --to html` (as `python -m
    nbconvert`, once per test session, in a subprocess that imports this checkout): the HTML file."""
    if "notebook" not in _built:
        out = os.path.join(_scratch(), "notebook")
        os.makedirs(out, exist_ok=True)
        shutil.copy(os.path.join(EXAMPLES, "notebook.ipynb"), out)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        proc = subprocess.run([sys.executable, "-m", "nbconvert", "--execute", "--to", "html",
                               f"--ExecutePreprocessor.timeout={timeout}", "notebook.ipynb"],
                              cwd=out, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"nbconvert failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        _built["notebook"] = os.path.join(out, "notebook.html")
    return _built["notebook"]


WALK_BLOCK = """\
import torch
x = torch.ones(2, 2, requires_grad=True)
y = x + 2
z = y * y * 3
out = z.mean()
out.backward()
"""


def graphs_in(page):
    """What each graph of a built page starts with, read from its Bokeh document (in page order):
    [{"view": the view shown, "views": the switch's choices, "player": whether it has one,
    "answers": nodes with a "why this gradient?" answer}]."""
    import html
    import json
    import re
    import ast
    out = []
    whole = [html.unescape(t) for t in re.findall(r'<script type="application/json" id="[^"]*">\s*(.*?)\s*</script>',
                                                  page, re.S)]
    # a fragment (components()) writes its document as a JavaScript string
    parts = [ast.literal_eval("'" + t + "'") for t in re.findall(r"const docs_json = '(.*?)';\n", page)]
    for text in whole + parts:
        docs = json.loads(text)
        for doc in docs.values():
            models = []

            def walk(v):
                if isinstance(v, dict):
                    if v.get("type") == "object" and isinstance(v.get("attributes"), dict):
                        models.append(v)
                    for x in v.values():
                        walk(x)
                elif isinstance(v, list):
                    for x in v:
                        walk(x)
            walk(doc)
            named = {m["attributes"].get("name"): m["attributes"] for m in models if m["attributes"].get("name")}
            switch = named.get("graph-view")
            answers = 0
            for m in models:
                if m.get("name") == "CustomJS" and "cb_obj.origin === button" in m["attributes"].get("code", ""):
                    args = dict(m["attributes"]["args"]["entries"])
                    answers = sum(len(t.get("entries", t)) for t in args["table"])
            out.append({"view": switch["labels"][switch.get("active", 0)] if switch else "forward",
                        "views": switch["labels"] if switch else ["forward"],
                        "player": "graph-player" in named, "answers": answers})
    return out
