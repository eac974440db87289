"""Every rule of the nist-sp800-52r2 pack on pass_ and fail_ endpoint samples, exact sets of hits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from scanner.compat import UTC
from scanner.engine.checks import EvalContext
from scanner.engine.checks_builtin.tls import names_match
from scanner.engine.evaluate import RuleEngine
from scanner.engine.rules import discover_packs
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, Relation, RelationType, freeze
from tests.engine.helpers import TLS_PASS_PROPERTIES

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
CERT = "cert:sha256:" + "ab" * 32

PASS_ENDPOINT: dict[str, Any] = {
    **TLS_PASS_PROPERTIES,
    "host": "www.example",
    "port": 443,
    "leaf_certificates": [CERT],
}
PASS_LEAF: dict[str, Any] = {"subject": "CN=www.example", "self_signed": False, "san": ["DNS:*.example"]}


def evaluate(endpoint: dict[str, Any], leaf: dict[str, Any] | None = None, as_of: datetime = AS_OF) -> dict[str, Any]:
    graph = InventoryGraph()
    graph.add(Asset("tls:www.example:443", AssetType.TLS_ENDPOINT, freeze(endpoint)))
    graph.add(Asset(CERT, AssetType.CERTIFICATE, freeze(leaf or PASS_LEAF)))
    graph.add(Relation("tls:www.example:443", CERT, RelationType.PRESENTS))
    engine = RuleEngine([discover_packs()["nist-sp800-52r2"]])
    evaluation = engine.evaluate(graph, EvalContext(as_of=as_of))
    assert evaluation.errors == ()
    return {
        f"{f.rule_id}#{f.evidence.get('protocol') or f.evidence.get('weakness') or ''}": f for f in evaluation.findings
    }


def with_(**changes: Any) -> dict[str, Any]:
    return {**PASS_ENDPOINT, **changes}


def test_pass_sample_has_no_findings() -> None:
    assert evaluate(PASS_ENDPOINT) == {}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"protocols": ["SSLv3", "TLSv1.0", "TLSv1.2"]},
            {
                "sp800-52r2.protocol.deprecated-version#SSLv3",
                "sp800-52r2.protocol.deprecated-version#TLSv1.0",
                "sp800-52r2.protocol.tls13-missing#",
            },
        ),
        (
            {
                "cipher_suites": [
                    "TLS_RSA_WITH_NULL_SHA",
                    "TLS_DH_anon_WITH_AES_128_CBC_SHA",
                    "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
                    "TLS_RSA_WITH_DES_CBC_SHA",
                    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
                ]
            },
            {
                "sp800-52r2.cipher.prohibited#null",
                "sp800-52r2.cipher.prohibited#anonymous",
                "sp800-52r2.cipher.prohibited#export",
                "sp800-52r2.cipher.prohibited#rc4",
                "sp800-52r2.cipher.prohibited#des",
                "sp800-52r2.cipher.3des#3des",
                "sp800-52r2.kex.rsa-key-transport#",
                "sp800-52r2.kex.no-forward-secrecy#",
            },
        ),
        (
            {"ephemeral_keys": {"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": {"type": "DH", "bits": 1024}}},
            {"sp800-52r2.kex.weak-group#"},
        ),
        (
            # as the collector records it: the accepted post-quantum groups first
            {"key_exchange_groups": ["X25519MLKEM768", "x25519", "secp192r1"], "pq_key_exchange": True},
            {"sp800-52r2.kex.weak-group#"},
        ),
        ({"ocsp_stapling": False}, {"sp800-52r2.revocation.no-ocsp-stapling#"}),
        ({"hsts": None}, {"sp800-52r2.http.hsts-missing#"}),
        ({"hsts": {"max_age": 300}}, {"sp800-52r2.http.hsts-missing#"}),
        ({"hsts": None, "speaks_http": False}, set()),
        ({"compression": True}, {"sp800-52r2.protocol.compression#"}),
        ({"secure_renegotiation": False}, {"sp800-52r2.protocol.insecure-renegotiation#"}),
        ({"heartbleed": True}, {"sp800-52r2.vuln.heartbleed#"}),
        ({"robot": "VULNERABLE_STRONG_ORACLE"}, {"sp800-52r2.vuln.robot#"}),
        ({"pq_key_exchange": False}, {"sp800-52r2.pqc.no-hybrid-key-exchange#"}),
        ({"host": "api.other.example"}, {"sp800-52r2.cert.hostname-mismatch#"}),
    ],
)
def test_fail_samples(changes: dict[str, Any], expected: set[str]) -> None:
    assert set(evaluate(with_(**changes))) == expected


def test_fail_self_signed_leaf() -> None:
    leaf = {**PASS_LEAF, "self_signed": True}
    assert set(evaluate(PASS_ENDPOINT, leaf)) == {"sp800-52r2.cert.self-signed-leaf#"}


def test_severities_follow_the_params() -> None:
    found = evaluate(with_(protocols=["SSLv2", "TLSv1.1", "TLSv1.2", "TLSv1.3"]))
    assert found["sp800-52r2.protocol.deprecated-version#SSLv2"].severity.value == "critical"
    assert found["sp800-52r2.protocol.deprecated-version#TLSv1.1"].severity.value == "high"
    robot = evaluate(with_(robot="VULNERABLE_WEAK_ORACLE"))["sp800-52r2.vuln.robot#"]
    assert robot.severity.value == "medium"


@pytest.mark.parametrize(
    ("year", "severity", "deadline"),
    [(2026, "info", "2030-12-31"), (2031, "medium", "2035-12-31"), (2036, "high", "2035-12-31")],
)
def test_pqc_severity_by_as_of_date(year: int, severity: str, deadline: str) -> None:
    found = evaluate(with_(pq_key_exchange=False), as_of=datetime(year, 1, 2, tzinfo=UTC))
    finding = found["sp800-52r2.pqc.no-hybrid-key-exchange#"]
    assert (finding.severity.value, finding.deadline) == (severity, deadline)


@pytest.mark.parametrize(
    ("host", "san", "subject", "match"),
    [
        ("www.example", ["DNS:www.example"], "", True),
        ("WWW.Example.", ["DNS:www.example"], "", True),
        ("a.example", ["DNS:*.example"], "", True),
        ("a.b.example", ["DNS:*.example"], "", False),
        ("example", ["DNS:*.example"], "", False),
        ("127.0.0.1", ["IP:127.0.0.1"], "", True),
        ("127.0.0.1", ["DNS:localhost"], "CN=127.0.0.1", False),
        ("::1", ["IP:::1"], "", True),
        ("legacy.example", [], "CN=legacy.example", True),
        ("legacy.example", ["DNS:other.example"], "CN=legacy.example", False),
    ],
)
def test_names_match(host: str, san: list[str], subject: str, match: bool) -> None:
    assert names_match(host, san, subject) is match


def test_unknown_pq_status_is_not_a_finding() -> None:
    assert set(evaluate(with_(pq_key_exchange=None))) == set()
