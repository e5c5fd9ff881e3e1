"""The Sphinx extension on the example project of docs/examples/sphinx (a reStructuredText page and
a MyST Markdown page), built in process in a temporary folder."""
import os
import re
import shutil

import pytest

pytest.importorskip("sphinx", reason="Sphinx is not installed (pip install -e '.[docs]')")
pytest.importorskip("myst_parser", reason="myst-parser is not installed (pip install -e '.[docs]')")
pytest.importorskip("bokeh", reason="bokeh is not installed (pip install -e '.[docs]')")

from tests.app.integrations.sites import build_sphinx, built_sphinx_example, copy_example  # noqa: E402

from gradview.app.integrations.sphinx import GradviewError  # noqa: E402
from gradview.engine.viz import bokehjs_files  # noqa: E402

BAD_RST = """\
Bad
===

.. gradview::

   import torch
   x = torch.ones(2)
   y = x @ torch.ones(3)
   z = y + 1
"""

BAD_MD = """\
# Bad

Text.

```{gradview}
:title: broken

import torch
undefined_name + 1
```
"""


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def bokeh_tags(page):
    return re.findall(r'<script src="([^"]*gradview/bokeh[^"]*)"', page)


@pytest.fixture(scope="module")
def site():
    return built_sphinx_example()


def test_graphs_are_in_the_pages_with_bokehjs_once(site):
    src, out, status, warnings = site
    html = os.path.join(out, "html")
    assert "WARNING" not in warnings, warnings
    index, myst = read(os.path.join(html, "index.html")), read(os.path.join(html, "myst.html"))
    assert index.count('class="gradview-graph"') == 2 and myst.count('class="gradview-graph"') == 2
    names = [name for name, _ in bokehjs_files()]
    for page in (index, myst):
        assert bokeh_tags(page) == [f"_static/gradview/{name}" for name in names]
        assert "graph-nodes" in page and "<iframe" not in page
    assert bokeh_tags(read(os.path.join(html, "genindex.html"))) == []  # pages without graphs load nothing
    for name in names:
        assert os.path.getsize(os.path.join(html, "_static", "gradview", name)) > 100_000
    assert "&quot;relu&quot;" in index or '"relu"' in index  # the relu layer's op, in the graph's data
    assert "graph-step" in index  # the training script's step slider
    assert "step 2: loss" in index and re.search(r"\bloss \d\.\d{4}\b", index)  # printed output of both blocks
    assert index.count('class="highlight-python') == 1  # :show-code: false hides the script
    assert '"softmax"' in myst or "softmax" in myst
    assert myst.count("step 2: loss") == 0 and myst.count('class="highlight-python') == 2  # code shown, output not
    assert "gradview: 4 block(s) run, 0 reused" in status


def test_incremental_build_reruns_only_the_changed_block(site, tmp_path):
    src, out = str(tmp_path / "src"), str(tmp_path / "out")
    shutil.copytree(site[0], src)
    shutil.copytree(site[1], out)  # the doctrees and the rendered blocks of the first build
    page = os.path.join(src, "index.rst")
    text = read(page).replace('print(f"loss {loss.item():.4f}")', 'print(f"loss is {loss.item():.4f}")')
    with open(page, "w", encoding="utf-8") as f:
        f.write(text)
    status, _ = build_sphinx(src, out)
    assert "gradview: 1 block(s) run, 3 reused" in status  # (the pages moved: Sphinx reads them all again)
    assert re.search(r"loss is \d\.\d{4}", read(os.path.join(out, "html", "index.html")))


@pytest.mark.parametrize("name, text, line, error", [("bad.rst", BAD_RST, 8, "RuntimeError"),
                                                      ("bad.md", BAD_MD, 9, "NameError")])
def test_an_error_fails_the_build_with_page_and_line(tmp_path, name, text, line, error):
    src = copy_example("sphinx", str(tmp_path / "src"))
    with open(os.path.join(src, name), "w", encoding="utf-8") as f:
        f.write(text)
    with pytest.raises(GradviewError) as info:
        build_sphinx(src, str(tmp_path / "out"))
    message = str(info.value)
    assert f"{os.path.join(src, name)}:{line}: the code raised {error}" in message
    # or, by the config switch, warns with the place and shows the error in the page
    status, warnings = build_sphinx(src, str(tmp_path / "out"), gradview_on_error="warn")
    assert f"{os.path.join(src, name)}:{line}: WARNING: gradview: the code raised {error}" in warnings
    assert "gradview-error" in read(os.path.join(tmp_path, "out", "html", name.rsplit(".", 1)[0] + ".html"))


def test_these_docs_build_with_their_graphs(tmp_path):
    from tests.app.integrations.sites import ROOT
    status, warnings = build_sphinx(os.path.join(ROOT, "docs"), str(tmp_path / "out"))
    assert "WARNING" not in warnings, warnings
    index = read(os.path.join(tmp_path, "out", "html", "index.html"))
    assert index.count('class="gradview-graph"') == 2 and "graph-step" in index
    assert os.path.exists(os.path.join(tmp_path, "out", "html", "embedding.html"))


VIEWS_RST = """\
Views
=====

.. gradview::
   :view: both
   :player: false

{code}
.. gradview::
   :view: backward

{code}
.. gradview::

{code}"""


def test_the_directive_takes_view_and_player_as_exported_pages_do(tmp_path):
    from tests.app.integrations.sites import WALK_BLOCK, graphs_in
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["gradview.app.integrations.sphinx"]\n', encoding="utf-8")
    code = "".join("   " + line + "\n" for line in WALK_BLOCK.splitlines())
    (src / "index.rst").write_text(VIEWS_RST.format(code=code), encoding="utf-8")
    status, warnings = build_sphinx(str(src), str(tmp_path / "out"))
    assert "WARNING" not in warnings, warnings
    graphs = graphs_in(read(os.path.join(tmp_path, "out", "html", "index.html")))
    assert [(g["view"], g["player"]) for g in graphs] == [("both", False), ("backward", True), ("forward", True)]
    assert all(g["views"] == ["forward", "backward", "both"] and g["answers"] == 5 for g in graphs)
    (src / "index.rst").write_text(VIEWS_RST.format(code=code).replace(":view: both", ":view: sideways"),
                                   encoding="utf-8")
    with pytest.raises(GradviewError, match="view must be one of forward, backward, both"):
        build_sphinx(str(src), str(tmp_path / "out2"))
