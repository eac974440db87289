"""HTML report with 50,000 assets: render time and size against the JSON report of the same scan
(the baseline, measured in the same run), then load and filter times in headless Chromium.

    .venv/bin/python bench/bench_html.py [--assets 50000] [--no-browser]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner.inventory.model import (
    Asset,
    AssetType,
    Finding,
    Location,
    Relation,
    RelationType,
    RuleInfo,
    ScanMetadata,
    ScanResult,
    Severity,
    freeze,
)
from scanner.reporting.html import HtmlReporter
from scanner.reporting.json_report import JsonReporter

NOW = datetime(2026, 11, 28, tzinfo=UTC)
RULES = (
    RuleInfo("bench.key.weak", "Weak key", "key-size", Severity.HIGH, "bench", "why", "fix it", ("SP 800-57",)),
    RuleInfo("bench.cert.expired", "Expired", "certificate-validity", Severity.HIGH, "bench", "why", "renew", ()),
    RuleInfo("bench.key.qv", "Quantum-vulnerable", "pqc", Severity.INFO, "bench", "why", "migrate", ("IR 8547",)),
    RuleInfo("bench.tls.old", "Old TLS", "protocol", Severity.MEDIUM, "bench", "why", "upgrade", ("SP 800-52",)),
)


def _hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def synthetic(count: int) -> ScanResult:
    """Hosts with an endpoint, a certificate, its key and the file holding them: 4 assets each."""
    assets: list[Asset] = []
    relations: list[Relation] = []
    findings: list[Finding] = []
    for i in range(count // 4):
        host = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
        path = f"/srv/app{i % 500}/tls/server{i}.pem"
        cert_id, key_id = f"cert:sha256:{_hex(f'c{i}')}", f"key:spki-sha256:{_hex(f'k{i}')}"
        endpoint_id, file_id = f"tls:{host}:443", f"file:{path}"
        bits = 1024 if i % 10 == 0 else 2048
        not_after = NOW + timedelta(days=(i % 400) - 30)
        file_loc = Location("file", path, "PEM block 1")
        assets += [
            Asset(
                endpoint_id,
                AssetType.TLS_ENDPOINT,
                freeze(
                    {
                        "host": host,
                        "port": 443,
                        "protocols": ["TLSv1.2", "TLSv1.3"] if i % 3 else ["TLSv1.0"],
                        "cipher_suites": ["TLS_AES_128_GCM_SHA256"],
                        "pq_key_exchange": i % 7 == 0,
                    }
                ),
                (Location("tls", endpoint_id),),
            ),
            Asset(
                cert_id,
                AssetType.CERTIFICATE,
                freeze(
                    {
                        "subject": f"CN=app{i}.example.internal,O=Example",
                        "issuer": "CN=Example CA",
                        "not_after": not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "signature_algorithm": "sha256WithRSAEncryption",
                        "san": [f"DNS:app{i}.example.internal"],
                        "serial": format(i, "x"),
                        "days_remaining": (not_after - NOW).days,
                    }
                ),
                (file_loc, Location("tls", endpoint_id)),
            ),
            Asset(
                key_id,
                AssetType.KEY,
                freeze(
                    {
                        "algorithm": "RSA",
                        "key_size": bits,
                        "security_bits": 80 if bits == 1024 else 112,
                        "quantum_vulnerable": True,
                        "has_private_key": True,
                    }
                ),
                (file_loc,),
            ),
            Asset(file_id, AssetType.FILE, freeze({"path": path, "format": "pem", "mode": "0600"})),
        ]
        relations += [
            Relation(endpoint_id, cert_id, RelationType.PRESENTS),
            Relation(cert_id, key_id, RelationType.CERTIFIES),
            Relation(key_id, file_id, RelationType.STORED_IN),
            Relation(cert_id, file_id, RelationType.STORED_IN),
        ]

        def finding(rule: RuleInfo, asset_id: str, message: str) -> Finding:
            return Finding(
                Finding.make_id(rule.id, asset_id),
                rule.id,
                rule.title,
                rule.severity,
                rule.category,
                asset_id,
                message,
                freeze({}),
                rule.references,
                ("bench",),
                rule.remediation,
            )

        findings.append(finding(RULES[2], key_id, "RSA is quantum-vulnerable"))
        if bits == 1024:
            findings.append(finding(RULES[0], key_id, "RSA-1024 gives 80 bits"))
        if not_after < NOW:
            findings.append(finding(RULES[1], cert_id, "expired"))
        if i % 3 == 0:
            findings.append(finding(RULES[3], endpoint_id, "TLS 1.0 offered"))
    meta = ScanMetadata("bench", NOW, NOW, NOW, "bench", "bench", ("bench",), ("path:/srv",))
    return ScanResult(meta, tuple(assets), tuple(relations), tuple(findings), (), RULES)


def timed(fn, repeat: int = 3):  # type: ignore[no-untyped-def]
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=50_000)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="renders timed (best of); 1 at 500k assets")
    args = parser.parse_args()
    result = synthetic(args.assets)
    n = len(result.assets)
    print(f"synthetic scan: {n} assets, {len(result.findings)} findings, {len(result.relations)} relations")
    json_s, json_bytes = timed(lambda: JsonReporter().render(result), args.repeat)
    html_s, html_bytes = timed(lambda: HtmlReporter().render(result), args.repeat)
    print(f"baseline JSON report: {json_s:6.2f} s  {len(json_bytes) / 1e6:6.1f} MB")
    ratio = html_s / json_s
    print(f"HTML report:          {html_s:6.2f} s  {len(html_bytes) / 1e6:6.1f} MB  ({ratio:.2f}x the JSON time)")
    if b'id="ks-data-gz"' in html_bytes:
        # the same page with its data inline as JSON (before issue 12 item 5), for the size it saves
        from scanner.reporting import html

        html.COMPRESS_ABOVE = 1 << 62
        inline = len(HtmlReporter().render(result))
        print(
            f"  data compressed:    page {len(html_bytes) / 1e6:.1f} MB against {inline / 1e6:.1f} MB inline"
            f" ({inline / len(html_bytes):.1f}x smaller; target at 500k assets: under 25 MB)"
        )
    if args.no_browser or not shutil.which("chromium"):
        return
    from tests.support.browser import chromium

    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_bytes(html_bytes)
        with chromium(Path(tmp)) as tools:
            start = time.perf_counter()
            tools.call("Page.navigate", url=page.as_uri())
            tools.wait_for("document.body && document.body.getAttribute('data-ready') === '1'", timeout=120)
            wall = time.perf_counter() - start
            script_ms = tools.evaluate("Number(document.body.getAttribute('data-ready-ms'))")
            rows = tools.evaluate("document.querySelectorAll('#inv-body tr').length")
            clock = script_ms / 1000
            print(f"browser: ready {wall:5.2f} s after navigation (page clock {clock:.2f} s), {rows} rows drawn")
            tools.evaluate("document.getElementById('inv-filter').focus()")
            before = tools.evaluate("document.getElementById('inv-count').textContent")
            start = time.perf_counter()
            tools.call("Input.insertText", text="app4242.")
            tools.wait_for(f"document.getElementById('inv-count').textContent !== {before!r}", timeout=60)
            answer = tools.evaluate("document.getElementById('inv-count').textContent")
            print(
                f"browser: filter over {n} assets answered in {time.perf_counter() - start:.2f} s"
                f" ({answer}; 120 ms of it the typing debounce)"
            )
            start = time.perf_counter()
            tools.evaluate("document.querySelector('#inv-table th[data-key=l]').click()")
            tools.evaluate(
                "const f = document.getElementById('inv-filter'); f.value = ''; f.dispatchEvent(new Event('input'))"
            )
            tools.wait_for(f"document.getElementById('inv-count').textContent.startsWith('{n} of')")
            print(f"browser: clear filter and sort {n} assets by name in {time.perf_counter() - start:.2f} s")
            errors = tools.errors()
            print(f"browser: {len(errors)} console errors")


if __name__ == "__main__":
    main()
