"""The browser tests drive the system's Chromium (engine/viz/headless.py) through Playwright for
Python; without Chromium they are all skipped, with the reason. `browser` is one Chromium per module."""
import pytest

from gradview.engine.viz.headless import CHROMIUM_ARGS, find_chromium

CHROMIUM = find_chromium()


def pytest_collection_modifyitems(config, items):
    if CHROMIUM is None:
        skip = pytest.mark.skip(reason="no local Chromium (e.g. apt-get install chromium)")
        for item in items:
            if "tests/browser/" in str(item.path).replace("\\", "/"):
                item.add_marker(skip)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
