"""Post-quantum priority: uses split by function, deadlines by strength and pack, Mosca's test."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from scanner.collectors.base import Target
from scanner.compat import UTC
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.model import (
    Asset,
    AssetType,
    Location,
    Relation,
    RelationType,
    ScanMetadata,
    ScanResult,
    freeze,
)
from scanner.inventory.pq_priority import pq_priority, quantum_vulnerable_uses
from scanner.inventory.summary import summarize
from scanner.inventory.systems import assign, parse_systems
from scanner.reporting import leadership
from scanner.scan import ScanRequest, run_scan
from tests.support.scans import mixed_tree

AS_OF = datetime(2026, 11, 29, tzinfo=UTC)


def _key(name: str, algorithm: str, bits: int, size: int, *where: Location, **props: object) -> Asset:
    base = {"algorithm": algorithm, "key_size": size, "security_bits": bits, "quantum_vulnerable": True}
    return Asset(f"key:spki-sha256:{name}", AssetType.KEY, freeze({**base, **props}), where)


def _result(ttl_web: float, as_of: datetime = AS_OF) -> ScanResult:
    token = Asset(
        "pkcs11:T1",
        AssetType.HSM_TOKEN,
        freeze({"label": "vault", "manufacturer": "Acme", "model": "HSM9", "firmware": "7.1"}),
    )
    on_token = _key("hsm", "RSA", 112, 2048, Location("pkcs11", "pkcs11:T1"), usage=["decrypt", "sign"])
    endpoint = Asset(
        "tls:web.example:443",
        AssetType.TLS_ENDPOINT,
        freeze({"host": "web.example", "port": 443, "pq_key_exchange": False, "key_exchange_groups": ["x25519"]}),
    )
    cert = Asset("cert:sha256:c", AssetType.CERTIFICATE, freeze({}), (Location("tls", "tls:web.example:443"),))
    web_key = _key("web", "EC", 128, 256, Location("tls", "tls:web.example:443"), curve="secp256r1")
    assets = (token, on_token, endpoint, cert, web_key)
    relations = (
        Relation(endpoint.id, cert.id, RelationType.PRESENTS),
        Relation(cert.id, web_key.id, RelationType.CERTIFIES),
    )
    systems = parse_systems(
        {
            "system": [
                {
                    "id": "web",
                    "impact": "high",
                    "high_value_asset": True,
                    "data_ttl_years": ttl_web,
                    "migration_years": 3,
                    "match": {"hosts": ["web.example"]},
                },
                {"id": "vault", "impact": "low", "match": {"tokens": ["vault"]}},
            ]
        },
        "inline",
    )
    meta = ScanMetadata("s", as_of, as_of, as_of, "op", "host", (), ())
    return ScanResult(meta, assets, relations, (), (), systems=systems, membership=assign(systems, assets, relations))


def test_uses_are_split_by_function_with_their_deadlines_and_implementation() -> None:
    uses = {(u.asset_id, u.function): u for u in quantum_vulnerable_uses(_result(ttl_web=10))}
    assert set(uses) == {
        ("key:spki-sha256:hsm", "key-establishment"),  # may decrypt
        ("key:spki-sha256:hsm", "signature"),  # and sign: both functions
        ("tls:web.example:443", "key-establishment"),
        ("key:spki-sha256:web", "signature"),  # bound by the endpoint's certificate
    }
    hsm = uses[("key:spki-sha256:hsm", "signature")]
    assert hsm.implementation == {"type": "hardware", "vendor": "Acme", "product": "HSM9", "version": "7.1"}
    # 112 bits: deprecated after 2030 and disallowed after 2035; 128 bits: the 2035 date only
    assert [d for d, _ in hsm.deadlines] == ["2030-12-31", "2035-12-31"]
    assert [d for d, _ in uses[("key:spki-sha256:web", "signature")].deadlines] == ["2035-12-31"]


def test_the_key_establishment_row_names_the_negotiated_group_first() -> None:
    """A server that follows the client's order lists groups in the probe's order (secp256r1 first);
    the group its handshakes negotiated leads the row (the demo's legacy endpoint, as scanned)."""
    groups = ["secp256r1", "secp384r1", "secp521r1", "x25519", "x448"]
    keys = {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": {"group": "x25519"}, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA": {}}
    props = {"pq_key_exchange": False, "key_exchange_groups": groups, "ephemeral_keys": keys}
    endpoint = Asset("tls:legacy.example:443", AssetType.TLS_ENDPOINT, freeze(props))
    meta = ScanMetadata("s", AS_OF, AS_OF, AS_OF, "op", "host", (), ())
    (use,) = quantum_vulnerable_uses(ScanResult(meta, (endpoint,), (), (), ()))
    assert use.algorithm == "x25519, secp256r1, secp384r1, secp521r1"


def test_mosca_time_to_live_decides_harvest_now_decrypt_later() -> None:
    long_lived = {p["system"]: p for p in pq_priority(_result(ttl_web=10))}
    web = long_lived["web"]
    # 10 y of confidentiality + 3 y of migration > the 8.1 y until 2035: exposed, and high impact + HVA
    assert web["harvest_now_decrypt_later"] is True and web["priority"] == "critical"
    assert web["by_function"] == {"key-establishment": 1, "signature": 1, "other": 0}
    assert any("harvest-now-decrypt-later" in r for r in web["reasons"])
    short_lived = {p["system"]: p for p in pq_priority(_result(ttl_web=1))}
    assert short_lived["web"]["harvest_now_decrypt_later"] is False
    assert short_lived["web"]["priority"] == "high"  # still high impact and HVA
    vault = long_lived["vault"]
    assert vault["mosca"]["migration_years_source"] == "assumed"  # the system gave no migration time
    assert "data time-to-live not declared" in " ".join(vault["reasons"])


def test_a_passed_deadline_is_overdue_in_the_priority_timeline_and_verdict() -> None:
    result = _result(ttl_web=1, as_of=datetime(2031, 3, 1, tzinfo=UTC))
    vault = {p["system"]: p for p in pq_priority(result)}["vault"]
    assert "deadline 2030-12-31 is overdue" in vault["reasons"]
    summary = summarize(result)
    timeline = leadership.timeline(summary)
    dates = [e["date"] for e in timeline]
    assert dates.index("2030-12-31") < dates.index("2031-03-01") < dates.index("2035-12-31")  # before "as of"
    overdue = next(e for e in timeline if e["date"] == "2030-12-31")
    assert overdue["overdue"] and overdue["text"].startswith("overdue: 1 key")
    assert "overdue since 2030-12-31" in leadership.verdict(result, summary)["sentence"]


def test_cnsa_deadlines_join_where_the_pack_is_selected(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    request = ScanRequest((Target("path", str(tmp_path)),), tuple(select_packs(discover_packs(()), ("cnsa-2.0",))))
    sources = {s for u in quantum_vulnerable_uses(run_scan(request)) for _, s in u.deadlines}
    assert any(s.startswith("cnsa-2.0:") for s in sources)
    default = ScanRequest((Target("path", str(tmp_path)),), tuple(select_packs(discover_packs(()), ())))
    assert not any("cnsa" in s for u in quantum_vulnerable_uses(run_scan(default)) for _, s in u.deadlines)
