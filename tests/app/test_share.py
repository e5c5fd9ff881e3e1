"""Share links: cells in the URL as base64url of zlib-compressed JSON (`?nb=`)."""
import base64
import json
import zlib

import pytest

from gradview.app.notebook import decode_share, encode_share, share_url


def test_round_trip_keeps_cells_exactly():
    cells = ["import torch\nx = torch.ones(3, requires_grad=True)", "print('ünïcode ✓')", "", "  indented\n\n"]
    assert decode_share(encode_share(cells)) == cells


def test_token_is_url_safe_without_padding():
    token = encode_share(["x = 1" * 50, "y = '+/='"])
    assert all(c.isalnum() or c in "-_" for c in token)


def test_token_is_zlib_json():
    token = encode_share(["a = 1"])
    raw = zlib.decompress(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert json.loads(raw) == {"v": 1, "cells": ["a = 1"]}


def test_compresses_repetitive_code():
    cells = ["y = torch.relu(x @ w + b)\n" * 100]
    assert len(encode_share(cells)) < len(cells[0]) / 10


def test_padding_and_bytes_accepted():
    token = encode_share(["z"])
    assert decode_share(token + "==") == ["z"]
    assert decode_share(token.encode()) == ["z"]


def test_share_url_replaces_query():
    url = share_url("http://host:5006/main?nb=old#frag", ["a"])
    assert url.startswith("http://host:5006/main?nb=")
    assert decode_share(url.split("?nb=", 1)[1]) == ["a"]


@pytest.mark.parametrize("token", ["", "not base64 !!", "AAAA", base64.urlsafe_b64encode(b"garbage").decode(),
                                   base64.urlsafe_b64encode(zlib.compress(b'{"cells": [1, 2]}')).decode(),
                                   base64.urlsafe_b64encode(zlib.compress(b'[1]')).decode()])
def test_bad_tokens_raise_value_error(token):
    with pytest.raises(ValueError):
        decode_share(token)


def test_decompression_is_bounded():
    bomb = zlib.compress(json.dumps({"v": 1, "cells": ["x" * (4 << 20)]}).encode(), 9)
    with pytest.raises(ValueError):
        decode_share(base64.urlsafe_b64encode(bomb).decode())


def test_page_starts_from_share_link():
    from gradview.app.main import initial_cells
    cells, note = initial_cells({"nb": [encode_share(["a = 1", "b = 2"])]})
    assert cells == ["a = 1", "b = 2"] and note is None
    cells, note = initial_cells({"nb": ["%%%"]})
    assert note and cells  # a broken link falls back to the walkthrough and says so
