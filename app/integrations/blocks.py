"""Code blocks of a documentation page run on the engine, their graphs drawn for the page.

One place for what the Sphinx directive, the MkDocs fence and the notebook magic share: the
options a block takes, running its code under `gradview.engine.graph.capture()` with `import torch` giving
the engine, locating an error in the page (file and line), and a cache of rendered blocks keyed by
their code and options, so a rebuild re-runs only the blocks that changed.

Each block runs alone, in a fresh namespace, with the random seed set to 0: a block's graph
depends on its own code only, which is what makes the cache sound and builds reproducible.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import html
import io
import json
import linecache
import os
import sys
import traceback

__all__ = ["OPTION_NAMES", "BlockOptions", "BlockOptionError", "BlockResult", "parse_options", "parse_option_line",
           "run_block", "render_block", "script_path", "BlockCache", "graph_html", "error_html", "try_it_html",
           "with_try_it", "bokehjs_script_tags", "copy_bokehjs"]

# the options of a block, as written in a page (`:show-code: false`, `step=2`, ...)
OPTION_NAMES = ("step", "view", "player", "direction", "height", "width", "title", "show-code", "show-output",
                "file", "try-it")
MAX_PRINTED = 10_000  # characters of printed output kept per block (the first ones)
ASSET_DIR = "gradview"  # the folder under the site's static files that holds BokehJS


class BlockOptionError(ValueError):
    """An option of a block has a value it cannot take."""


@dataclasses.dataclass(frozen=True)
class BlockOptions:
    step: int | None = None        # the kept step drawn first (default: the last one a backward closed)
    view: str = "forward"          # the graph shown first: forward, backward or both (keys f, b, v switch)
    player: bool = True            # the step-through player under the graph (keys ← →)
    direction: str = "LR"          # LR: data flows left to right; TB: top to bottom
    height: int = 420              # of the graph figure, in pixels
    width: int = 760
    title: str | None = None
    show_code: bool = True         # the code above the graph
    show_output: bool = True       # what it printed, below the code
    file: str | None = None        # run this script instead of the block's content
    try_it: bool = True            # a "try it" button, where the site names the static app to open

    def render_key(self):
        """What of the options changes the rendered graph (for the cache)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("show_code", "show_output", "try_it")}


def _bool(name, value):
    text = str(value).strip().lower()
    if text in ("", "true", "yes", "on", "1"):   # a bare flag means yes
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise BlockOptionError(f"{name} must be true or false, not {value!r}")


def _int(name, value, low=None):
    try:
        number = int(str(value).strip())
    except ValueError:
        raise BlockOptionError(f"{name} must be a whole number, not {value!r}") from None
    if low is not None and number < low:
        raise BlockOptionError(f"{name} must be at least {low}, not {number}")
    return number


def _views():
    """The views engine.viz draws (forward, backward, both)."""
    from gradview.engine.viz.bokeh_view import VIEWS
    return tuple(VIEWS)


def parse_option_line(text):
    """{name: text} from options written on one line, as a MkDocs fence or the notebook magic takes
    them: `step=1 title="a b" show-code=false` (a bare name is a flag)."""
    import shlex
    raw = {}
    for word in shlex.split(text):
        name, sep, value = word.partition("=")
        raw[name.strip()] = value if sep else ""
    return raw


def parse_options(raw, defaults=None):
    """BlockOptions from {name: text} as written in a page; `defaults` (a BlockOptions) gives the
    values of options not written. Raises BlockOptionError naming the option at fault."""
    values = dataclasses.asdict(defaults or BlockOptions())
    for name, value in (raw or {}).items():
        if name not in OPTION_NAMES:
            raise BlockOptionError(f"unknown option {name!r} (known: {', '.join(OPTION_NAMES)})")
        if name == "step":
            values["step"] = _int(name, value)
        elif name in ("height", "width"):
            values[name] = _int(name, value, low=100)
        elif name == "direction":
            text = str(value).strip().upper()
            if text not in ("LR", "TB"):
                raise BlockOptionError(f"direction must be LR or TB, not {value!r}")
            values["direction"] = text
        elif name == "view":
            text = str(value).strip().lower()
            if text not in _views():
                raise BlockOptionError(f"view must be one of {', '.join(_views())}, not {value!r}")
            values["view"] = text
        elif name in ("show-code", "show-output", "try-it", "player"):
            values[name.replace("-", "_")] = _bool(name, value)
        else:  # title, file
            values[name] = str(value).strip() or None
    return BlockOptions(**values)


