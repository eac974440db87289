"""The HTML report as a file: escaping, no external URLs, the data it carries, the trend."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from scanner.compat import UTC
from scanner.inventory.model import Asset, AssetType, CollectionError, Location, TrendPoint, freeze
from scanner.reporting.html import HtmlReporter, build_data
from tests.support import pki
from tests.support.scans import mixed_tree, scan_paths

EVIL = "<script>alert(1)</script>"


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data") and value is not None:
                self.urls.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _evil_result(tmp_path: Path):  # type: ignore[no-untyped-def]
    key = pki.ec_key()
    pki.write(tmp_path / "evil.crt", pki.pem(pki.certificate(key, EVIL, days=30)))
    result = scan_paths(tmp_path)
    config = Asset(
        id=f"config:nginx:{tmp_path}/nginx.conf",
        type=AssetType.CONFIG,
        properties=freeze({"kind": "nginx", "path": f"{tmp_path}/nginx.conf", "settings": {"ssl_ciphers": EVIL}}),
        locations=(Location("config", f"{tmp_path}/nginx.conf", "line 3"),),
    )
    error = CollectionError(target=f"{tmp_path}/{EVIL}", collector="files", message=f"cannot read {EVIL}")
    return dataclasses.replace(result, assets=(*result.assets, config), errors=(*result.errors, error))


def test_script_in_a_subject_and_a_config_value_is_escaped(tmp_path: Path) -> None:
    result = _evil_result(tmp_path)
    subject = next(a.properties["subject"] for a in result.assets if a.type == AssetType.CERTIFICATE)
    assert "<script" in subject  # keysweep keeps the subject as RFC 4514 text: CN=\\<script\\>...
    html = HtmlReporter().render(result).decode()
    # the subject, the config value and the error are in the page, but never as markup
    assert "<script\\>" not in html and EVIL not in html
    assert "cannot read &lt;script&gt;alert(1)&lt;/script&gt;" in html  # the error, escaped by Jinja
    parser = _Collect()
    parser.feed(html)
    # exactly our two script elements: the JSON data and the report's code
    assert len(parser.scripts) == 2
    assert parser.scripts[0] == {"type": "application/json", "id": "ks-data"}
    data = json.loads(re.search(r'<script type="application/json" id="ks-data">(.*?)</script>', html, re.S)[1])  # type: ignore[index]
    # the browser gets the literal text, which the page only ever sets as textContent
    assert any("<script" in a["l"] for a in data["assets"] if a["t"] == "certificate")
    assert any(a["p"].get("settings", {}).get("ssl_ciphers") == EVIL for a in data["assets"])


def test_no_external_urls(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    html = HtmlReporter().render(scan_paths(tmp_path)).decode()
    assert not re.search(r"(?i)\b(https?|ftp|wss?):", html)
    assert not re.search(r"(?i)//[a-z0-9.-]+\.[a-z]{2,}/", html)
    parser = _Collect()
    parser.feed(html)
    assert all(url.startswith("#") for url in parser.urls), parser.urls
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html  # the CSP forbids any load even if one slipped in


def test_overview_counts_match_the_scan(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    result = scan_paths(tmp_path)
    html = HtmlReporter().render(result).decode()
    open_high = sum(1 for f in result.findings if f.severity.value == "high" and f.waived is None)
    assert open_high >= 2  # weak key, expired certificate
    assert re.search(rf'sev-high">high</span></th>\s*<td>.*?</td>\s*<td class="num">{open_high}</td>', html, re.S)
    data = build_data(result)
    assert len(data["assets"]) == len(result.assets)
    assert len(data["findings"]) == len(result.findings)
    assert len(data["relations"]) == len(result.relations)
    # every asset belongs to the scanned tree's system
    assert data["systems"] == [f"files {tmp_path}"]


def test_trend_shows_earlier_scans(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    result = scan_paths(tmp_path)
    first = HtmlReporter().render(result).decode()
    assert "the trend appears from the next scan on" in first
    earlier = tuple(
        TrendPoint(f"scan-{i}", datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i), 40 + i, 10, 20 - i, freeze({}))
        for i in range(3)
    )
    html = HtmlReporter().render(dataclasses.replace(result, history=earlier)).decode()
    assert html.count('class="score-dot') == 4
    assert "readiness 42%" in html and "scan scan-2" in html
