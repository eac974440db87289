"""The HTML report in a real browser (headless Chromium): loads cleanly, filters, and is pictured."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from scanner.inventory.model import Asset, AssetType, freeze
from scanner.reporting.html import HtmlReporter, build_data
from tests.support import pki
from tests.support.browser import DevTools, chromium
from tests.support.scans import mixed_tree, scan_paths


def _open(tools: DevTools, page: Path) -> None:
    tools.call("Page.navigate", url=page.as_uri())
    tools.wait_event("Page.loadEventFired")
    tools.wait_for("document.body.getAttribute('data-ready') === '1'")


def _visible_rows(tools: DevTools) -> list[str]:
    rows: list[str] = tools.evaluate("Array.from(document.querySelectorAll('#inv-body tr')).map(r => r.textContent)")
    return rows


def test_report_loads_filters_and_is_pictured(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    mixed_tree(tree)
    # a hostile subject: the page must show it as text and run nothing
    pki.write(tree / "evil.crt", pki.pem(pki.certificate(pki.ec_key(), "<img src=x onerror=alert(1)>", days=30)))
    result = scan_paths(tree)
    page = tmp_path / "report.html"
    page.write_bytes(HtmlReporter().render(result))
    data = build_data(result)

    with chromium(tmp_path) as tools:
        _open(tools, page)
        assert tools.errors() == []
        # the page loaded nothing but itself
        assert tools.requested_urls() == [page.as_uri()]
        assert not [e for e in tools.events if e["method"] == "Page.javascriptDialogOpening"]
        assert len(_visible_rows(tools)) == len(result.assets)  # fewer than a page

        # typing into the filter keeps exactly the matching assets
        tools.evaluate("document.getElementById('inv-filter').focus()")
        tools.call("Input.insertText", text="expired")
        expected = [
            a
            for a in data["assets"]
            if "expired" in " ".join([a["l"], a["i"], a["d"], a["t"], *(data["systems"][s] for s in a["y"])]).lower()
        ]
        assert 0 < len(expected) < len(result.assets)
        tools.wait_for(f"document.querySelectorAll('#inv-body tr').length === {len(expected)}")
        rows = _visible_rows(tools)
        assert all("expired" in row.lower() for row in rows)
        assert tools.evaluate("document.getElementById('inv-count').textContent") == (
            f"{len(expected)} of {len(result.assets)} assets"
        )

        # the hostile subject is shown as text and made no element
        tools.evaluate("const f = document.getElementById('inv-filter'); f.value = ''; f.select()")
        tools.call("Input.insertText", text="onerror")
        tools.wait_for("document.querySelectorAll('#inv-body tr').length === 1")
        assert "<img src=x onerror=alert(1)" in tools.evaluate("document.querySelector('#inv-body tr').textContent")
        assert tools.evaluate("document.querySelectorAll('img').length") == 0

        # clicking a row shows the asset and centres the graph on it
        tools.evaluate("document.querySelector('#inv-body tr').click()")
        tools.wait_for("!document.getElementById('asset-detail').hidden")
        assert tools.evaluate("document.querySelectorAll('#graph-svg .node.center').length") == 1

        shot = tools.screenshot(tmp_path / "report.png")
        assert tools.errors() == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000


def test_large_report_pages_its_table(tmp_path: Path) -> None:
    """A report of 3,000 assets draws one page of 100 rows, and paging moves through them."""
    result = scan_paths(mixed_tree(tmp_path / "tree")["ca"].parent)
    extra = tuple(
        Asset(
            f"file:/srv/data/{i:05d}.pem", AssetType.FILE, freeze({"path": f"/srv/data/{i:05d}.pem", "format": "pem"})
        )
        for i in range(3000)
    )
    big = dataclasses.replace(result, assets=(*result.assets, *extra))
    page = tmp_path / "big.html"
    page.write_bytes(HtmlReporter().render(big))
    with chromium(tmp_path) as tools:
        _open(tools, page)
        assert len(_visible_rows(tools)) == 100
        tools.evaluate("document.querySelector('#inv-pager button:last-child').click()")
        tools.wait_for("document.querySelector('#inv-pager span').textContent.startsWith('page 2 of')")
        assert len(_visible_rows(tools)) == 100
        assert tools.errors() == []
