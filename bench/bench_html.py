"""HTML report at scale (issue 12 item 5): the one-file page against the split page (summaries and the
first assets in the page, all the data in its companion <name>.data.js), measured in the same run:
render time, page and companion sizes, and in headless Chromium the time to first render (the page's
views drawn) and to the full inventory (companion inflated). Then the JSON report's peak memory,
rendered whole and written (before) against streamed (now), each in a fresh forked process.

    .venv/bin/python bench/bench_html.py --assets 20000 500000 [--no-browser] [--no-memory] [--repeat 1]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

from scanner.compat import UTC

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
from scanner.reporting import html
from scanner.reporting.html import HtmlReporter
from scanner.reporting.json_report import JsonReporter
from scanner.reporting.output import write_output

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
    """Best wall time of ``repeat`` calls, the CPU time of that call, and its value."""
    best, cpu, value = float("inf"), 0.0, None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        value = fn()
        wall = time.perf_counter() - start
        if wall < best:
            best, cpu = wall, time.process_time() - start_cpu
    return best, cpu, value


def open_page(tools, page: Path) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Seconds from navigation to the first render (the page's views drawn) and, for a split page,
    to the full inventory drawn from its companion; with the page's own clock beside them."""
    start = time.perf_counter()
    tools.call("Page.navigate", url=page.as_uri())
    tools.wait_for("document.body && document.body.getAttribute('data-ready') === '1'", timeout=300)
    out = {"first": time.perf_counter() - start}
    out["first_clock"] = tools.evaluate("Number(document.body.getAttribute('data-ready-ms'))") / 1000
    if tools.evaluate("document.body.hasAttribute('data-companion') || !!document.getElementById('ks-companion')"):
        settled = "['loaded', 'missing', 'wrong', 'broken'].includes(document.body.getAttribute('data-companion'))"
        tools.wait_for(settled, 300)
        out["full"] = time.perf_counter() - start
        out["full_clock"] = tools.evaluate("Number(document.body.getAttribute('data-full-ms'))") / 1000
        out["called"] = tools.evaluate("Number(document.body.getAttribute('data-companion-ms'))") / 1000
        out["inflated"] = tools.evaluate("Number(document.body.getAttribute('data-inflated-ms'))") / 1000
    return out


def browser_figures(one_file: bytes, split: tuple[bytes, bytes], n: int) -> None:
    from tests.support.browser import chromium

    with tempfile.TemporaryDirectory() as tmp:
        single = Path(tmp) / "one" / "report.html"
        single.parent.mkdir()
        single.write_bytes(one_file)
        page = Path(tmp) / "split" / "report.html"
        page.parent.mkdir()
        page.write_bytes(split[0])
        page.with_name("report.data.js").write_bytes(split[1])
        with chromium(Path(tmp)) as tools:
            one = open_page(tools, single)
            two = open_page(tools, page)
            print(
                f"  browser, one file:  first render {one['first']:6.2f} s after navigation"
                f" (page clock {one['first_clock']:.2f} s)"
            )
            state = tools.evaluate("document.body.getAttribute('data-companion')")
            print(
                f"  browser, split:     first render {two['first']:6.2f} s (page clock {two['first_clock']:.2f} s,"
                f" {two['first'] / one['first']:.2f}x the one file); full inventory {two.get('full', 0):.2f} s"
                f" (page clock {two.get('full_clock', 0):.2f} s: companion script run at {two.get('called', 0):.2f} s,"
                f" inflated and parsed at {two.get('inflated', 0):.2f} s, drawn at {two.get('full_clock', 0):.2f} s)"
                f" (companion {state})"
            )
            tools.evaluate("document.getElementById('inv-filter').focus()")
            before = tools.evaluate("document.getElementById('inv-count').textContent")
            start = time.perf_counter()
            tools.call("Input.insertText", text="app4242.")
            tools.wait_for(f"document.getElementById('inv-count').textContent !== {before!r}", timeout=60)
            answer = tools.evaluate("document.getElementById('inv-count').textContent")
            print(
                f"  browser, split:     filter over {n} assets answered in {time.perf_counter() - start:.2f} s"
                f" ({answer}; 120 ms of it the typing debounce); {len(tools.errors())} console errors"
            )


