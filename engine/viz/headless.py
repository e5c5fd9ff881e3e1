"""The local headless Chromium that PNG/SVG export, the browser tests and the benchmarks drive
through Playwright for Python: a browser from the system's packages, never a downloaded one."""
import os
import shutil

# quiet and self-contained: no background requests, updates, sync or first-run pages
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# a working WebGPU adapter (SwiftShader where there is no GPU), in pages and workers
WEBGPU_ARGS = ["--enable-unsafe-webgpu"]

_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def find_chromium():
    """The path of a local Chromium, or None."""
    for path in (*_CANDIDATES, shutil.which("chromium") or "", shutil.which("chromium-browser") or ""):
        if path and os.path.exists(path):
            return path
    return None
