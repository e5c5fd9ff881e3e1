"""Weight and build time of documentation pages with many graphs (the Sphinx directive).

    python bench/bench_docs.py [--graphs 10 20] [--json OUT]

For each count N, builds a Sphinx page with N `gradview` blocks (each a small network's training
step, a different width each, so no two blocks are alike) and reports:

- page bytes: the page's HTML plus the BokehJS files it loads (once), against N exported pages
  (`save_html`, BokehJS inline in each), which is what iframes cost;
- build time: cold (every block runs) and after editing one block (one runs, the others come from
  the cache of rendered blocks).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

BLOCK = """
.. gradview::
   :title: width {k}

   import torch
   from torch import nn
   model = nn.Sequential(nn.Linear(3, {k}), nn.ReLU(), nn.Linear({k}, 1))
   x, y = torch.randn(16, 3), torch.randn(16, 1)
   loss = ((model(x) - y) ** 2).mean()
   loss.backward()
"""


def build(src, out):
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils
    start = time.perf_counter()
    with patch_docutils(src), docutils_namespace():
        Sphinx(src, src, os.path.join(out, "html"), os.path.join(out, "doctrees"), "html",
               status=io.StringIO(), warning=io.StringIO()).build()
    return time.perf_counter() - start


def measure(n, tmp):
    from gradview.app.integrations.blocks import run_block
    from gradview.engine.viz import bokehjs_files, to_html
    src, out = os.path.join(tmp, f"src{n}"), os.path.join(tmp, f"out{n}")
    os.makedirs(src)
    with open(os.path.join(src, "conf.py"), "w") as f:
        f.write('extensions = ["gradview.app.integrations.sphinx"]\nproject = "bench"\n')
    page = os.path.join(src, "index.rst")
    with open(page, "w") as f:
        f.write("Graphs\n======\n" + "".join(BLOCK.format(k=k + 2) for k in range(n)))
    cold = build(src, out)
    with open(page) as f:
        text = f.read()
    with open(page, "w") as f:
        f.write(text.replace("title: width 2\n", "title: width two\n"))
    warm = build(src, out)
    html_bytes = os.path.getsize(os.path.join(out, "html", "index.html"))
    bokehjs = sum(os.path.getsize(path) for _, path in bokehjs_files())
    g, _ = run_block(BLOCK.format(k=2).split("\n\n", 1)[1].replace("\n   ", "\n").strip() + "\n")
    one_page = len(to_html(g).encode())
    return {"graphs": n, "page_html_bytes": html_bytes, "bokehjs_bytes": bokehjs,
            "page_total_bytes": html_bytes + bokehjs, "iframe_pages_bytes": n * one_page,
            "build_cold_s": round(cold, 2), "build_one_edit_s": round(warm, 2)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", type=int, nargs="+", default=[10, 20])
    ap.add_argument("--json", default=None)
    ns = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in ns.graphs:
            r = measure(n, tmp)
            results.append(r)
            print(f"{n} graphs: page {r['page_total_bytes'] / 1e6:.2f} MB (HTML {r['page_html_bytes'] / 1e6:.2f} MB "
                  f"+ BokehJS {r['bokehjs_bytes'] / 1e6:.2f} MB once) vs {r['iframe_pages_bytes'] / 1e6:.1f} MB as "
                  f"exported pages in iframes; build {r['build_cold_s']} s cold, {r['build_one_edit_s']} s after "
                  f"editing one block")
    if ns.json:
        with open(ns.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
