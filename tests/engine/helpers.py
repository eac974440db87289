"""Scan real files (file collector) or evaluate hand-built graphs under chosen packs and dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509 import Certificate

from scanner.collectors.base import Target
from scanner.compat import UTC
from scanner.engine.checks import EvalContext
from scanner.engine.evaluate import RuleEngine
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.crypto_assets import certificate_id, key_id_for_spki
from scanner.inventory.enrich import enrich
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, Finding, Relation, RelationType, ScanResult, freeze
from scanner.scan import ScanRequest, run_scan
from tests.support import pki

PACKS = discover_packs()
ALL_PACKS = tuple(PACKS)


def as_of(day: str | None) -> dt.datetime | None:
    return None if day is None else dt.datetime.fromisoformat(day).replace(tzinfo=UTC)


def scan(paths: Iterable[Path], policies: Sequence[str] = ALL_PACKS, day: str | None = None) -> ScanResult:
    request = ScanRequest(
        targets=tuple(Target("path", str(p)) for p in paths),
        packs=tuple(select_packs(PACKS, list(policies))),
        as_of=as_of(day),
    )
    return run_scan(request)


def evaluate(graph: InventoryGraph, policies: Sequence[str] = ALL_PACKS, day: str | None = None) -> list[Finding]:
    moment = as_of(day) or dt.datetime.now(UTC)
    enrich(graph, moment)
    engine = RuleEngine(select_packs(PACKS, list(policies)))
    evaluation = engine.evaluate(graph, EvalContext(as_of=moment))
    assert not evaluation.errors, evaluation.errors
    return list(evaluation.findings)


def failing(findings: Iterable[Finding] | ScanResult, rule_id: str) -> set[str]:
    items = findings.findings if isinstance(findings, ScanResult) else findings
    return {f.asset_id for f in items if f.rule_id == rule_id}


def key_id(public_key: PublicKeyTypes) -> str:
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key_id_for_spki(spki)


def cert_id(cert: Certificate | bytes) -> str:
    return certificate_id(cert if isinstance(cert, bytes) else pki.der(cert))


def write_cert(directory: Path, name: str, cert: Certificate | bytes) -> Path:
    data = pki.pem(cert) if isinstance(cert, Certificate) else cert
    return pki.write(directory / name, data, 0o644)


def endpoint(graph: InventoryGraph, host: str, groups: list[str] | None, port: int = 443) -> str:
    props: dict[str, object] = {"host": host, "port": port}
    if groups is not None:
        props["key_exchange_groups"] = groups
    asset_id = f"tls:{host}:{port}"
    graph.add_asset(Asset(asset_id, AssetType.TLS_ENDPOINT, freeze(props)))
    return asset_id


def symmetric_key(graph: InventoryGraph, label: str, algorithm: str, size: int, **extra: object) -> str:
    asset_id = f"key:pkcs11:T0:{label}"
    props = {"algorithm": algorithm, "key_size": size, "has_private_key": True, **extra}
    graph.add_asset(Asset(asset_id, AssetType.KEY, freeze(props)))
    return asset_id


def relate(graph: InventoryGraph, source: str, target: str, type: RelationType) -> None:
    graph.add_relation(Relation(source, target, type))


# A TLS endpoint as the TLS collector records it (scanner/collectors/tls/sslyze_scan.py, collector.py),
# passing every rule of the nist-sp800-52r2 pack; host, port and leaf_certificates are the caller's.
TLS_PASS_PROPERTIES: dict[str, object] = {
    "protocols": ["TLSv1.2", "TLSv1.3"],
    "cipher_suites": ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    "cipher_suites_by_protocol": {
        "TLSv1.2": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
        "TLSv1.3": ["TLS_AES_128_GCM_SHA256"],
    },
    "ephemeral_keys": {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": {"type": "ECDH", "bits": 256, "group": "x25519"}},
    "dh_key_sizes": [],
    "key_exchange_groups": ["X25519MLKEM768", "x25519", "secp256r1"],
    "pq_key_exchange": True,
    "pq_groups_probed": ["X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM768", "MLKEM1024"],
    "ocsp_stapling": True,
    "ocsp_must_staple": False,
    "speaks_http": True,
    "hsts": {"max_age": 63072000, "include_subdomains": True, "preload": False},
    "compression": False,
    "secure_renegotiation": True,
    "client_renegotiation_dos": False,
    "heartbleed": False,
    "robot": "NOT_VULNERABLE_NO_ORACLE",
    "extended_master_secret": True,
    "fallback_scsv": True,
    "signature_algorithms": {"TLSv1.2": ["rsa_pss_rsae_sha256"], "TLSv1.3": ["rsa_pss_rsae_sha256"]},
}
