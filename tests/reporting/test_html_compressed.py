"""Issue 12 item 5: a large report carries its data gzip-compressed, and the page inflates it in the browser."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import re
from pathlib import Path

import pytest

from scanner.inventory.model import Asset, AssetType, ScanResult, freeze
from scanner.reporting import html
from scanner.reporting.html import HtmlReporter, build_data
from tests.support.browser import chromium
from tests.support.scans import mixed_tree, scan_paths


def _big(tmp_path: Path, count: int) -> ScanResult:
    result = scan_paths(mixed_tree(tmp_path / "tree")["ca"].parent)
    extra = tuple(
        Asset(
            f"file:/srv/data/{i:05d}.pem",
            AssetType.FILE,
            freeze({"path": f"/srv/data/{i:05d}.pem", "format": "pem", "note": "caf\u00e9 </script><b>x</b>"}),
        )
        for i in range(count)
    )
    return dataclasses.replace(result, assets=(*result.assets, *extra))


def _packed(page: str) -> bytes:
    found = re.search(r'<script type="application/gzip\+base64" id="ks-data-gz">(.*?)</script>', page, re.S)
    assert found is not None
    return gzip.decompress(base64.b64decode(found[1]))


def test_large_data_is_compressed_and_holds_the_same_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _big(tmp_path, 3000)
    plain = HtmlReporter().render(result)
    assert b'id="ks-data"' in plain and b'id="ks-data-gz"' not in plain  # under the threshold: inline JSON
    monkeypatch.setattr(html, "COMPRESS_ABOVE", 10_000)
    packed = HtmlReporter().render(result)
    assert b'id="ks-data-gz"' in packed and b'id="ks-data"' not in packed
    assert json.loads(_packed(packed.decode())) == json.loads(json.dumps(build_data(result), default=str))
    assert len(packed) * 4 < len(plain)  # repetitive inventory data compresses well
    assert HtmlReporter().render(result) == packed  # reproducible bytes (gzip mtime 0)


def test_the_browser_inflates_the_data_and_the_page_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _big(tmp_path, 3000)
    monkeypatch.setattr(html, "COMPRESS_ABOVE", 10_000)
    page = tmp_path / "big.html"
    page.write_bytes(HtmlReporter().render(result))
    with chromium(tmp_path) as tools:
        tools.call("Page.navigate", url=page.as_uri())
        tools.wait_event("Page.loadEventFired")
        tools.wait_for("document.body.getAttribute('data-ready') === '1'")
        assert tools.errors() == []
        assert tools.requested_urls() == [page.as_uri()]  # nothing fetched: the data was in the page
        assert tools.evaluate("document.querySelectorAll('#inv-body tr').length") == 100
        assert tools.evaluate("document.getElementById('inv-count').textContent").endswith(
            f"{len(result.assets)} assets"
        )
        tools.evaluate("document.getElementById('inv-filter').focus()")
        tools.call("Input.insertText", text="02999.pem")
        tools.wait_for("document.querySelectorAll('#inv-body tr').length === 1")
        assert "/srv/data/02999.pem" in tools.evaluate("document.querySelector('#inv-body tr').textContent")
        assert tools.evaluate("document.querySelectorAll('b').length") == 0  # data stayed text
        assert tools.errors() == []
