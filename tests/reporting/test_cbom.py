"""The CycloneDX 1.6 CBOM: schema-valid, the four asset types, and how keysweep's assets map."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from scanner.inventory.model import AssetType, RelationType, ScanResult
from scanner.reporting.cbom import CbomReporter
from tests.support import pki
from tests.support.scans import mixed_tree, scan_paths, with_endpoint_and_token


def _cbom(result: ScanResult) -> dict[str, Any]:
    text = CbomReporter().render(result).decode()
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert errors is None, errors
    document: dict[str, Any] = json.loads(text)
    return document


def _by_ref(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["bom-ref"]: c for c in document["components"]}


def test_cbom_validates_and_has_all_four_asset_types(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    result = with_endpoint_and_token(scan_paths(tmp_path))
    document = _cbom(result)
    assert document["specVersion"] == "1.6"
    types = {c["cryptoProperties"]["assetType"] for c in document["components"] if "cryptoProperties" in c}
    assert types == {"certificate", "algorithm", "related-crypto-material", "protocol"}
    # the files the scan read are components too (type file), under their keysweep ids
    files = {c["bom-ref"] for c in document["components"] if c["type"] == "file"}
    assert files == {a.id for a in result.assets if a.type == AssetType.FILE}
    refs = _by_ref(document)
    # every certificate and key of the scan is a component under its keysweep id
    for asset in result.assets:
        if asset.type in (AssetType.CERTIFICATE, AssetType.KEY, AssetType.TLS_ENDPOINT):
            assert asset.id in refs


def test_cbom_mapping_details(tmp_path: Path) -> None:
    files = mixed_tree(tmp_path)
    result = with_endpoint_and_token(scan_paths(tmp_path))
    refs = _by_ref(_cbom(result))
    weak_cert = next(
        a for a in result.assets if a.type == AssetType.CERTIFICATE and "weak.test" in a.properties["subject"]
    )
    weak_key_id = next(
        r.target for r in result.relations if r.source == weak_cert.id and r.type == RelationType.CERTIFIES
    )

    cert = refs[weak_cert.id]["cryptoProperties"]["certificateProperties"]
    assert cert["subjectName"] == weak_cert.properties["subject"]
    assert cert["subjectPublicKeyRef"] == weak_key_id
    assert cert["signatureAlgorithmRef"] == "algorithm:sha256WithRSAEncryption"

    key = refs[weak_key_id]["cryptoProperties"]["relatedCryptoMaterialProperties"]
    assert key["type"] == "private-key"  # weak.key holds it
    assert key["size"] == 1024 and key["state"] == "active"
    assert key["securedBy"] == {"mechanism": "Software"}
    assert key["algorithmRef"] == "algorithm:RSA-1024"
    rsa = refs["algorithm:RSA-1024"]["cryptoProperties"]["algorithmProperties"]
    assert rsa["primitive"] == "pke" and rsa["parameterSetIdentifier"] == "1024"
    assert rsa["classicalSecurityLevel"] == 80 and rsa["nistQuantumSecurityLevel"] == 0
    assert rsa["certificationLevel"] == ["unknown"]

    hsm = refs["key:pkcs11:0a1b:wrap"]["cryptoProperties"]["relatedCryptoMaterialProperties"]
    assert hsm["type"] == "secret-key" and hsm["securedBy"] == {"mechanism": "HSM"}
    assert refs["algorithm:AES-256"]["cryptoProperties"]["algorithmProperties"]["nistQuantumSecurityLevel"] == 5
    # a key wrapped by another is secured by that key's algorithm
    wrapped = refs["key:pkcs11:0a1b:data"]["cryptoProperties"]["relatedCryptoMaterialProperties"]
    assert wrapped["securedBy"] == {"mechanism": "HSM", "algorithmRef": "algorithm:AES-256"}

    expired_cert = next(
        a for a in result.assets if a.type == AssetType.CERTIFICATE and "expired" in a.properties["subject"]
    )
    expired_key = next(
        r.target for r in result.relations if r.source == expired_cert.id and r.type == RelationType.CERTIFIES
    )
    assert refs[expired_key]["cryptoProperties"]["relatedCryptoMaterialProperties"]["state"] == "deactivated"

    protocol = refs["tls:127.0.0.1:8443"]["cryptoProperties"]["protocolProperties"]
    assert protocol["type"] == "tls" and protocol["version"] == "1.3"
    assert [s["name"] for s in protocol["cipherSuites"]] == [
        "TLS_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ]
    hybrid = refs["algorithm:X25519MLKEM768"]["cryptoProperties"]["algorithmProperties"]
    assert hybrid["primitive"] == "kem" and hybrid["nistQuantumSecurityLevel"] == 3
    assert files["good"].exists()


def test_cbom_dependencies_follow_the_graph(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    result = with_endpoint_and_token(scan_paths(tmp_path))
    document = _cbom(result)
    depends = {d["ref"]: set(d.get("dependsOn", [])) for d in document["dependencies"]}
    good = next(a for a in result.assets if a.type == AssetType.CERTIFICATE and "good.test" in a.properties["subject"])
    ca = next(a for a in result.assets if a.type == AssetType.CERTIFICATE and a.properties["subject"] == "CN=Test CA")
    good_key = next(r.target for r in result.relations if r.source == good.id and r.type == RelationType.CERTIFIES)
    # the good certificate is signed by the RSA test CA
    assert depends[good.id] == {good_key, "algorithm:sha256WithRSAEncryption", ca.id, f"file:{tmp_path / 'good.crt'}"}
    assert depends[good_key] == {"algorithm:EC-secp256r1"}
    assert good.id in depends["tls:127.0.0.1:8443"]
    assert "algorithm:X25519MLKEM768" in depends["tls:127.0.0.1:8443"]
    assert depends["key:pkcs11:0a1b:data"] == {"algorithm:AES-128", "key:pkcs11:0a1b:wrap"}
    # where a key is held: the token is a device component the key depends on
    assert depends["key:pkcs11:0a1b:wrap"] == {"algorithm:AES-256", "pkcs11:0a1b"}
    assert next(c for c in document["components"] if c["bom-ref"] == "pkcs11:0a1b")["type"] == "device"


def test_ml_dsa_certificate_is_post_quantum(tmp_path: Path) -> None:
    pki.write(tmp_path / "pq.der", pki.ml_dsa_65_certificate("pq.test"))
    result = scan_paths(tmp_path)
    refs = _by_ref(_cbom(result))
    ml_dsa = refs["algorithm:ML-DSA-65"]["cryptoProperties"]
    assert ml_dsa["oid"] == "2.16.840.1.101.3.4.3.18"
    assert ml_dsa["algorithmProperties"]["primitive"] == "signature"
    assert ml_dsa["algorithmProperties"]["parameterSetIdentifier"] == "65"
    assert ml_dsa["algorithmProperties"]["nistQuantumSecurityLevel"] == 3
