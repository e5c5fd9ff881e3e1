# Sphinx example: graphs of code run on the engine at build time.
#   PYTHONPATH=. python -m sphinx -b html docs/examples/sphinx docs/examples/sphinx/_build
project = "gradview example"
extensions = ["gradview.app.integrations.sphinx", "myst_parser"]
exclude_patterns = ["_build"]
gradview_on_error = "raise"          # "warn" shows the error in the page and goes on
gradview_defaults = {"height": "360"}
