"""The MkDocs plugin on the example site of docs/examples/mkdocs, built in process in a temporary
folder (the plugin found through its `mkdocs.plugins` entry point)."""
import os
import re

import pytest

pytest.importorskip("mkdocs", reason="MkDocs is not installed (pip install -e '.[docs]')")
pytest.importorskip("pymdownx", reason="pymdown-extensions is not installed (pip install -e '.[docs]')")
pytest.importorskip("bokeh", reason="bokeh is not installed (pip install -e '.[docs]')")


from tests.app.integrations.sites import BuildAborted, build_mkdocs, copy_example, mkdocs_on_path  # noqa: E402

from gradview.engine.viz import bokehjs_files  # noqa: E402

SUB_PAGE = """\
# Nested

- a list item with a graph:

    ```gradview direction=TB show-code=false show-output=false
    import torch
    a = torch.ones(2, requires_grad=True)
    print("printed-but-not-shown")
    a.tanh().sum().backward()
    ```

A page that shows the syntax keeps it as text:

````markdown
```gradview
this is shown, not run
```
````

!!! note "In an admonition"

    ```gradview
    import torch
    b = torch.ones(2, requires_grad=True)
    b.sigmoid().sum().backward()
    ```
"""

BAD_PAGE = """\
# Bad

```gradview
import torch
x = torch.ones(2)
y = x @ torch.ones(3)
```
"""


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def bokeh_tags(page):
    return re.findall(r'<script src="([^"]*gradview/bokeh[^"]*)"', page)


@pytest.fixture()
def project(tmp_path):
    mkdocs_on_path(str(tmp_path / "entry-point"))
    return copy_example("mkdocs", str(tmp_path / "project"))


def test_fences_become_graphs_with_bokehjs_once_per_page(project, tmp_path):
    os.makedirs(os.path.join(project, "docs", "sub"))
    with open(os.path.join(project, "docs", "sub", "nested.md"), "w", encoding="utf-8") as f:
        f.write(SUB_PAGE)
    site = str(tmp_path / "site")
    log = build_mkdocs(os.path.join(project, "mkdocs.yml"), site)
    assert "gradview: 4 block(s) run, 0 reused" in log
    names = [name for name, _ in bokehjs_files()]
    index = read(os.path.join(site, "index.html"))
    assert index.count('class="gradview-graph"') == 2 and "graph-nodes" in index and "graph-step" in index
    assert bokeh_tags(index) == [f"assets/gradview/{name}" for name in names]
    assert 'class="highlight"><pre>' in index and re.search(r"loss \d\.\d{4}", index)
    assert "GRADVIEW-SLOT" not in index and "<iframe" not in index
    nested = read(os.path.join(site, "sub", "nested", "index.html"))
    assert nested.count('class="gradview-graph"') == 2 and "printed-but-not-shown" not in nested
    assert "this is shown, not run" in nested
    note = nested.split('class="admonition note"')[1]
    assert note.index('class="highlight"') < note.index('class="gradview-graph"')  # code and graph in the note
    assert bokeh_tags(nested) == [f"../../assets/gradview/{name}" for name in names]
    assert bokeh_tags(read(os.path.join(site, "404.html"))) == []
    for name in names:
        assert os.path.getsize(os.path.join(site, "assets", "gradview", name)) > 100_000
    # a second build reuses every block; an edited block alone runs again
    assert "gradview: 0 block(s) run, 4 reused" in build_mkdocs(os.path.join(project, "mkdocs.yml"), site)
    page = os.path.join(project, "docs", "index.md")
    text = read(page).replace("w.exp()", "w.sigmoid()")
    with open(page, "w", encoding="utf-8") as f:
        f.write(text)
    assert "gradview: 1 block(s) run, 3 reused" in build_mkdocs(os.path.join(project, "mkdocs.yml"), site)


def test_an_error_fails_the_build_with_page_and_line(project, tmp_path):
    with open(os.path.join(project, "docs", "bad.md"), "w", encoding="utf-8") as f:
        f.write(BAD_PAGE)
    with pytest.raises(BuildAborted) as info:
        build_mkdocs(os.path.join(project, "mkdocs.yml"), str(tmp_path / "site"))
    assert f"{os.path.join('docs', 'bad.md')}:6: the code raised RuntimeError" in info.value.log
    config = os.path.join(project, "mkdocs.yml")
    text = read(config).replace("on_error: raise", "on_error: warn")
    with open(config, "w", encoding="utf-8") as f:
        f.write(text)
    log = build_mkdocs(config, str(tmp_path / "site"))
    assert f"{os.path.join('docs', 'bad.md')}:6: gradview: the code raised RuntimeError" in log
    assert "gradview-error" in read(os.path.join(tmp_path, "site", "bad", "index.html"))


def test_fences_take_view_and_player_as_exported_pages_do(tmp_path):
    from tests.app.integrations.sites import WALK_BLOCK, graphs_in
    mkdocs_on_path(str(tmp_path / "entry-point"))
    project = tmp_path / "tiny"
    (project / "docs").mkdir(parents=True)
    (project / "mkdocs.yml").write_text("site_name: tiny\ntheme:\n  name: mkdocs\n  highlightjs: false\n"
                                        "plugins:\n  - search\n  - gradview\n", encoding="utf-8")
    fences = "".join(f"```gradview {info}\n{WALK_BLOCK}```\n\n" for info in ("view=both player=false", "view=backward", ""))
    (project / "docs" / "index.md").write_text("# Views\n\n" + fences, encoding="utf-8")
    build_mkdocs(str(project / "mkdocs.yml"), str(tmp_path / "site"))
    graphs = graphs_in(read(os.path.join(tmp_path, "site", "index.html")))
    assert [(g["view"], g["player"]) for g in graphs] == [("both", False), ("backward", True), ("forward", True)]
    assert all(g["views"] == ["forward", "backward", "both"] and g["answers"] == 5 for g in graphs)
