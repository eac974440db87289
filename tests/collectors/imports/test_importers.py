"""--import: sslyze, testssl.sh and ssh-audit JSON that those tools really wrote, and CycloneDX CBOMs.

corpus/ holds what the tools wrote about servers started here (make_corpus.py regenerates it): sslyze
and testssl.sh ran against the same nginx and the same openssl s_server, ssh-audit against an sshd
whose sshd_config is beside its JSON. The live tests run the tools again, now, against servers the
test starts, and compare the import with keysweep's own scan of the same server.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from scanner.collectors.base import Target
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.model import Asset, AssetType, ScanResult
from scanner.reporting.cbom import CbomReporter
from scanner.scan import ScanRequest, run_scan
from tests.support import peer_tools
from tests.support import tls_servers as ts
from tests.support.scans import mixed_tree, scan_paths

CORPUS = Path(__file__).parent / "corpus"
# what keysweep's TLS rules read: the import must give the same values as the live scan
COMPARED = (
    "protocols",
    "cipher_suites",
    "cipher_suites_by_protocol",
    "key_exchange_groups",
    "dh_key_sizes",
    "ocsp_stapling",
    "compression",
    "secure_renegotiation",
    "client_renegotiation_dos",
    "heartbleed",
    "robot",
    "leaf_certificates",
)
# rules a live scan can fire and an sslyze/testssl import cannot: keysweep probes post-quantum
# groups itself, and neither tool's default run tests one (docs/imports.md lists the differences)
LIVE_ONLY_RULES = {"sp800-52r2.pqc.no-hybrid-key-exchange", "pqc.tls.no-hybrid-key-exchange"}


def scan(*targets: Target) -> ScanResult:
    packs = select_packs(discover_packs(()), ())
    return run_scan(ScanRequest(targets=targets, packs=tuple(packs), timeout=20))


def imported(*files: Path) -> ScanResult:
    return scan(*(Target("import", str(f)) for f in files))


def endpoint(result: ScanResult, kind: AssetType) -> Asset:
    found = [a for a in result.assets if a.type == kind]
    assert len(found) == 1, [a.id for a in found]
    return found[0]


def rule_ids(result: ScanResult, asset_id: str) -> set[str]:
    return {f.rule_id for f in result.findings if f.asset_id == asset_id}


def sslyze_server(path: Path) -> tuple[str, int]:
    location = json.loads(path.read_text())["server_scan_results"][0]["server_location"]
    return location["hostname"], location["port"]


# -- the corpus: what the tools wrote -----------------------------------------------------------------


@pytest.mark.parametrize("server", ["nginx", "legacy"])
def test_sslyze_and_testssl_of_one_server_import_to_the_same_endpoint(server: str) -> None:
    host, port = sslyze_server(CORPUS / f"sslyze-{server}.json")
    by_sslyze = imported(CORPUS / f"sslyze-{server}.json")
    by_testssl = imported(CORPUS / f"testssl-{server}.json")
    a, b = endpoint(by_sslyze, AssetType.TLS_ENDPOINT), endpoint(by_testssl, AssetType.TLS_ENDPOINT)
    assert a.id == b.id == f"tls:{host}:{port}"
    for name in ("protocols", "cipher_suites", "cipher_suites_by_protocol", "leaf_certificates", "ocsp_stapling"):
        assert a.properties[name] == b.properties[name], name
    assert set(a.properties["key_exchange_groups"]) >= set(b.properties["key_exchange_groups"])
    # the same certificate, under the id a file scan gives it: the SHA-256 of its DER
    pem = json.loads((CORPUS / f"sslyze-{server}.json").read_text())["server_scan_results"][0]["scan_result"][
        "certificate_info"
    ]["result"]["certificate_deployments"][0]["received_certificate_chain"][0]["as_pem"]
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    assert a.properties["leaf_certificates"] == [f"cert:sha256:{hashlib.sha256(der).hexdigest()}"]
    assert all(loc.kind == "import" for loc in a.locations)
    assert a.properties["imported_from"] == "sslyze" and b.properties["imported_from"] == "testssl.sh"
    # judged by the same rules: the same findings on the endpoint from either tool's file
    assert rule_ids(by_sslyze, a.id) - {"sp800-52r2.http.hsts-missing"} == rule_ids(by_testssl, b.id) - {
        "sp800-52r2.http.hsts-missing"
    }
    assert not by_sslyze.errors and not by_testssl.errors


def test_testssl_pretty_json_imports_like_the_flat_file() -> None:
    flat = endpoint(imported(CORPUS / "testssl-nginx.json"), AssetType.TLS_ENDPOINT)
    pretty = endpoint(imported(CORPUS / "testssl-pretty-nginx.json"), AssetType.TLS_ENDPOINT)
    assert pretty.id == flat.id
    for name in ("protocols", "cipher_suites_by_protocol", "leaf_certificates", "ocsp_stapling", "hsts"):
        assert pretty.properties[name] == flat.properties[name], name
    assert set(pretty.properties["key_exchange_groups"]) == set(flat.properties["key_exchange_groups"])


def test_legacy_server_findings_from_an_import() -> None:
    result = imported(CORPUS / "sslyze-legacy.json")
    legacy = endpoint(result, AssetType.TLS_ENDPOINT)
    assert legacy.properties["protocols"] == ["TLSv1.0"] and legacy.properties["dh_key_sizes"] == [1024]
    assert {
        "sp800-52r2.protocol.deprecated-version",
        "sp800-52r2.cipher.prohibited",
        "sp800-52r2.kex.weak-group",
        "sp800-52r2.kex.rsa-key-transport",
    } <= rule_ids(result, legacy.id)


def test_ssh_audit_import_matches_the_sshd_config_the_server_ran(tmp_path: Path) -> None:
    result = imported(CORPUS / "ssh-audit-sshd.json")
    ssh = endpoint(result, AssetType.SSH_ENDPOINT)
    # ssh-audit 2.5 does not write the port: the assumption is on the asset, and nothing failed
    assert ssh.id == "ssh:127.0.0.1:22"
    assert ssh.properties["port_source"] == "not recorded in ssh-audit's JSON: 22 assumed (ssh-audit's default)"
    assert result.errors == ()
    props = ssh.properties
    assert props["software"].startswith("OpenSSH_")
    config_text = (CORPUS / "ssh-audit-sshd.sshd_config").read_text()
    configured = dict(re.findall(r"^(KexAlgorithms|Ciphers|MACs|HostKeyAlgorithms) (\S+)$", config_text, re.M))
    assert props["kex"] == configured["KexAlgorithms"].split(",")
    assert props["ciphers"] == configured["Ciphers"].split(",")
    assert props["macs"] == configured["MACs"].split(",")
    assert props["host_key_algorithms"] == configured["HostKeyAlgorithms"].split(",")
    assert props["pq_key_exchange"] is False
    assert {k["algorithm"] for k in props["host_keys"]} == {"ssh-ed25519", "rsa-sha2-512", "ssh-rsa"}
    assert all(k["fingerprint_sha256"] for k in props["host_keys"])


def test_ssh_audit_import_is_judged_like_the_sshd_config(tmp_path: Path) -> None:
    config = tmp_path / "sshd_config"
    config.write_text((CORPUS / "ssh-audit-sshd.sshd_config").read_text())
    by_config = scan_paths(config)
    by_import = imported(CORPUS / "ssh-audit-sshd.json")
    config_rules = {f.rule_id for f in by_config.findings if f.rule_id.startswith(("server.ssh.", "cnsa.ssh."))}
    assert config_rules == {"server.ssh.weak-kex", "server.ssh.weak-mac", "server.ssh.weak-host-key-algorithm",
                            "server.ssh.no-pq-kex"}  # fmt: skip
    # the banner and the server's own lists allow rules no config can answer (software version, Terrapin, ...)
    endpoint_only = {"server.ssh.software-version", "server.ssh.terrapin", "server.ssh.protocol-1"}
    by_endpoint = rule_ids(by_import, endpoint(by_import, AssetType.SSH_ENDPOINT).id)
    assert by_endpoint - endpoint_only == config_rules
    # OpenSSH 9.2 is in regreSSHion's upstream range; Debian's build says "verify", never a verdict
    versions = [f for f in by_import.findings if f.rule_id == "server.ssh.software-version"]
    assert [f.severity.value for f in versions] == ["info"]


# -- bad input --------------------------------------------------------------------------------------


def test_unreadable_and_unknown_files_are_errors_and_the_other_imports_stay(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.json"
    truncated.write_text((CORPUS / "sslyze-nginx.json").read_text()[:5000])
    unknown = tmp_path / "other.json"
    unknown.write_text(json.dumps({"tool": "something else", "results": []}))
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\x00\xff\xfe" * 10)
    broken = tmp_path / "broken-sslyze.json"
    document = json.loads((CORPUS / "sslyze-nginx.json").read_text())
    document["server_scan_results"][0]["scan_result"]["tls_1_2_cipher_suites"]["result"] = {
        "accepted_cipher_suites": [{"cipher_suite": {"openssl_name": "AES128-SHA"}}]  # no IANA name
    }
    broken.write_text(json.dumps(document))
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    result = imported(truncated, unknown, binary, broken, nested, CORPUS / "sslyze-legacy.json")
    errors = {e.target: e.message for e in result.errors}
    assert "not JSON" in errors[str(truncated)]
    assert "not a result file keysweep can import" in errors[str(unknown)]
    assert "not UTF-8" in errors[str(binary)]
    assert "unexpected sslyze result shape" in errors[str(broken)]
    assert "nested too deeply" in errors[str(nested)]
    # the good import is all there
    host, port = sslyze_server(CORPUS / "sslyze-legacy.json")
    assert endpoint(result, AssetType.TLS_ENDPOINT).id == f"tls:{host}:{port}"


# -- CycloneDX ----------------------------------------------------------------------------------------


def test_keysweep_cbom_imports_to_the_same_certificates_and_keys(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    original = scan_paths(tmp_path / "tree")
    cbom = tmp_path / "scan.cdx.json"
    cbom.write_bytes(CbomReporter().render(original))
    result = imported(cbom)
    wanted = {a.id for a in original.assets if a.type in (AssetType.CERTIFICATE, AssetType.KEY)}
    assert {a.id for a in result.assets if a.type in (AssetType.CERTIFICATE, AssetType.KEY)} == wanted
    certifies = {(r.source, r.target) for r in original.relations if r.type.value == "certifies"}
    assert {(r.source, r.target) for r in result.relations if r.type.value == "certifies"} == certifies
    # the expired certificate is expired again: the same rules see the same dates
    assert {f.rule_id for f in result.findings} >= {"cms.cert.expired"}


def test_a_foreign_cbom_certificate_merges_with_the_file_on_disk(tmp_path: Path) -> None:
    """A CBOM in the shape the CycloneDX examples and CBOMkit write (bom-ref ...@sha256:<hex>),
    built with cyclonedx-python-lib, for a certificate that is also on disk."""
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.crypto import (
        AlgorithmProperties,
        CertificateProperties,
        CryptoAssetType,
        CryptoPrimitive,
        CryptoProperties,
    )
    from cyclonedx.output.json import JsonV1Dot6

    cert_path, _ = ts.server_certificate(tmp_path, "web")
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    digest = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    algorithm = Component(
        type=ComponentType.CRYPTOGRAPHIC_ASSET,
        name="SHA256withECDSA",
        bom_ref="crypto/algorithm/sha-256-ecdsa@1.2.840.10045.4.3.2",
        crypto_properties=CryptoProperties(
            asset_type=CryptoAssetType.ALGORITHM,
            algorithm_properties=AlgorithmProperties(primitive=CryptoPrimitive.SIGNATURE),
            oid="1.2.840.10045.4.3.2",
        ),
    )
    certificate = Component(
        type=ComponentType.CRYPTOGRAPHIC_ASSET,
        name="localhost",
        bom_ref=f"crypto/certificate/localhost@sha256:{digest}",
        crypto_properties=CryptoProperties(
            asset_type=CryptoAssetType.CERTIFICATE,
            certificate_properties=CertificateProperties(
                subject_name=cert.subject.rfc4514_string(),
                issuer_name=cert.issuer.rfc4514_string(),
                not_valid_before=cert.not_valid_before_utc,
                not_valid_after=cert.not_valid_after_utc,
                signature_algorithm_ref=algorithm.bom_ref,
                certificate_format="X.509",
            ),
        ),
    )
    bom = Bom(components=[algorithm, certificate])
    foreign = tmp_path / "foreign.cdx.json"
    foreign.write_text(JsonV1Dot6(bom).output_as_string())
    result = scan(Target("import", str(foreign)), Target("path", str(cert_path)))
    cert_asset = next(a for a in result.assets if a.id == f"cert:sha256:{digest}")
    assert {loc.kind for loc in cert_asset.locations} == {"import", "file"}  # one node, two places
    assert cert_asset.properties["signature_algorithm"]  # from the file scan (the CBOM names it too)
    assert any("1 algorithm" in e.message and e.target == str(foreign) for e in result.errors)


# -- live: the tools run now against servers started here ---------------------------------------------


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ts.Server]]:
    directory = tmp_path_factory.mktemp("import-servers")
    cert, key = ts.server_certificate(directory, "server", key=ts.rsa_key(2048))
    started: dict[str, ts.Server] = {}
    try:
        started["nginx"] = ts.start_nginx(directory / "nginx", cert, key)[0]
        started["legacy"] = ts.start_legacy_server(directory, cert, key)
        yield started
    finally:
        for server in started.values():
            server.stop()


def _compare_with_live(server: ts.Server, imported_result: ScanResult) -> dict[str, Any]:
    live = scan(Target("tls", server.target))
    a = endpoint(live, AssetType.TLS_ENDPOINT)
    b = endpoint(imported_result, AssetType.TLS_ENDPOINT)
    assert a.id == b.id
    differences = {
        name: (a.properties.get(name), b.properties.get(name))
        for name in COMPARED
        if name in b.properties and a.properties.get(name) != b.properties.get(name)
    }
    live_rules, import_rules = rule_ids(live, a.id) - LIVE_ONLY_RULES, rule_ids(imported_result, b.id)
    return {"properties": differences, "rules": (live_rules - import_rules, import_rules - live_rules)}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["nginx", "legacy"])
def test_live_sslyze_import_equals_keysweeps_own_scan(name: str, servers: dict[str, ts.Server], tmp_path: Path) -> None:
    out = peer_tools.sslyze_json(servers[name].target, tmp_path / "sslyze.json")
    differences = _compare_with_live(servers[name], imported(out))
    # sslyze's default run leaves out http_headers: HSTS is unknown to the import, never "missing"
    scheduled = json.loads(out.read_text())["server_scan_results"][0]["scan_result"]["http_headers"]["status"]
    live_only, import_only = differences.pop("rules")
    if scheduled == "NOT_SCHEDULED":
        live_only.discard("sp800-52r2.http.hsts-missing")
    # sslyze lists the accepted curves in its own order, keysweep's probe in the server's order of
    # choice: the same groups, compared as sets
    groups = differences["properties"].pop("key_exchange_groups", None)
    if groups is not None:
        assert set(groups[0]) == set(groups[1])
    assert (differences, live_only, import_only) == ({"properties": {}}, set(), set())


@pytest.mark.slow
def test_live_testssl_import_equals_keysweeps_own_scan(servers: dict[str, ts.Server], tmp_path: Path) -> None:
    out = peer_tools.testssl_json(servers["nginx"].target, tmp_path / "testssl.json")
    differences = _compare_with_live(servers["nginx"], imported(out))
    # testssl.sh -f lists the curves it saw used, sslyze every curve accepted: compared as sets
    groups = differences["properties"].pop("key_exchange_groups", None)
    if groups is not None:
        assert set(groups[0]) == set(groups[1])
    assert differences == {"properties": {}, "rules": (set(), set())}


def test_live_ssh_audit_of_an_sshd_started_here(tmp_path: Path) -> None:
    sshd, config = peer_tools.start_sshd(tmp_path / "sshd")
    try:
        out = peer_tools.ssh_audit_json(sshd.port, tmp_path / "ssh-audit.json")
        # -T: a list of results, one per target, in one file
        listed = peer_tools.ssh_audit_targets_json([f"127.0.0.1:{sshd.port}"], tmp_path / "ssh-audit-list.json")
    finally:
        sshd.stop()
    from_list = endpoint(imported(listed), AssetType.SSH_ENDPOINT)
    by_import = imported(out)
    ssh = endpoint(by_import, AssetType.SSH_ENDPOINT)
    by_config = scan_paths(config)
    contexts = next(a for a in by_config.assets if a.type == AssetType.CONFIG).properties["ssh_contexts"]
    scope = contexts[0]
    for name in ("kex", "ciphers", "macs", "host_key_algorithms"):
        assert ssh.properties[name] == list(scope[name]["names"]), name
    config_rules = {f.rule_id for f in by_config.findings if ".ssh." in f.rule_id}
    # rules that read the banner or the live lists only (software version, Terrapin, SSH-1) are the import's own
    endpoint_only = {"server.ssh.software-version", "server.ssh.terrapin", "server.ssh.protocol-1"}
    assert rule_ids(by_import, ssh.id) - endpoint_only == config_rules
    assert dataclasses.asdict(by_import.metadata)["targets"] == (f"import:{out}",)
    assert {k: from_list.properties[k] for k in ("kex", "ciphers", "macs", "host_key_algorithms")} == {
        k: ssh.properties[k] for k in ("kex", "ciphers", "macs", "host_key_algorithms")
    }


def test_cli_imports_and_writes_cbom_17_and_sarif_relative_to_its_root(run_keysweep: Any, tmp_path: Path) -> None:
    cbom, sarif = tmp_path / "scan.cdx.json", tmp_path / "scan.sarif"
    done = run_keysweep(
        ["--import", str(CORPUS / "sslyze-legacy.json"), "--import", str(CORPUS / "ssh-audit-sshd.json"),
         "--cbom", str(cbom), "--cbom-version", "1.7", "--sarif", str(sarif), "--sarif-root", str(CORPUS.parent)]
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert {a["type"] for a in done.assets()} >= {"tls-endpoint", "ssh-endpoint", "certificate", "key"}
    assert json.loads(cbom.read_text())["specVersion"] == "1.7"
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in json.loads(sarif.read_text())["runs"][0]["results"]
        for loc in r["locations"]
    }
    assert uris == {"corpus/sslyze-legacy.json", "corpus/ssh-audit-sshd.json"}
    bad = run_keysweep(["--import", str(CORPUS / "sslyze-legacy.json"), "--cbom", str(cbom), "--cbom-version", "2.0"])
    assert bad.exit_code == 2 and "2.0" in bad.output