def _in_child(work, trace: bool) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """(peak MB of Python allocations, wall s, CPU s) of ``work()`` in a forked child, so that one
    writer's garbage is not the other's; traced (tracemalloc: slower) for the peak only."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, send three numbers, leave without cleanup
        os.close(read)
        if trace:
            tracemalloc.start()
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        peak = tracemalloc.get_traced_memory()[1] / 1e6 if trace else 0.0
        os.write(write, f"{peak} {wall} {cpu}".encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as handle:
        figures = handle.read().split()
    os.waitpid(pid, 0)
    return float(figures[0]), float(figures[1]), float(figures[2])


def json_memory(result: ScanResult) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = str(Path(tmp) / "report.json")
        figures = {}
        for name, work in (
            ("before", lambda: write_output(target, JsonReporter().render(result))),
            ("now", lambda: JsonReporter().write(result, target)),
        ):
            peak = _in_child(work, trace=True)[0]
            _, wall, cpu = _in_child(work, trace=False)
            figures[name] = (peak, wall, cpu, Path(target).read_bytes())
    before, now = figures["before"], figures["now"]
    print(
        f"  JSON {len(now[3]) / 1e6:.0f} MB, rendered then written (before): peak {before[0]:6.1f} MB of Python"
        f" allocations, {before[1]:5.2f} s wall, {before[2]:5.2f} s CPU"
    )
    print(
        f"  JSON streamed (now):                   peak {now[0]:6.1f} MB, {now[1]:5.2f} s wall,"
        f" {now[2]:5.2f} s CPU ({before[0] / max(now[0], 0.1):.1f}x less peak; same bytes: {before[3] == now[3]})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, nargs="+", default=[20_000])
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="renders timed (best of); 1 at 500k assets")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} (shared: wall times vary, CPU times less)")
    for count in args.assets:
        result = synthetic(count)
        n = len(result.assets)
        print(f"synthetic scan: {n} assets, {len(result.findings)} findings, {len(result.relations)} relations")
        if not args.no_memory:
            json_memory(result)
        json_s, json_cpu, json_bytes = timed(lambda r=result: JsonReporter().render(r), args.repeat)
        print(f"  baseline JSON report: {json_s:6.2f} s ({json_cpu:.2f} s CPU)  {len(json_bytes) / 1e6:6.1f} MB")
        del json_bytes
        one_s, one_cpu, one_file = timed(lambda r=result: HtmlReporter().render(r), args.repeat)
        print(
            f"  one-file HTML:        {one_s:6.2f} s ({one_cpu:.2f} s CPU)  page {len(one_file) / 1e6:6.1f} MB"
            f"  ({one_s / json_s:.2f}x the JSON time)"
        )
        split_s, split_cpu, split = timed(
            lambda r=result: HtmlReporter().render_split(r, "report.data.js"), args.repeat
        )
        chosen = "split" if n > html.SPLIT_ABOVE else f"one file (split above {html.SPLIT_ABOVE}); split forced here"
        print(
            f"  split HTML:           {split_s:6.2f} s ({split_cpu:.2f} s CPU)  page {len(split[0]) / 1e6:6.1f} MB"
            f" + companion {len(split[1]) / 1e6:.1f} MB  (page {len(one_file) / len(split[0]):.1f}x smaller;"
            f" target under 25 MB; the reporter writes: {chosen})"
        )
        if not args.no_browser and shutil.which("chromium"):
            browser_figures(one_file, split, n)
        del one_file, split
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"bench process: {usage.ru_utime + usage.ru_stime:.1f} s CPU, peak RSS {usage.ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
