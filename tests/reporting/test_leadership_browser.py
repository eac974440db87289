"""The leadership page as a reader meets it, in headless Chromium: the verdict sentence, keyboard
use, axe-core (WCAG 2 A/AA) with zero violations, a printed PDF with every inventory row, and
the layout at 400 px."""

from __future__ import annotations

import base64
import io
import json
import re
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader

from scanner.collectors.base import Target
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.model import ScanResult
from scanner.inventory.systems import parse_systems
from scanner.reporting.html import HtmlReporter, build_data
from scanner.resources import reports_dir
from scanner.scan import ScanRequest, run_scan
from tests.support.browser import DevTools, chromium
from tests.support.scans import mixed_tree

AXE = reports_dir().parent / ".tools" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"


def _result(root: Path) -> ScanResult:
    mixed_tree(root)
    systems = parse_systems(
        {
            "system": [
                {
                    "id": "pki",
                    "name": "Certificate authority",
                    "owner": {"name": "PKI team", "email": "pki@example.invalid"},
                    "impact": "high",
                    "high_value_asset": True,
                    "data_ttl_years": 12,
                    "match": {"paths": [str(root / "ca.crt"), str(root / "good.crt")]},
                },
                {"id": "legacy", "name": "Legacy app", "impact": "low", "match": {"paths": [str(root / "old")]}},
            ]
        },
        "inline",
    )
    packs = select_packs(discover_packs(()), ())
    return run_scan(ScanRequest((Target("path", str(root)),), tuple(packs), systems=systems))


def _open(tools: DevTools, page: Path) -> None:
    tools.call("Page.navigate", url=page.as_uri())
    tools.wait_event("Page.loadEventFired")
    tools.wait_for("document.body.getAttribute('data-ready') === '1'")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ScanResult]:
    root = tmp_path_factory.mktemp("leadership")
    result = _result(root / "tree")
    page = root / "report.html"
    page.write_bytes(HtmlReporter().render(result))
    return page, result


def test_verdict_keyboard_and_axe(report: tuple[Path, ScanResult], tmp_path: Path) -> None:
    page, result = report
    assert AXE.is_file(), "axe-core is installed by scripts/bootstrap.sh test"
    with chromium(tmp_path) as tools:
        _open(tools, page)
        sentence = tools.evaluate("document.getElementById('verdict-sentence').textContent")
        assert re.match(r"Not ready: \d+% of \d+ assessed assets are ready \(target 90%\)\.", sentence), sentence
        assert "Most urgent: Certificate authority (PKI team)" in sentence
        assert tools.evaluate("document.querySelectorAll('#system-status tbody tr').length") == 3  # two + unassigned

        # keyboard: Tab reaches sort headers, systems, inventory rows and graph nodes; Enter opens a row
        reached = tools.evaluate(
            """(() => {
              const seen = new Set();
              document.body.focus();
              const focusable = Array.from(document.querySelectorAll('a[href], button, input, select, [tabindex]'))
                .filter(e => e.tabIndex >= 0 && !e.disabled && e.getClientRects().length);
              for (const e of focusable) { e.focus(); if (document.activeElement === e) {
                if (e.matches('#inv-table th button')) seen.add('sort');
                if (e.matches('#sys-list button')) seen.add('system');
                if (e.matches('#inv-body tr')) seen.add('row');
                if (e.matches('#graph-svg .node')) seen.add('node');
              } }
              return Array.from(seen).sort();
            })()"""
        )
        assert reached == ["node", "row", "sort", "system"]
        # a declared system's pane names its owner, impact, readiness and priority
        tools.evaluate(
            "Array.from(document.querySelectorAll('#sys-list button'))"
            ".find(b => b.textContent.includes('Certificate authority')).click()"
        )
        assert "owner PKI team; impact high; readiness" in tools.evaluate(
            "document.getElementById('sys-detail').textContent"
        )
        tools.evaluate("document.querySelector('#inv-body tr').focus()")
        tools.call("Input.dispatchKeyEvent", type="keyDown", key="Enter", code="Enter", windowsVirtualKeyCode=13)
        tools.call("Input.dispatchKeyEvent", type="keyUp", key="Enter", code="Enter", windowsVirtualKeyCode=13)
        tools.wait_for("!document.getElementById('asset-detail').hidden")
        # the detail opens under its own row, not below the table
        assert tools.evaluate(
            "document.getElementById('asset-detail').closest('tr.detail-row').previousElementSibling.classList.contains('selected')"
        )
        assert tools.evaluate("document.activeElement.id") == "asset-detail"

        tools.evaluate(AXE.read_text("utf-8") + ";true")
        found = tools.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
            ".then(r => JSON.stringify(r.violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target)}))))"
        )
        assert json.loads(found) == []
        assert tools.errors() == []
    assert len(result.assets) > 10


def test_print_is_a_complete_paginated_record(report: tuple[Path, ScanResult], tmp_path: Path) -> None:
    page, result = report
    data = build_data(result)
    with chromium(tmp_path) as tools:
        _open(tools, page)
        pdf = base64.b64decode(tools.call("Page.printToPDF", timeout=60, printBackground=True)["data"])
    reader = PdfReader(io.BytesIO(pdf))
    # NFKC: the PDF's text uses ligatures ("ﬁ") that the report's text does not
    text = unicodedata.normalize("NFKC", re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages)))
    # paginated, but without the screen's controls, graph and pagers
    assert 2 <= len(reader.pages) <= 12
    assert "Filter the inventory" not in text and "previous" not in text and "page 1 of" not in text
    assert f"Every inventoried asset ({len(result.assets)})" in text
    for asset in data["assets"]:  # every inventory row, not the first page of the table
        assert asset["l"][:25] in text, asset["l"]
    for name in ("Certificate authority", "Legacy app", "unassigned"):  # every system
        assert name in text
    assert "Compliance per requirement" in text


def test_layout_at_400_pixels(report: tuple[Path, ScanResult], tmp_path: Path) -> None:
    page, _ = report
    with chromium(tmp_path, width=400, height=900) as tools:
        tools.call("Emulation.setDeviceMetricsOverride", width=400, height=900, deviceScaleFactor=1, mobile=False)
        _open(tools, page)
        # nothing wider than the screen but the tables' own scrolling boxes; the systems pane is usable
        tools.evaluate("document.querySelector('#sys-list button').click()")
        overflow = tools.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert overflow[0] <= overflow[1] <= 400, overflow
        widths = tools.evaluate(
            "['sys-list', 'sys-detail', 'verdict'].map(id => document.getElementById(id).getBoundingClientRect().width)"
        )
        assert all(w >= 300 for w in widths), widths
        shot = tools.screenshot(tmp_path / "narrow.png")
        assert tools.errors() == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
