"""End-to-end scans of the four real servers: collector, graph, enrichment and the TLS rules."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from scanner.collectors.base import Target
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.model import AssetType, ScanResult
from scanner.scan import ScanRequest, run_scan
from tests.collectors.tls.conftest import Lab
from tests.collectors.tls.test_groups_probe import SlowRelay

TIMEOUT = 2.0


def scan(*targets: Target, timeout: float = TIMEOUT) -> ScanResult:
    packs = select_packs(discover_packs(), ["nist-sp800-52r2"])
    return run_scan(ScanRequest(targets=targets, packs=tuple(packs), timeout=timeout, options={"concurrency": 10}))


def tls(server_target: str) -> Target:
    return Target("tls", server_target)


def findings_by_endpoint(result: ScanResult) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for finding in result.findings:
        out[finding.asset_id].add(finding.rule_id)
    return out


@pytest.fixture(scope="module")
def four(lab: Lab) -> tuple[ScanResult, float, float]:
    """The three good servers alone, then all four: (result of four, seconds for three, seconds for four)."""
    start = time.monotonic()
    scan(tls(lab.legacy.target), tls(lab.modern.target), tls(lab.pq.target))
    three = time.monotonic() - start
    start = time.monotonic()
    result = scan(*(tls(s.target) for s in (lab.legacy, lab.modern, lab.pq, lab.silent)))
    return result, three, time.monotonic() - start


def test_hanging_server_costs_one_error_and_bounded_time(four: tuple[ScanResult, float, float], lab: Lab) -> None:
    result, three, both = four
    assert [(e.target, e.collector) for e in result.errors] == [(lab.silent.target, "tls")]
    assert "timeout" in result.errors[0].message
    assert both <= 2 * TIMEOUT + three, (both, three)
    endpoints = {a.id for a in result.assets if a.type is AssetType.TLS_ENDPOINT}
    assert endpoints == {f"tls:{s.target}" for s in (lab.legacy, lab.modern, lab.pq)}


def test_legacy_tls10_endpoint(four: tuple[ScanResult, float, float], lab: Lab) -> None:
    result = four[0]
    endpoint = next(a for a in result.assets if a.id == f"tls:{lab.legacy.target}")
    assert endpoint.properties["protocols"] == ["TLSv1.0"]
    assert endpoint.properties["pq_key_exchange"] is False
    assert endpoint.properties["pq_groups_probed"] == []  # no TLS 1.3: nothing to probe
    assert 1024 in endpoint.properties["dh_key_sizes"]
    assert endpoint.properties["hsts"] is None and endpoint.properties["speaks_http"] is True
    assert findings_by_endpoint(result)[endpoint.id] == {
        "sp800-52r2.protocol.deprecated-version",
        "sp800-52r2.protocol.tls13-missing",
        "sp800-52r2.cipher.prohibited",  # the anonymous DH/ECDH suites of ALL:@SECLEVEL=0
        "sp800-52r2.kex.rsa-key-transport",
        "sp800-52r2.kex.weak-group",  # the 1024-bit -dhparam
        "sp800-52r2.cert.self-signed-leaf",
        "sp800-52r2.revocation.no-ocsp-stapling",
        "sp800-52r2.http.hsts-missing",
        "sp800-52r2.pqc.no-hybrid-key-exchange",
    }
    protocol = [f for f in result.findings if f.asset_id == endpoint.id and f.category == "protocol"]
    assert {f.evidence.get("protocol") for f in protocol} == {"TLSv1.0", None}


def test_modern_endpoint(four: tuple[ScanResult, float, float], lab: Lab) -> None:
    result = four[0]
    endpoint = next(a for a in result.assets if a.id == f"tls:{lab.modern.target}")
    props = endpoint.properties
    assert props["protocols"] == ["TLSv1.2", "TLSv1.3"]
    assert props["pq_key_exchange"] is False
    assert set(props["pq_groups_probed"]) == {
        "X25519MLKEM768",
        "SecP256r1MLKEM768",
        "SecP384r1MLKEM1024",
        "MLKEM768",
        "MLKEM1024",
    }
    assert set(props["key_exchange_groups"]) == {"x25519", "secp256r1", "secp384r1"}
    assert props["hsts"] == {"max_age": 63072000, "include_subdomains": False, "preload": False}
    assert all(s.startswith("TLS_ECDHE_") or "_WITH_" not in s for s in props["cipher_suites"])
    assert findings_by_endpoint(result)[endpoint.id] == {
        "sp800-52r2.cert.self-signed-leaf",
        "sp800-52r2.revocation.no-ocsp-stapling",
        "sp800-52r2.pqc.no-hybrid-key-exchange",
    }
    pqc = next(f for f in result.findings if f.asset_id == endpoint.id and f.category == "pqc")
    assert pqc.severity.value == "info"


def test_post_quantum_endpoint(four: tuple[ScanResult, float, float], lab: Lab) -> None:
    result = four[0]
    endpoint = next(a for a in result.assets if a.id == f"tls:{lab.pq.target}")
    props = endpoint.properties
    assert props["pq_key_exchange"] is True
    # OpenSSL 3.5's default list: the one hybrid group, then the classical ones sslyze finds
    assert [g for g in props["key_exchange_groups"] if g[0].isupper()] == ["X25519MLKEM768"]
    assert "x25519" in props["key_exchange_groups"]
    findings = findings_by_endpoint(result)[endpoint.id]
    assert "sp800-52r2.pqc.no-hybrid-key-exchange" not in findings
    # its certificate names pq.example only, and the scan reached it as 127.0.0.1
    assert "sp800-52r2.cert.hostname-mismatch" in findings


def test_presented_certificate_is_the_file_node(lab: Lab) -> None:
    result = scan(tls(lab.modern.target), Target("path", str(lab.modern_cert)))
    certificates = [a for a in result.assets if a.type is AssetType.CERTIFICATE]
    assert len(certificates) == 1
    kinds = {(loc.kind, loc.ref) for loc in certificates[0].locations}
    assert kinds == {("tls", f"tls:{lab.modern.target}"), ("file", str(lab.modern_cert))}
    relations = {(r.source, r.target, r.type.value) for r in result.relations}
    assert (f"tls:{lab.modern.target}", certificates[0].id, "presents") in relations
    key = next(a for a in result.assets if a.type is AssetType.KEY)
    assert (certificates[0].id, key.id, "certifies") in relations


def test_refused_port_and_unresolvable_name_are_errors(lab: Lab) -> None:
    from tests.support.tls_servers import free_port

    closed = f"127.0.0.1:{free_port()}"
    result = scan(tls(closed), tls("no-such-host.invalid:443"), tls(lab.modern.target))
    errors = {e.target: e.message for e in result.errors}
    assert set(errors) == {closed, "no-such-host.invalid:443"}
    assert "refused" in errors[closed]
    assert "resolve" in errors["no-such-host.invalid:443"]
    assert any(a.id == f"tls:{lab.modern.target}" for a in result.assets)


def test_pqc_severity_rises_with_the_as_of_date(lab: Lab) -> None:
    from datetime import datetime

    from scanner.compat import UTC

    packs = select_packs(discover_packs(), ["nist-sp800-52r2"])
    severities = []
    for year in (2026, 2031, 2036):
        result = run_scan(
            ScanRequest(
                targets=(tls(lab.modern.target),),
                packs=tuple(packs),
                timeout=TIMEOUT,
                as_of=datetime(year, 6, 1, tzinfo=UTC),
            )
        )
        pqc = next(f for f in result.findings if f.category == "pqc")
        severities.append((pqc.severity.value, pqc.deadline))
    assert severities == [("info", "2030-12-31"), ("medium", "2035-12-31"), ("high", "2035-12-31")]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, bool | None]] = []

    def target_started(self, collector: str, target: str) -> None:
        self.events.append(("started", target, None))

    def target_finished(self, collector: str, target: str, ok: bool) -> None:
        self.events.append(("finished", target, ok))


def test_progress_reports_every_endpoint(lab: Lab) -> None:
    from scanner.collectors.base import CollectContext
    from scanner.collectors.tls.collector import TlsCollector

    recorder = Recorder()
    context = CollectContext(timeout=0.5, options={"concurrency": 4}, progress=recorder)
    list(TlsCollector().collect([tls(lab.modern.target), tls(lab.silent.target)], context))
    assert sorted(recorder.events, key=str) == sorted(
        [
            ("started", lab.modern.target, None),
            ("finished", lab.modern.target, True),
            ("started", lab.silent.target, None),
            ("finished", lab.silent.target, False),
        ],
        key=str,
    )
    for target in (lab.modern.target, lab.silent.target):
        assert recorder.events.index(("started", target, None)) < next(
            i for i, e in enumerate(recorder.events) if e[0] == "finished" and e[1] == target
        )


def test_malformed_target_reaching_the_collector_is_an_error() -> None:
    from scanner.collectors.base import CollectContext
    from scanner.collectors.tls.collector import TlsCollector

    observations = list(TlsCollector().collect([tls("host:notaport")], CollectContext()))
    assert [(o.target, o.collector) for o in observations] == [("host:notaport", "tls")]  # type: ignore[union-attr]


def test_modern_endpoint_extensions_and_own_probes(four: tuple[ScanResult, float, float], lab: Lab) -> None:
    result = four[0]
    props = next(a for a in result.assets if a.id == f"tls:{lab.modern.target}").properties
    # nginx on OpenSSL 3.0: RFC 7627, RFC 7507 and tickets
    assert props["extended_master_secret"] is True
    assert props["fallback_scsv"] is True
    assert props["session_resumption"]["tls_ticket"] == "fully_supported"
    # the groups probe is complete, in nginx's ssl_ecdh_curve order (X25519:prime256v1:secp384r1)
    assert props["key_exchange_groups"] == ["x25519", "secp256r1", "secp384r1"]
    assert props["key_exchange_groups_complete"] is True
    # an ECDSA P-256 certificate: ECDSA with SHA-256 in both versions, never RSA
    for version in ("TLSv1.2", "TLSv1.3"):
        assert "ecdsa_secp256r1_sha256" in props["signature_algorithms"][version]
        assert not any(s.startswith("rsa") for s in props["signature_algorithms"][version])
    (verdict,) = props["chain_validation"]
    assert verdict["status"] == "self-signed" and verdict["valid_order"] is True


def test_legacy_endpoint_groups_by_server_key_exchange(four: tuple[ScanResult, float, float], lab: Lab) -> None:
    result = four[0]
    props = next(a for a in result.assets if a.id == f"tls:{lab.legacy.target}").properties
    # TLS 1.0 only: curves read from ServerKeyExchange; no signature_algorithms extension in TLS 1.0
    assert props["key_exchange_groups_complete"] is True
    assert {"x25519", "secp256r1", "secp384r1"} <= set(props["key_exchange_groups"])
    assert props["signature_algorithms"] == {}


def test_target_deadline_gives_up_one_endpoint(lab: Lab) -> None:
    """A deadline shorter than a full scan: the endpoint is one error, in about that time.

    The legacy server behind a single-threaded relay that holds each connection back 0.3 s: its full
    scan takes many seconds whatever the machine's load (the bare server's fits in about a second now).
    """
    relay = SlowRelay(lab.legacy.port, delay=0.3, idle=1.0)
    target = f"127.0.0.1:{relay.port}"
    try:
        start = time.monotonic()
        result = run_scan(ScanRequest(targets=(tls(target),), packs=(), timeout=TIMEOUT, options={"tls_deadline": 1.0}))
        elapsed = time.monotonic() - start
    finally:
        relay.stop()
    assert [(e.target, e.message) for e in result.errors] == [
        (target, "the scan did not finish before the target deadline; the endpoint was given up")
    ]
    assert not [a for a in result.assets if a.type is AssetType.TLS_ENDPOINT]
    assert elapsed < 1.0 + 2 * TIMEOUT + 3, elapsed


def test_mozilla_profiles_on_the_modern_endpoint(lab: Lab) -> None:
    packs = select_packs(discover_packs(), ["mozilla-tls"])
    result = run_scan(ScanRequest(targets=(tls(lab.modern.target),), packs=tuple(packs), timeout=TIMEOUT))
    deviations: dict[str, set[str]] = defaultdict(set)
    for finding in result.findings:
        deviations[finding.rule_id].add(finding.evidence["requirement"])
    # nginx configured like Mozilla intermediate, without OCSP stapling (self-signed: no responder)
    assert deviations["mozilla.tls.intermediate"] == {"ocsp_staple"}
    assert deviations["mozilla.tls.modern"] == {"tls_versions", "ciphers", "ocsp_staple"}
