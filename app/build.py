"""The static site: `python -m gradview.app.build --out DIR [--pyodide-dist DIST]`.

The site runs app/main.py, unchanged, in the browser on Pyodide (the same code `panel serve`
runs; see app/browser.py for how it starts there). It is a plain folder of files with relative
addresses only, so it works from any sub-path (GitHub Pages project sites included):

    index.html, gradview.js, worker.js, gradview.css   the page, its loading screen, the worker
    pyodide/gradview-<v>-py3-none-any.whl              the engine and the app as installed (or this checkout's)
    pyodide/..., cdn/...                               with --pyodide-dist only: every other file

Without `--pyodide-dist`, Pyodide and the packages come from their public CDNs and PyPI (as
Panel's own `panel convert` does). With it (a folder made by `python -m gradview.app.pyodide_dist`),
everything is copied into the site and no request leaves the site's origin.

`python -m gradview.app.build --serve DIR [--port N] [--isolated]` serves a built site on 127.0.0.1;
`--isolated` sends the cross-origin isolation headers, with which a runaway cell is interrupted in
place instead of restarting Python.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import html
import importlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

import gradview

from . import versions as V
from .pyodide_dist import write_wheel

__all__ = ["build_wheel", "page_resources", "build_site", "serve", "BuildError", "SITE_MARKER"]

APP_DIR = Path(__file__).resolve().parent
STATIC = gradview.static_dir() / "site"
SITE_MARKER = ".gradview-site"
# modules of the app that only build the site: not shipped to the browser
BUILD_ONLY = {"build.py", "pyodide_dist.py"}
# what the site's wheel says of itself (pyproject.toml says the same for the published one; tests/app checks)
SUMMARY = "A visual autograd explorer: a PyTorch-compatible engine on NumPy and a live graph of every run"
REQUIRES = ["numpy>=1.26"]
# what the first run of the cells imports besides the app's modules (compiled to bytecode)
START_ENGINE = ("gradview.engine", "gradview.engine.graph", "gradview.engine.viz.bokeh_view",
                "gradview.engine.viz.layout")
PANEL_CDN_PREFIX = "https://cdn.holoviz.org/panel/"
BOKEH_CDN_PREFIX = "https://cdn.bokeh.org/bokeh/release/"


class BuildError(RuntimeError):
    pass


# ------------------------------------------------------------------------------------------------
# the gradview wheel

def _packages() -> list[tuple[str, Path]]:
    """(archive prefix, folder) of each package the browser imports: the engine and the app, found
    where they are imported from (a checkout or an installed wheel), not from the checkout's files."""
    app_name = __package__                                 # this package: the app
    top = app_name.rpartition(".")[0]                      # the package both live in ("" when none)
    engine = importlib.import_module(f"{top}.engine" if top else "engine")
    pkgs = [(app_name.replace(".", "/"), APP_DIR), (engine.__name__.replace(".", "/"), Path(engine.__file__).resolve().parent)]
    return pkgs


def _top_level() -> list[str]:
    top = __package__.rpartition(".")[0]
    return [top] if top else ["app", "engine"]


def _wheel_files() -> list[tuple[str, bytes]]:
    files = [("gradview/__init__.py", Path(gradview.__file__).read_bytes())]   # the version; the package root
    for prefix, folder in _packages():
        for p in sorted(folder.rglob("*")):
            rel = p.relative_to(folder).as_posix()
            if not p.is_file() or "__pycache__" in p.parts or p.suffix in (".pyc", ".pyo") or \
                    (prefix == __package__.replace(".", "/") and rel in BUILD_ONLY):
                continue
            files.append((f"{prefix}/{rel}", p.read_bytes()))
    return sorted(set(files))


def build_wheel(out_dir: Path) -> Path:
    """A py3-none-any wheel of the engine and the app as imported here (a checkout or an installed
    gradview). Its version carries a hash of the contents (`0.1.0+g1a2b3c4d`), so a browser never
    runs a cached copy of an older build."""
    files = _wheel_files()
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(name.encode() + b"\0" + data + b"\0")
    version = f"{gradview.__version__}+g{digest.hexdigest()[:8]}"
    name = "gradview"
    di = f"{name}-{version}.dist-info"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
            f"Summary: {SUMMARY}", "Requires-Python: >=3.11"]
    meta += [f"Requires-Dist: {d}" for d in REQUIRES]
    files += [(f"{di}/METADATA", ("\n".join(meta) + "\n").encode()),
              (f"{di}/WHEEL", b"Wheel-Version: 1.0\nGenerator: gradview app.build\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n"),
              (f"{di}/top_level.txt", "".join(f"{t}\n" for t in sorted({"gradview", *_top_level()})).encode())]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}-{version}-py3-none-any.whl"
    write_wheel(path, files, di)
    return path


# ------------------------------------------------------------------------------------------------
# what the page loads

