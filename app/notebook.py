"""Notebooks as plain text: py:percent files and share links.

A notebook is a list of code strings. On disk it is a Python file whose cells start with
`# %%` lines (the "percent" format Jupytext, VS Code and Spyder read). In a URL it is the
base64url text of zlib-compressed JSON, carried in the query string as `?nb=`.
"""
from __future__ import annotations

import base64
import json
import re
import zlib

__all__ = ["parse_percent", "to_percent", "encode_share", "decode_share", "share_url", "MARKER"]

MARKER = "# %%"
# `# %%`, `# %% title`, `# %% [markdown]`; not `# %%%` or `#%%` lookalikes inside text
_MARKER_RE = re.compile(r"^#\s?%%(?!%)(?P<rest>.*)$")
_MAX_SHARE_BYTES = 1 << 20  # a share link never expands to more than 1 MiB of JSON


def _strip_blank_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def parse_percent(text: str) -> list[str]:
    """Split a py:percent file into cell sources.

    Text before the first marker is a cell of its own when it holds more than blank lines.
    Markdown cells (`# %% [markdown]`) are kept as cells of comments, which run as no-ops.
    Blank lines at a cell's edges are dropped. A file without markers is one cell.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    cells: list[list[str]] = [[]]
    for line in text.split("\n"):
        if _MARKER_RE.match(line):
            cells.append([])
        else:
            cells[-1].append(line)
    out = ["\n".join(_strip_blank_edges(c)) for c in cells]
    head, rest = out[0], out[1:]
    if head:
        rest.insert(0, head)
    return rest if rest else [""]


def to_percent(cells: list[str]) -> str:
    """Write cell sources as a py:percent file (one `# %%` line before each cell)."""
    parts = []
    for code in cells:
        body = "\n".join(_strip_blank_edges(code.replace("\r\n", "\n").split("\n")))
        parts.append(f"{MARKER}\n{body}\n" if body else f"{MARKER}\n")
    return "\n".join(parts)


def encode_share(cells: list[str]) -> str:
    """Cells as a URL-safe token: base64url (no padding) of zlib-compressed JSON."""
    raw = json.dumps({"v": 1, "cells": list(cells)}, separators=(",", ":"), ensure_ascii=False)
    packed = zlib.compress(raw.encode("utf-8"), 9)
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_share(token: str) -> list[str]:
    """The cells a share token holds. Raises ValueError for anything that is not one."""
    if isinstance(token, bytes):
        token = token.decode("ascii", "replace")
    token = token.strip()
    if not token or not re.fullmatch(r"[A-Za-z0-9_\-]+=*", token):
        raise ValueError("not a share link: expected base64url text")
    token = token.rstrip("=")
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, _MAX_SHARE_BYTES)
        if inflater.unconsumed_tail:
            raise ValueError("share link too large")
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise
    except Exception as exc:  # binascii.Error, zlib.error, UnicodeDecodeError
        raise ValueError(f"not a share link: {exc}") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, str) for c in cells):
        raise ValueError("not a share link: no list of cells inside")
    return cells or [""]


def share_url(base: str, cells: list[str]) -> str:
    """`base` (a page address, any query dropped) with the cells in `?nb=`."""
    base = base.split("?", 1)[0].split("#", 1)[0]
    return f"{base}?nb={encode_share(cells)}"
