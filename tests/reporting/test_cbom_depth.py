"""The CBOM at the depth crypto-inventory tools use: CycloneDX 1.6 and 1.7, strict-valid, every
reference resolvable, algorithms with OIDs and security levels, cipher suites broken into their
algorithms, and compositions saying what was not assessed."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from scanner.collectors.base import Target
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.model import Asset, AssetType, CollectionError, Location, ScanResult, freeze
from scanner.reporting.cbom import CbomReporter
from scanner.scan import ScanRequest, run_scan
from tests.support.cbom_checks import check_references, walk
from tests.support.scans import mixed_tree, scan_paths

CORPUS = Path(__file__).parents[1] / "collectors" / "imports" / "corpus"
SCHEMAS = {"1.6": SchemaVersion.V1_6, "1.7": SchemaVersion.V1_7}


def render(result: ScanResult, version: str) -> dict[str, Any]:
    text = CbomReporter(version=version).render(result).decode()
    errors = JsonStrictValidator(SCHEMAS[version]).validate_str(text)
    assert errors is None, errors
    document: dict[str, Any] = json.loads(text)
    assert document["specVersion"] == version
    return document


def imported_scan(*files: Path, extra: tuple[Target, ...] = ()) -> ScanResult:
    packs = select_packs(discover_packs(()), ())
    targets = tuple(Target("import", str(f)) for f in files) + extra
    return run_scan(ScanRequest(targets=targets, packs=tuple(packs), timeout=5))


@pytest.mark.parametrize("version", ["1.6", "1.7"])
def test_both_versions_are_strict_valid_and_every_reference_resolves(tmp_path: Path, version: str) -> None:
    mixed_tree(tmp_path / "tree")
    result = imported_scan(
        CORPUS / "sslyze-nginx.json", CORPUS / "sslyze-legacy.json", extra=(Target("path", str(tmp_path / "tree")),)
    )
    document = render(result, version)
    check_references(document)
    algorithms = [
        c for c in walk(document["components"]) if c.get("cryptoProperties", {}).get("assetType") == "algorithm"
    ]
    assert len(algorithms) > 20
    for component in algorithms:
        props = component["cryptoProperties"]["algorithmProperties"]
        assert props["primitive"] not in ("unknown", "other"), component["name"]
        assert props["cryptoFunctions"], component["name"]
        assert "nistQuantumSecurityLevel" in props, component["name"]
        # every algorithm that has an OID carries it; only TLS groups without one may lack it
        if "oid" not in component["cryptoProperties"]:
            assert any(p["name"] == "keysweep:tls-group-code" for p in component.get("properties", [])) or (
                component["name"].startswith("AES-")
            ), component["name"]
    # one spelling of booleans
    values = [p["value"] for c in walk(document["components"]) for p in c.get("properties", [])]
    assert "True" not in values and "False" not in values
    if version == "1.7":
        families = {c["name"]: c["cryptoProperties"]["algorithmProperties"].get("algorithmFamily") for c in algorithms}
        assert families["SHA-256"] == "SHA-2" and families["AES-128-GCM"] == "AES"
        certificate = next(c for c in walk(document["components"])
                           if c.get("cryptoProperties", {}).get("assetType") == "certificate")  # fmt: skip
        cert_props = certificate["cryptoProperties"]["certificateProperties"]
        assert cert_props["fingerprint"]["alg"] == "SHA-256" and len(cert_props["fingerprint"]["content"]) == 64
        assert cert_props["serialNumber"] and cert_props["certificateState"][0]["state"] in ("active", "deactivated")
        assert cert_props["activationDate"].endswith("Z")
        states = {
            c["cryptoProperties"]["certificateProperties"]["certificateState"][0]["state"]
            for c in walk(document["components"])
            if c.get("cryptoProperties", {}).get("assetType") == "certificate"
        }
        assert "deactivated" in states  # the expired certificate of the tree


def test_tls12_ecdhe_rsa_aes128_gcm_sha256_references_its_four_algorithms() -> None:
    """On the nginx endpoint sslyze really scanned (corpus), TLS 1.2 suite 0xC0,0x2F."""
    document = render(imported_scan(CORPUS / "sslyze-nginx.json"), "1.6")
    by_ref = {c["bom-ref"]: c for c in walk(document["components"])}
    endpoint = next(c for c in document["components"] if c["bom-ref"].startswith("tls:"))
    tls12 = next(c for c in endpoint["components"] if c["cryptoProperties"]["protocolProperties"]["version"] == "1.2")
    suite = next(s for s in tls12["cryptoProperties"]["protocolProperties"]["cipherSuites"]
                 if s["name"] == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")  # fmt: skip
    assert suite["identifiers"] == ["0xC0,0x2F"]
    named = {by_ref[r]["name"]: by_ref[r]["cryptoProperties"] for r in suite["algorithms"]}
    assert set(named) == {"ECDH", "RSA", "AES-128-GCM", "SHA-256"}
    assert named["ECDH"]["oid"] == "1.3.132.1.12"
    assert named["ECDH"]["algorithmProperties"]["primitive"] == "key-agree"
    assert named["RSA"]["oid"] == "1.2.840.113549.1.1.1"
    assert named["RSA"]["algorithmProperties"]["primitive"] == "signature"
    assert named["AES-128-GCM"]["oid"] == "2.16.840.1.101.3.4.1.6"
    assert named["AES-128-GCM"]["algorithmProperties"]["mode"] == "gcm"
    assert named["AES-128-GCM"]["algorithmProperties"]["nistQuantumSecurityLevel"] == 1
    assert named["SHA-256"]["oid"] == "2.16.840.1.101.3.4.2.1"
    # the endpoint lists each version once, with that version's suites only
    versions = [c["cryptoProperties"]["protocolProperties"]["version"] for c in endpoint["components"]]
    assert versions == ["1.2", "1.3"]
    tls13 = {s["name"] for s in endpoint["components"][1]["cryptoProperties"]["protocolProperties"]["cipherSuites"]}
    assert tls13 == {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}


def test_legacy_algorithms_carry_their_levels() -> None:
    document = render(imported_scan(CORPUS / "sslyze-legacy.json"), "1.6")
    by_name = {c["name"]: c["cryptoProperties"] for c in walk(document["components"]) if "cryptoProperties" in c}
    sha1 = by_name["SHA-1"]["algorithmProperties"]
    assert sha1["classicalSecurityLevel"] == 80 and sha1["nistQuantumSecurityLevel"] == 0
    assert by_name["AES-256-CBC"]["algorithmProperties"]["mode"] == "cbc"
    assert by_name["FFDH"]["oid"] == "1.2.840.113549.1.3.1"


def test_signature_algorithm_has_parameter_set_and_level(tmp_path: Path) -> None:
    # cryptography no longer signs with SHA-1; OpenSSL still does
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha1", "-nodes", "-subj", "/CN=sha1.test", "-days", "30",
         "-keyout", str(tmp_path / "sha1.key"), "-out", str(tmp_path / "sha1.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    (tmp_path / "sha1.key").unlink()
    document = render(scan_paths(tmp_path), "1.7")
    sha1rsa = next(c for c in document["components"] if c["name"] == "sha1WithRSAEncryption")["cryptoProperties"]
    assert sha1rsa["oid"] == "1.2.840.113549.1.1.5"
    props = sha1rsa["algorithmProperties"]
    assert props["parameterSetIdentifier"] == "160" and props["classicalSecurityLevel"] == 80
    assert props["padding"] == "pkcs1v15" and props["algorithmFamily"] == "RSASSA-PKCS1"
    assert props["nistQuantumSecurityLevel"] == 0


def test_compositions_name_what_was_not_assessed(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    result = scan_paths(tmp_path)
    result = dataclasses.replace(
        result,
        errors=(
            *result.errors,
            CollectionError("10.0.0.9:443", "tls", "timed out after 5s (timeout 5s)"),
            # a file read in part was assessed: not listed as missing
            CollectionError(str(tmp_path / "good.crt"), "files", "PEM block 3: not base64"),
        ),
    )
    for version in ("1.6", "1.7"):
        document = render(result, version)
        check_references(document)
        compositions = {c["bom-ref"]: c for c in document["compositions"]}
        assert compositions["composition:assessed"]["aggregate"] == "incomplete"
        assert compositions["composition:not-assessed"]["assemblies"] == ["not-assessed:tls:10.0.0.9:443"]
        missing = next(c for c in document["components"] if c["bom-ref"] == "not-assessed:tls:10.0.0.9:443")
        assert "timed out" in missing["description"]
    clean = render(scan_paths(tmp_path), "1.6")
    assert [c["aggregate"] for c in clean["compositions"]] == ["complete"]


def test_secrets_are_related_material_without_their_value(tmp_path: Path) -> None:
    secret = Asset(
        "secret:abc",
        AssetType.SECRET,
        freeze({"kind": "database password", "location": "/etc/app.conf:3"}),
        (Location("file", "/etc/app.conf", "line 3"),),
    )
    mixed_tree(tmp_path)
    result = scan_paths(tmp_path)
    document = render(dataclasses.replace(result, assets=(*result.assets, secret)), "1.6")
    component = next(c for c in document["components"] if c["bom-ref"] == "secret:abc")
    material = component["cryptoProperties"]["relatedCryptoMaterialProperties"]
    assert material["type"] == "password" and "value" not in material
    check_references(document)
