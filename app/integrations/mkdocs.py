"""MkDocs plugin: ```gradview fences run PyTorch code on the engine at build time and draw its graph
in the page (no iframe; BokehJS loaded once per page with graphs, from `assets/gradview/`).

mkdocs.yml:

    plugins:
      - gradview:                 # the entry point of app.integrations.mkdocs:GradviewPlugin
          on_error: raise         # or warn: the page shows the error instead
          defaults: {height: 360} # default options for every block
          try_it: https://you.github.io/gradview/   # the static app: a "try it" under each graph

A page:

    ```gradview step=0 direction=TB title="two steps"
    import torch
    w = torch.ones(3, requires_grad=True)
    for i in range(2):
        (w * i).sum().backward()
    ```

Options (key=value in the fence's first line; quote values with spaces): step, view (forward,
backward or both: the graph shown first), player (true/false), direction, height, width, title,
show-code, show-output, try-it (true/false), file (a script, relative to the page, or to docs_dir
with a leading /). Keys (f, b, v, ← →) go to the graph under the pointer, else the one last clicked.
The fences are found before Markdown runs, so they work beside pymdownx.superfences and inside
admonitions or lists (indented fences). Rendered blocks are kept in `cache_dir` (default
`.cache/gradview` beside mkdocs.yml), so `mkdocs serve` re-runs only the blocks that changed.
"""
from __future__ import annotations

import logging
import os
import re
import secrets

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.utils import get_relative_url

from .blocks import (BlockCache, BlockOptionError, bokehjs_script_tags, copy_bokehjs, error_html, parse_option_line,
                     parse_options, render_block, with_try_it)

log = logging.getLogger("mkdocs.plugins.gradview")

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
ASSETS = "assets"  # BokehJS goes to site/assets/gradview/


class GradviewConfig(Config):
    on_error = c.Choice(("raise", "warn"), default="raise")
    defaults = c.Type(dict, default={})
    cache = c.Type(bool, default=True)
    cache_dir = c.Optional(c.Type(str))
    try_it = c.Optional(c.Type(str))  # the static app's address: a "try it" button under each graph


def gradview_fences(lines):
    """(opening line, closing line, indent, options text) of each ```gradview fence in a page's
    lines (0-based), in order. A fence inside another fenced block (a page that shows the syntax)
    is text, and is left alone."""
    k = 0
    while k < len(lines):
        m = FENCE.match(lines[k])
        if m is None:
            k += 1
            continue
        fence = m.group("fence")
        close = k + 1
        while close < len(lines) and not _closes(lines[close], fence):
            close += 1
        words = m.group("info").strip().split(None, 1)
        if words and words[0] == "gradview" and close < len(lines):
            yield k, close, m.group("indent"), words[1] if len(words) > 1 else ""
        k = close + 1


def _closes(line, fence):
    """Whether `line` closes a block opened by `fence` (same character, at least as many)."""
    text = line.strip()
    return len(text) >= len(fence) and set(text) == {fence[0]}


def _fenced(lang, text, indent):
    body = "".join(indent + line + "\n" for line in text.rstrip("\n").split("\n"))
    return f"{indent}```{lang}\n{body}{indent}```\n"


class GradviewPlugin(BasePlugin[GradviewConfig]):
    def on_config(self, config):
        try:
            self.defaults = parse_options({k: str(v) for k, v in self.config.defaults.items()})
        except BlockOptionError as exc:
            raise PluginError(f"gradview defaults in mkdocs.yml: {exc}") from None
        base = os.path.dirname(os.path.abspath(config.config_file_path or "mkdocs.yml"))
        self.cache = None
        if self.config.cache:
            self.cache = BlockCache(os.path.join(base, self.config.cache_dir or os.path.join(".cache", "gradview")))
        self.base = base
        self.graphs = {}       # page's src path -> [graph html], in page order
        self.nonce = secrets.token_hex(4)
        return config

    def _fail(self, where, message, details=""):
        if self.config.on_error == "raise":
            raise PluginError(f"{where}: {message}" + (f"\n{details}" if details else ""))
        log.warning(f"{where}: gradview: {message}" + (f"\n{details}" if details else ""))

    def on_page_markdown(self, markdown, page, config, files):
        source = page.file.abs_src_path or page.file.src_path
        shown = os.path.relpath(source, self.base) if page.file.abs_src_path else source
        graphs = self.graphs[page.file.src_path] = []

        def render(first, last, indent, info):
            """The Markdown that replaces the fence on lines first..last (0-based)."""
            fence_line = first + 1
            code = "".join(line[len(indent):] + "\n" if line.startswith(indent) else line.lstrip() + "\n"
                           for line in lines[first + 1:last])
            try:
                options = parse_options(parse_option_line(info), self.defaults)
                if not options.file and not code.strip():
                    raise BlockOptionError("no code: give the fence content or the file option")
                result = render_block(code, options, base_dir=os.path.dirname(source), root_dir=config.docs_dir,
                                      cache=self.cache)
            except (BlockOptionError, ValueError) as exc:
                self._fail(f"{shown}:{fence_line}", str(exc))
                return "\n".join(lines[first:last + 1]) + "\n"
            out = []
            if options.show_code:
                out.append(_fenced("python", result.code, indent))
            if options.show_output and result.printed:
                out.append(_fenced("text", result.printed, indent))
            html = ""
            if result.error:
                path, line = result.location(shown, fence_line + 1)
                self._fail(f"{path}:{line}" if line else f"{shown}:{fence_line}",
                           f"the code raised {result.error_summary}", result.error)
                html += error_html(result, shown, fence_line + 1)
            html += with_try_it(result, options, self.config.try_it)
            if html:
                graphs.append(html)
                # a plain word Markdown leaves alone; the graph's HTML goes in after conversion
                out.append(f"{indent}GRADVIEW-SLOT-{self.nonce}-{len(graphs) - 1}\n")
            return "\n".join(out)

        lines = markdown.split("\n")
        parts, done = [], 0
        for first, last, indent, info in list(gradview_fences(lines)):
            parts.append("".join(line + "\n" for line in lines[done:first]))
            parts.append(render(first, last, indent, info))
            done = last + 1
        parts.append("\n".join(lines[done:]))
        return "".join(parts)

    def on_page_content(self, html, page, config, files):
        graphs = self.graphs.get(page.file.src_path)
        if not graphs:
            return html
        slot = re.compile(rf"(?:<p>)?GRADVIEW-SLOT-{self.nonce}-(\d+)(?:</p>)?")
        return slot.sub(lambda m: graphs[int(m.group(1))], html)

    def on_post_page(self, output, page, config):
        if not self.graphs.get(page.file.src_path):
            return output
        prefix = get_relative_url(ASSETS, page.url)
        tags = bokehjs_script_tags(prefix)
        return output.replace("</head>", tags + "\n</head>", 1)

    def on_post_build(self, config):
        if any(self.graphs.values()):
            copy_bokehjs(os.path.join(config.site_dir, ASSETS))
        if self.cache is not None and (self.cache.runs or self.cache.hits):
            log.info(f"gradview: {self.cache.runs} block(s) run, {self.cache.hits} reused from the last build")
