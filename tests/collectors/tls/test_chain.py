"""Chain validation against real servers (openssl s_server) presenting a private PKI's chains:
leaf only (intermediate omitted), the full chain, an expired intermediate, and a chain out of order;
each scanned without and with --ca-file naming the private root."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from scanner.collectors.base import Target
from scanner.collectors.tls import chain
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.model import Finding, ScanResult
from scanner.scan import ScanRequest, run_scan
from tests.support import pki
from tests.support import tls_servers as ts

CHAIN_RULES = {
    "sp800-52r2.cert.chain-incomplete",
    "sp800-52r2.cert.untrusted-root",
    "sp800-52r2.cert.chain-order",
    "sp800-52r2.cert.expired-intermediate",
}


@dataclass(frozen=True)
class Pki:
    root: x509.Certificate
    intermediate: x509.Certificate
    expired_intermediate: x509.Certificate
    root_file: Path
    directory: Path


def _issue(
    directory: Path, name: str, issuer: x509.Certificate, issuer_key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    key = pki.ec_key()
    leaf = pki.certificate(
        key, "127.0.0.1", issuer_key=issuer_key, issuer_name=issuer.subject.rfc4514_string()[3:], san=["127.0.0.1"]
    )
    return pki.write(directory / f"{name}.crt", pki.pem(leaf)), pki.write(directory / f"{name}.key", pki.key_pem(key))


def _s_server(cert: Path, key: Path, chain_file: Path | None) -> ts.Server:
    for _ in range(5):
        port = ts.free_port()
        argv = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key)]
        argv += ["-www", "-quiet"] + (["-cert_chain", str(chain_file)] if chain_file else [])
        try:
            return ts._start("chain", argv, port, stderr=subprocess.DEVNULL)
        except RuntimeError:
            continue
    raise RuntimeError("openssl s_server did not start")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, ts.Server], Pki]]:
    directory = tmp_path_factory.mktemp("chains")
    root_key, int_key, old_key = pki.ec_key(), pki.ec_key(), pki.ec_key()
    root = pki.certificate(root_key, "Keysweep Test Root", days=3650, ca=True)
    intermediate = pki.certificate(
        int_key, "Keysweep Test Intermediate", issuer_key=root_key, issuer_name="Keysweep Test Root", ca=True
    )
    expired = pki.certificate(
        old_key,
        "Keysweep Old Intermediate",
        issuer_key=root_key,
        issuer_name="Keysweep Test Root",
        ca=True,
        not_before=pki.NOW - dt.timedelta(days=400),
        days=365,
    )
    root_file = pki.write(directory / "root.pem", pki.pem(root))
    leaf, leaf_key = _issue(directory, "leaf", intermediate, int_key)
    old_leaf, old_leaf_key = _issue(directory, "old-leaf", expired, old_key)
    int_file = pki.write(directory / "int.pem", pki.pem(intermediate))
    old_file = pki.write(directory / "old-int.pem", pki.pem(expired))
    disorder = pki.write(directory / "disorder.pem", pki.pem(root) + pki.pem(intermediate))
    started: dict[str, ts.Server] = {}
    try:
        started["leaf-only"] = _s_server(leaf, leaf_key, None)
        started["full"] = _s_server(leaf, leaf_key, int_file)
        started["expired-intermediate"] = _s_server(old_leaf, old_leaf_key, old_file)
        started["disorder"] = _s_server(leaf, leaf_key, disorder)
        yield started, Pki(root, intermediate, expired, root_file, directory)
    finally:
        for server in started.values():
            server.stop()


def _scan(servers: dict[str, ts.Server], ca_files: tuple[str, ...]) -> ScanResult:
    packs = select_packs(discover_packs(), ["nist-sp800-52r2"])
    targets = tuple(Target("tls", s.target) for s in servers.values())
    options = {"concurrency": 4, "tls_ca_files": ca_files}
    return run_scan(ScanRequest(targets=targets, packs=tuple(packs), timeout=5, options=options))


def _chain_findings(result: ScanResult, server: ts.Server) -> dict[str, Finding]:
    return {f.rule_id: f for f in result.findings if f.asset_id == f"tls:{server.target}" and f.rule_id in CHAIN_RULES}


@pytest.mark.slow
def test_chain_findings_without_and_with_the_private_root(servers: tuple[dict[str, ts.Server], Pki]) -> None:
    started, material = servers
    without = _scan(started, ())
    with_root = _scan(started, (str(material.root_file),))
    assert without.errors == () and with_root.errors == ()

    # the intermediate is not sent: incomplete either way; the root given does not make up for it
    for result in (without, with_root):
        found = _chain_findings(result, started["leaf-only"])
        assert set(found) == {"sp800-52r2.cert.chain-incomplete"}
        finding = found["sp800-52r2.cert.chain-incomplete"]
        assert finding.evidence["missing_issuer"] == "CN=Keysweep Test Intermediate"
        assert finding.evidence["presented"] == ["CN=127.0.0.1"]
        assert "CN=Keysweep Test Intermediate" in finding.message

    # the full chain: an unknown root without --ca-file, trusted with it
    found = _chain_findings(without, started["full"])
    assert set(found) == {"sp800-52r2.cert.untrusted-root"}
    assert found["sp800-52r2.cert.untrusted-root"].evidence["path"] == ["CN=127.0.0.1", "CN=Keysweep Test Intermediate"]
    assert _chain_findings(with_root, started["full"]) == {}
    endpoint = next(a for a in with_root.assets if a.id == f"tls:{started['full'].target}")
    (verdict,) = endpoint.properties["chain_validation"]
    assert verdict["status"] == "trusted" and verdict["trusted_by"] == f"--ca-file {material.root_file}"
    assert verdict["path"][-1] == "CN=Keysweep Test Root" and verdict["path_sent"] == [True, True, False]

    # an expired intermediate, trusted root: only the expiry
    found = _chain_findings(with_root, started["expired-intermediate"])
    assert set(found) == {"sp800-52r2.cert.expired-intermediate"}
    assert found["sp800-52r2.cert.expired-intermediate"].evidence["certificate"] == chain.fingerprint(
        material.expired_intermediate
    )

    # root sent before the intermediate: out of order, yet a path exists
    found = _chain_findings(with_root, started["disorder"])
    assert set(found) == {"sp800-52r2.cert.chain-order"}
    assert found["sp800-52r2.cert.chain-order"].evidence["presented"] == [
        "CN=127.0.0.1",
        "CN=Keysweep Test Root",
        "CN=Keysweep Test Intermediate",
    ]


def test_an_unreadable_ca_file_is_an_error_naming_it(tmp_path: Path) -> None:
    bad = pki.write(tmp_path / "bad.pem", b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    anchors = chain.load_anchors([bad], [tmp_path / "missing"], system=False)
    assert [target for target, _ in anchors.errors] == [str(tmp_path / "missing"), str(bad)]
    assert all(str(target) in message for target, message in anchors.errors)


def test_system_store_is_loaded() -> None:
    anchors = chain.load_anchors([], [])
    assert len(anchors.fingerprints) > 50 and set(anchors.fingerprints.values()) == {"system"}


def test_ca_file_from_scan_toml_through_the_command(servers: tuple[dict[str, ts.Server], Pki], tmp_path: Path) -> None:
    from tests.support.scans import keysweep

    started, material = servers
    config = tmp_path / "scan.toml"
    config.write_text(
        f'[targets]\ntls = ["{started["full"].target}"]\n\n'
        f'[scan]\ntimeout = 5\ntls_deadline = 120\nca_file = ["{material.root_file}"]\n\n'
        '[outputs]\njson = "out.json"\n\n[store]\nenabled = false\n'
    )
    done = keysweep("scan", "--config", str(config), "--policy", "nist-sp800-52r2")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    (endpoint,) = [a for a in report["assets"] if a["type"] == "tls-endpoint"]
    (verdict,) = endpoint["properties"]["chain_validation"]
    assert (verdict["status"], verdict["trusted_by"]) == ("trusted", f"--ca-file {material.root_file}")
    assert not {f["rule_id"] for f in report["findings"]} & CHAIN_RULES