def check_versions():
    """The page loads BokehJS and Panel's JavaScript of the versions installed here, so they must be
    the versions the browser's Python runs."""
    import bokeh
    import panel
    if (panel.__version__, bokeh.__version__) != (V.BROWSER_PANEL, V.BROWSER_BOKEH):
        raise BuildError(f"the site is built with Panel {panel.__version__} / Bokeh {bokeh.__version__} installed, "
                         f"but the browser runs Panel {V.BROWSER_PANEL} / Bokeh {V.BROWSER_BOKEH} "
                         f"(app/versions.py): install those to build")


def page_resources(app_path: Path) -> tuple[str, str]:
    """(tags, title): the <script>/<link>/<style> tags the app's document needs, with CDN addresses, found by
    building the document here in CPython (nothing runs: the cells run only once a page loads)."""
    os.environ.setdefault("GRADVIEW_RUNNER", "inprocess")
    from bokeh.document import Document
    from panel.io.application import build_single_handler_application
    from panel.io.document import MockSessionContext
    from panel.io.resources import Resources, bundle_resources
    from panel.io.state import set_curdoc

    application = build_single_handler_application(str(Path(app_path).resolve()))
    doc = Document()
    doc._session_context = lambda: MockSessionContext(document=doc)
    with set_curdoc(doc):
        application.initialize_document(doc)
        if not doc.roots:
            raise BuildError(f"{app_path} shows nothing: it must call .servable()")
        js, css = bundle_resources(doc.roots, Resources(mode="cdn"))
        title = doc.title or "gradview"
    with contextlib.suppress(Exception):
        for root in list(doc.roots):
            doc.remove_root(root)
    return str(css) + "\n" + str(js), title


def _localize(resources: str, site: Path) -> str:
    """CDN addresses -> the site's relative copies; every file they name must be in the site."""
    out = resources.replace(PANEL_CDN_PREFIX, "cdn/panel/").replace(BOKEH_CDN_PREFIX, "cdn/bokeh/release/")
    left = [u for u in re.findall(r"https?://[^\s\"'<>)]+", out) if not u.startswith("http://www.w3.org/")]
    if left:
        raise BuildError(f"the page would load files from other sites: {sorted(set(left))}")
    for ref in re.findall(r"(?:src|href)=\"([^\"]+)\"", out):
        if ref.startswith("data:"):  # inline (the editor's empty python snippets): no file to copy
            continue
        if not (site / ref.split("?")[0]).is_file():
            raise BuildError(f"the page loads {ref}, which the Pyodide distribution does not have")
    return out


# ------------------------------------------------------------------------------------------------
# the site

def _prepare_out(out: Path):
    if out.exists():
        if not (out / SITE_MARKER).exists() and any(out.iterdir()):
            raise BuildError(f"{out} exists and is not a site built here: refusing to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / SITE_MARKER).write_text("built by python -m gradview.app.build\n")
    (out / ".nojekyll").write_text("")   # GitHub Pages: serve every file as it is


def _copy_dist(dist: Path, out: Path, wheel: Path) -> list[str]:
    from .pyodide_dist import is_dist
    if not is_dist(dist):
        raise BuildError(f"{dist} is not a Pyodide distribution (make one with python -m gradview.app.pyodide_dist)")
    manifest = json.loads((dist / "manifest.json").read_text())
    if (manifest.get("pyodide"), manifest.get("panel"), manifest.get("bokeh")) != \
            (V.PYODIDE, V.BROWSER_PANEL, V.BROWSER_BOKEH):
        raise BuildError(f"{dist} was made for Pyodide {manifest.get('pyodide')}, Panel {manifest.get('panel')}, "
                         f"Bokeh {manifest.get('bokeh')}; app/versions.py wants {V.PYODIDE}, {V.BROWSER_PANEL}, "
                         f"{V.BROWSER_BOKEH}: make it again")
    shutil.copytree(dist / "pyodide", out / "pyodide")
    shutil.copytree(dist / "cdn", out / "cdn")
    lock_path = out / "pyodide" / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text())
    target = out / "pyodide" / wheel.name
    shutil.copyfile(wheel, target)
    lock["packages"]["gradview"] = {
        "name": "gradview", "version": wheel.name.split("-")[1], "file_name": wheel.name, "install_dir": "site",
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(), "package_type": "package",
        "imports": sorted({"gradview", *_top_level()}), "depends": ["numpy"], "unvendored_tests": False}
    lock_path.write_text(json.dumps(lock, indent=1, sort_keys=True))
    return sorted(lock["packages"])


