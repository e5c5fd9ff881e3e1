"""gradview in the tools tutorial authors use; each module is enabled in its tool's own way:

- Sphinx (reStructuredText and MyST): `extensions = ["gradview.app.integrations.sphinx"]` in conf.py, then a
  `gradview` directive;
- MkDocs: `plugins: [gradview]` in mkdocs.yml, then ```gradview fences;
- Jupyter (Notebook, JupyterLab, nbconvert): `%load_ext gradview.app.integrations.jupyter`, then `%%gradview`
  cells.

`blocks` is what they share: a block's options, running it under capture, locating its errors,
and the cache that lets a rebuild re-run only the blocks that changed.
"""