@dataclasses.dataclass
class BlockResult:
    code: str                      # the code that ran (the block's, or the script's)
    printed: str = ""
    error: str | None = None       # the traceback, cut to the block's own frames
    error_summary: str | None = None   # "ZeroDivisionError: division by zero"
    error_line: int | None = None  # the failing line, counted in `code` (1 = its first line)
    script: str | None = None      # the script that ran, for `file`
    html: str = ""                 # the graph's fragment (script and div), "" when nothing was recorded
    nodes: int = 0                 # nodes captured, all kept steps together
    cached: bool = False

    def location(self, source, first_line=1):
        """(file, line) of the error: in the page, or in the script for `file`."""
        if self.script is not None:
            return self.script, self.error_line
        return source, None if self.error_line is None else self.error_line + first_line - 1

    def to_json(self):
        return json.dumps({k: v for k, v in dataclasses.asdict(self).items() if k != "cached"})

    @classmethod
    def from_json(cls, text):
        return cls(**json.loads(text), cached=True)


def _error_location(exc, filename):
    """The line of the innermost frame that ran `filename`'s code (the block's, not the engine's)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None and isinstance(exc, SyntaxError) and exc.filename == filename:
        line = exc.lineno
    return line


def _block_traceback(exc, filename):
    """The traceback from the first frame of the block's code on (the runner's frames left out)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def run_block(code, *, script=None, namespace=None, keep_steps=20, keep_printed=True):
    """Run a block's code (or, with `script`, that file) under capture with `import torch` giving the
    engine. Returns (graph, BlockResult without html). `namespace`: run there instead of a fresh
    one (the notebook magic runs in the notebook's). `keep_printed=False` lets printed output go
    where it goes (a notebook shows it as it comes) instead of into `BlockResult.printed`."""
    from gradview import engine
    from gradview.engine import graph
    from gradview.engine.run import torch_alias
    if script is not None:
        with open(script, encoding="utf-8") as f:
            code = f.read()
        filename = os.path.abspath(script)
    else:
        # named by its content, not its page: a rendered block can be reused wherever it appears
        filename = f"<gradview block {hashlib.sha256(code.encode()).hexdigest()[:8]}>"
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)  # for the graph's code column
    ns = namespace if namespace is not None else {"__name__": "__main__"}
    if script is not None:
        ns.setdefault("__file__", filename)
    result = BlockResult(code=code, script=filename if script is not None else None)
    out = io.StringIO()
    added_path = script is not None and os.path.dirname(filename) not in sys.path
    if added_path:
        sys.path.insert(0, os.path.dirname(filename))  # the script's own imports, as `python script.py`
    try:
        with torch_alias(), contextlib.redirect_stdout(out) if keep_printed else contextlib.nullcontext():
            if namespace is None:
                engine.manual_seed(0)
            with graph.capture(keep_steps=keep_steps) as g:
                try:
                    exec(compile(code, filename, "exec"), ns)
                except (Exception, SystemExit) as exc:  # noqa: BLE001  reported with its place in the page
                    if not (isinstance(exc, SystemExit) and exc.code in (None, 0)):
                        line = _error_location(exc, filename)
                        result.error = _block_traceback(exc, filename)
                        result.error_summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                        result.error_line = line
    finally:
        if added_path and sys.path and sys.path[0] == os.path.dirname(filename):
            sys.path.pop(0)
    printed = out.getvalue()
    result.printed = printed if len(printed) <= MAX_PRINTED else printed[:MAX_PRINTED] + "\n[... output cut]\n"
    return g, result


def script_path(name, page_dir, root_dir=None):
    """Where the `file` option's script is: relative to the page, or with a leading / to the site's
    source folder (as Sphinx reads paths)."""
    if name.startswith("/") and root_dir:
        return os.path.normpath(os.path.join(root_dir, name.lstrip("/")))
    return os.path.normpath(os.path.join(page_dir or os.getcwd(), name))


def render_block(code, options, *, base_dir=None, root_dir=None, cache=None):
    """Run a block and draw its graph: a BlockResult with `html` set (from `cache` when the same
    code, script text and options were rendered before). `file` is looked up by `script_path`,
    from the page's folder `base_dir` and the site's source folder `root_dir`."""
    script = None
    if options.file:
        script = script_path(options.file, base_dir, root_dir)
        if not os.path.exists(script):
            raise BlockOptionError(f"file {options.file!r} not found (looked for {script})")
        with open(script, encoding="utf-8") as f:
            key_code = f.read()
    else:
        key_code = code
    key = cache.key(key_code, options, from_script=script is not None) if cache is not None else None
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            if script is not None:
                hit.script = os.path.abspath(script)  # where the script is now (the project may have moved)
            return hit
    g, result = run_block(code, script=script)
    steps = g.steps
    if steps and any(s.node_count for s in steps):
        from gradview.engine.viz import fragment
        step = options.step
        if step is not None and not -len(steps) <= step < len(steps):
            raise BlockOptionError(f"step {step} does not exist: the code kept {len(steps)} step(s)")
        script_html, div = fragment(g, title=options.title, step=step, direction=options.direction,
                                    width=options.width, height=options.height, view=options.view,
                                    player=options.player)
        result.html = graph_html(script_html, div)
        result.nodes = sum(s.node_count for s in steps)
    if cache is not None:
        cache.put(key, result)
    return result


