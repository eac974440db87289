"""Hostile TLS peers (issue 18): eight misbehaving servers and two healthy ones in one scan at
--timeout 2. Every hostile peer costs one error, the healthy ones are reported in full, and the
scan ends within a few timeouts of what the healthy servers alone take."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.collectors.base import Target
from scanner.collectors.tls.collector import check_reachable
from scanner.collectors.tls.models import Endpoint
from scanner.inventory.model import AssetType, ScanResult
from scanner.scan import ScanRequest, run_scan
from tests.collectors.tls.conftest import Lab
from tests.support import hostile_peers as hp
from tests.support import tls_servers as ts

TIMEOUT = 2.0


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ts.Server]]:
    directory = tmp_path_factory.mktemp("hostile")
    cert, key = ts.server_certificate(directory, "drip")
    servers = {
        "hang": hp.accept_and_hang(),
        "drip": hp.drip(cert, key),
        "hello-then-stall": hp.hello_then_stall(),
        "garbage": hp.garbage(),
        "reset": hp.reset(),
        "bogus-lengths": hp.bogus_lengths(),
        "huge-certificate": hp.huge_certificate_server(directory),
        "serves-once": hp.serves_once(cert, key),
    }
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def _scan(*targets: str) -> tuple[ScanResult, float]:
    start = time.monotonic()
    result = run_scan(
        ScanRequest(
            targets=tuple(Target("tls", t) for t in targets), packs=(), timeout=TIMEOUT, options={"concurrency": 10}
        )
    )
    return result, time.monotonic() - start


@pytest.mark.slow
def test_hostile_peers_cost_one_error_each_and_healthy_peers_are_reported(
    hostile: dict[str, ts.Server], lab: Lab
) -> None:
    healthy = [lab.modern.target, lab.legacy.target]
    _, alone = _scan(*healthy)
    result, together = _scan(*healthy, *(s.target for s in hostile.values()))

    errors: dict[str, list[str]] = {}
    for error in result.errors:
        errors.setdefault(error.target, []).append(error.message)
    by_peer = {name: errors.get(server.target, []) for name, server in hostile.items()}
    # one error per hostile peer, nothing else
    assert {name: len(messages) for name, messages in by_peer.items() if name != "drip"} == {
        name: 1 for name in hostile if name != "drip"
    }, by_peer
    assert not any(t in errors for t in healthy), errors
    messages = {name: m[0] for name, m in by_peer.items() if m}
    assert "timeout" in messages["hang"]
    assert "stalled after its ServerHello" in messages["hello-then-stall"]
    assert "does not speak TLS" in messages["garbage"]
    assert "reset" in messages["reset"] or "closed" in messages["reset"]
    assert "bogus length" in messages["bogus-lengths"]
    assert "certificate is too large" in messages["huge-certificate"], messages["huge-certificate"]
    # answered keysweep's first hello, then nothing: sslyze's worker gives up at its first stall
    assert "stopped" in messages["serves-once"] and "connectivity test" in messages["serves-once"]
    # the drip peer is a working TLS server: it is reported, and its dripped HTTP answer is the one error
    assert len(by_peer["drip"]) == 1 and "http_headers" in by_peer["drip"][0], by_peer["drip"]

    endpoints = {a.id: a for a in result.assets if a.type is AssetType.TLS_ENDPOINT}
    assert set(endpoints) == {f"tls:{t}" for t in [*healthy, hostile["drip"].target]}
    assert endpoints[f"tls:{lab.modern.target}"].properties["protocols"] == ["TLSv1.2", "TLSv1.3"]
    assert endpoints[f"tls:{lab.legacy.target}"].properties["protocols"] == ["TLSv1.0"]
    # a few timeouts over the healthy servers alone (the drip peer's own scan included)
    assert together <= alone + 4 * TIMEOUT + 5, (together, alone)


def test_hello_then_stall_costs_one_timeout(hostile: dict[str, ts.Server]) -> None:
    start = time.monotonic()
    reach = check_reachable(Endpoint("127.0.0.1", hostile["hello-then-stall"].port), TIMEOUT)
    assert time.monotonic() - start < TIMEOUT + 1.5
    assert (
        reach.error
        == f"the server stalled after its ServerHello: no TLS answer before the timeout (timeout {TIMEOUT:g}s)"
    )


def test_huge_certificate_says_what_happened(hostile: dict[str, ts.Server]) -> None:
    reach = check_reachable(Endpoint("127.0.0.1", hostile["huge-certificate"].port), 5)
    assert reach.error is not None
    assert "certificate is too large" in reach.error and "bytes" in reach.error


def test_huge_certificate_over_tls12_reports_its_size(tmp_path: Path) -> None:
    """TLS 1.2 shows the Certificate message in clear: the error gives its exact size."""
    from scanner.collectors.tls import hello

    cert, key = hp.huge_certificate(tmp_path)
    server = hp._tls("huge-tls12", cert, key, lambda connection: None)
    try:
        message = hello.client_hello(
            None, versions=[0x0303], cipher_suites=hello.LEGACY_SUITES, groups=[0x0017, 0x001D]
        )
        with pytest.raises(hello.ProbeError, match=r"certificate list is 1,04\d,\d{3} bytes"):
            hello.exchange_flight(("127.0.0.1", server.port), message, time.monotonic() + 5)
    finally:
        server.stop()
