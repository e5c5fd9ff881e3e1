# These docs as a Sphinx site, their graphs drawn by the gradview directive at build time:
#   pip install -e ".[docs]" && python -m sphinx -b html docs docs/_build/html
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's engine and app

project = "gradview"
extensions = ["gradview.app.integrations.sphinx", "myst_parser"]
exclude_patterns = ["_build", "examples", "deploy"]  # examples/ holds sites of their own, deploy/ config files
myst_heading_anchors = 3
gradview_defaults = {"height": "380"}