def build_site(out: Path, dist: Path | None = None, app_path: Path | None = None, quiet: bool = False) -> dict:
    """Build the site into `out`; returns its config (what the page reads)."""
    check_versions()
    out = Path(out).resolve()
    app_path = Path(app_path or APP_DIR / "main.py")
    resources, title = page_resources(app_path)
    _prepare_out(out)
    local = dist is not None
    wheel_dir = out / "pyodide" if not local else out / ".wheel"
    wheel = build_wheel(wheel_dir)
    cfg = {"versions": {"pyodide": V.PYODIDE, "panel": V.BROWSER_PANEL, "bokeh": V.BROWSER_BOKEH,
                        "gradview": wheel.name.split("-")[1]},
           "worker": "worker.js", "mode": "local" if local else "cdn"}
    if local:
        # the modules the app imports at start as bytecode too (next to their sources), compiled by
        # the distribution's Python: the browser then imports them without compiling them
        from .pyodide_dist import _compile_wheels
        lock = json.loads((Path(dist) / "pyodide" / "pyodide-lock.json").read_text())
        _compile_wheels([wheel], Path(dist) / "pyodide", lock, packages=("gradview",), keep_sources=True,
                        imports=(f"{__package__}.browser", f"{__package__}.main", *START_ENGINE),
                        deps=sorted(set(lock["packages"]) - {"gradview"}))
        packages = _copy_dist(Path(dist), out, wheel)
        shutil.rmtree(wheel_dir)
        resources = _localize(resources, out)
        cfg.update(pyodide="pyodide/", packages=packages, panel_cdn_root="cdn/panel/")
    else:
        cfg.update(pyodide=V.PYODIDE_CDN, panel_cdn_root=None, requirements=[
            f"{PANEL_CDN_PREFIX}wheels/bokeh-{V.BROWSER_BOKEH}-py3-none-any.whl",
            f"{PANEL_CDN_PREFIX}{V.BROWSER_PANEL}/dist/wheels/panel-{V.BROWSER_PANEL}-py3-none-any.whl",
            "pyodide-http==0.2.1", f"pyodide/{wheel.name}"])
    cfg["package_label"] = "NumPy, Panel, Bokeh, gradview"
    version = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()
                             + (STATIC / "gradview.js").read_bytes() + (STATIC / "worker.js").read_bytes()
                             + (STATIC / "gradview.css").read_bytes()).hexdigest()[:10]
    cfg["worker"] = f"worker.js?v={version}"
    page = (STATIC / "index.html").read_text()
    page = (page.replace("{{ title }}", html.escape(title)).replace("{{ version }}", version)
            .replace("{{ resources }}", resources)
            .replace("{{ config }}", json.dumps(cfg, indent=1).replace("</", "<\\/")))
    (out / "index.html").write_text(page)
    for name in ("gradview.js", "worker.js", "gradview.css"):
        shutil.copyfile(STATIC / name, out / name)
    if not quiet:
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(f"{out}: {cfg['mode']} site, gradview {cfg['versions']['gradview']}, {size / 1e6:.1f} MB on disk")
    return cfg


# ------------------------------------------------------------------------------------------------
# serving it

def serve(root: Path, port: int = 8000, isolated: bool = False, host: str = "127.0.0.1", log=None,
          stats: dict | None = None):
    """A static file server for a built site; call `serve_forever()` on it. `stats`, when given,
    counts requests and the body bytes sent (`requests`, `bytes`)."""
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        def send_response(self, code, message=None):
            self._code = code
            super().send_response(code, message)

        def send_header(self, keyword, value):
            if stats is not None and keyword.lower() == "content-length" and getattr(self, "_code", 0) == 200:
                stats["bytes"] = stats.get("bytes", 0) + int(value)
            super().send_header(keyword, value)

        def log_request(self, code="-", size="-"):
            if stats is not None:
                stats["requests"] = stats.get("requests", 0) + 1
            super().log_request(code, size)

        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                          ".wasm": "application/wasm", ".js": "text/javascript", ".mjs": "text/javascript",
                          ".json": "application/json", ".whl": "application/zip", ".zip": "application/zip"}

        def end_headers(self):
            if isolated:
                self.send_header("Cross-Origin-Opener-Policy", "same-origin")
                self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
                self.send_header("Cross-Origin-Resource-Policy", "same-origin")
            super().end_headers()

        def log_message(self, fmt, *args):
            if log is not None:
                log(fmt % args)

    srv = http.server.ThreadingHTTPServer((host, port), functools.partial(Handler, directory=str(root)))
    return srv


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m gradview.app.build", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, help="the folder to write the site to (replaced)")
    ap.add_argument("--pyodide-dist", type=Path, default=None,
                    help="a local Pyodide distribution (python -m gradview.app.pyodide_dist): no request leaves the site")
    ap.add_argument("--app", type=Path, default=None, help="the Panel app file (default app/main.py)")
    ap.add_argument("--serve", type=Path, metavar="SITE", help="serve a built site on 127.0.0.1 instead")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--isolated", action="store_true",
                    help="with --serve: send cross-origin isolation headers (stopping a cell interrupts it in place)")
    args = ap.parse_args(argv)
    if args.serve:
        srv = serve(args.serve, args.port, args.isolated, log=lambda m: print(m, file=sys.stderr))
        print(f"serving {args.serve} on http://127.0.0.1:{srv.server_address[1]}/", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            srv.serve_forever()
        return 0
    if not args.out:
        ap.error("--out is required")
    try:
        build_site(args.out, args.pyodide_dist, args.app)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