def graph_html(script, div):
    """A fragment wrapped for a documentation page: scrolls sideways in a narrow column."""
    return f'<div class="gradview-graph" style="overflow-x:auto;margin:0.5em 0 1.5em">{div}\n{script}</div>'


# replaces the block's graph by the static app, opened on the block's code (a share link)
TRY_IT_JS = ("var g=this.closest('.gradview-graph'),f=document.createElement('iframe');"
             "f.src=this.dataset.app;f.className='gradview-live';f.title='live cell';"
             "f.style.cssText='width:100%;height:'+this.dataset.height+'px;border:1px solid #e5e7eb';"
             "g.replaceWith(f);")


def try_it_html(code, app_url, height=760):
    """A "try it" button for a graph: it swaps the graph for the static app (`python -m gradview.app.build`,
    published at `app_url`) opened on `code` as a live cell that runs in the reader's browser."""
    from gradview.app.notebook import share_url
    url = share_url(app_url, [code])
    return (f'<button type="button" class="gradview-try" data-app="{html.escape(url)}" data-height="{int(height)}" '
            f'onclick="{html.escape(TRY_IT_JS)}" title="edit and run this code in your browser">Try it</button>')


def with_try_it(result, options, app_url):
    """The block's graph HTML, with a "try it" button in it when `app_url` is set and the block
    allows it."""
    if not (app_url and options.try_it and result.html):
        return result.html
    button = try_it_html(result.code, app_url, height=options.height + 340)
    return result.html[:-len("</div>")] + button + "</div>"  # inside graph_html's wrapper, after the graph


def error_html(result, source, first_line=1):
    path, line = result.location(source, first_line)
    where = f"{path}:{line}" if line else path
    return (f'<pre class="gradview-error" style="color:#b91c1c">{html.escape(where)}: '
            f'{html.escape(result.error or "")}</pre>')


def bokehjs_script_tags(prefix):
    """The <script> tags that load BokehJS from `prefix` + gradview/ (a relative address)."""
    from gradview.engine.viz import bokehjs_files
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    return "\n".join(f'<script src="{html.escape(prefix)}{ASSET_DIR}/{name}"></script>' for name, _ in bokehjs_files())


def copy_bokehjs(static_dir):
    """Copy the BokehJS files to static_dir/gradview/ (once: an existing copy is kept)."""
    import shutil
    from gradview.engine.viz import bokehjs_files
    target = os.path.join(static_dir, ASSET_DIR)
    os.makedirs(target, exist_ok=True)
    for name, path in bokehjs_files():
        dest = os.path.join(target, name)
        if not os.path.exists(dest) or os.path.getsize(dest) != os.path.getsize(path):
            shutil.copyfile(path, dest)
    return target


def _code_fingerprint():
    """What the rendered graphs depend on besides a block: the engine's and this package's sources
    (paths, sizes, modification times) and Bokeh's version."""
    import bokeh
    from gradview import engine
    digest = hashlib.sha256(bokeh.__version__.encode())
    for root in (os.path.dirname(engine.__file__), os.path.dirname(os.path.abspath(__file__))):
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".py"):
                    st = os.stat(os.path.join(folder, name))
                    digest.update(f"{folder}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class BlockCache:
    """Rendered blocks on disk, one JSON file per block, keyed by its code (or script text), options
    and the fingerprint of the engine and Bokeh (not by its page: where an error is in the
    page is worked out from the page each time, `BlockResult.location`).
    `runs` and `hits` count what this build ran and what it reused."""

    def __init__(self, directory):
        self.directory = directory
        self.fingerprint = _code_fingerprint()
        self.runs = 0
        self.hits = 0
        os.makedirs(directory, exist_ok=True)

    def key(self, code, options, from_script=False):
        text = json.dumps([self.fingerprint, code, options.render_key(), from_script], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def get(self, key):
        path = os.path.join(self.directory, key + ".json")
        try:
            with open(path, encoding="utf-8") as f:
                result = BlockResult.from_json(f.read())
        except (OSError, ValueError, TypeError):
            return None
        self.hits += 1
        return result

    def put(self, key, result):
        self.runs += 1
        path = os.path.join(self.directory, key + ".json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(result.to_json())
        os.replace(path + ".tmp", path)
