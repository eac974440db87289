"""The PKCS#11 collector against real SoftHSM2 tokens: assets, ids shared with files, findings."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.pkcs11.collector import Pkcs11Collector
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.crypto_assets import key_id_for_spki
from scanner.inventory.model import Asset, AssetType, CollectionError, RelationType, ScanResult
from scanner.reporting.json_report import JsonReporter
from scanner.scan import ScanRequest, run_scan
from scanner.secrets import Secret
from tests.collectors.pkcs11.conftest import IssueToken, new_pin
from tests.collectors.pkcs11.softhsm import init_token
from tests.support import pki

PACKS = ("cms-km-handbook", "nist-sp800-57")


def scan(issue: IssueToken, *extra: Target, pin: str | None = None, **options: object) -> ScanResult:
    token = issue.token
    request = ScanRequest(
        targets=(Target("pkcs11", token.module), *extra),
        packs=tuple(select_packs(discover_packs(), PACKS)),
        options={
            "pkcs11_pin": Secret((pin if pin is not None else token.pin).encode()),
            "pkcs11_pin_source": "$KEYSWEEP_PKCS11_PIN",
            **options,
        },
    )
    return run_scan(request)


def rules_by_asset(result: ScanResult) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for finding in result.findings:
        found[finding.asset_id].add(finding.rule_id)
    return found


def asset(result: ScanResult, asset_id: str) -> Asset:
    return next(a for a in result.assets if a.id == asset_id)


def test_issue_token_findings_and_merge_with_certificate_file(token_env: IssueToken) -> None:
    result = scan(token_env, Target("path", str(token_env.cert_dir)))
    assert result.errors == ()
    serial = token_env.token.serial
    rsa1024 = key_id_for_spki(token_env.spki["rsa-1024"])
    multi = key_id_for_spki(token_env.spki["rsa-sign-decrypt"])
    p256 = key_id_for_spki(token_env.spki["p256-tls"])
    aes = f"key:pkcs11:{serial}:02"
    found = rules_by_asset(result)
    # exactly these, per key: key-size, key-storage and key-usage on the first three
    assert found[rsa1024] == {"cms.key.min-strength", "cms.key.quantum-vulnerable"}
    assert found[aes] == {"sp800-57.hsm.key-exportable"}
    assert found[multi] == {"sp800-57.key.single-purpose", "cms.key.quantum-vulnerable"}
    assert found[p256] == {"cms.key.quantum-vulnerable"}
    categories = {(f.asset_id, f.category) for f in result.findings}
    assert {(rsa1024, "key-size"), (aes, "key-storage"), (multi, "key-usage")} <= categories
    assert not any(f.rule_id == "cms.key.plaintext-private-key" for f in result.findings)

    # the P-256 key: one node, in the token and in the certificate file
    key = asset(result, p256)
    assert {loc.kind for loc in key.locations} == {"pkcs11", "file"}
    assert key.properties["has_private_key"] is True
    assert key.properties["in_hsm"] is True
    assert key.properties["encrypted_at_rest"] is True
    assert key.properties["curve"] == "secp256r1"
    stored = {(r.source, r.target) for r in result.relations if r.type is RelationType.STORED_IN}
    assert (p256, f"pkcs11:{serial}") in stored
    certifying = [r.source for r in result.relations if r.type is RelationType.CERTIFIES and r.target == p256]
    assert len(certifying) == 1
    cert = asset(result, certifying[0])
    assert cert.locations[0].ref == str(token_env.cert_dir / "hsm.example.test.pem")


def test_key_properties_from_the_token(token_env: IssueToken) -> None:
    result = scan(token_env)
    serial = token_env.token.serial
    rsa1024 = asset(result, key_id_for_spki(token_env.spki["rsa-1024"])).properties
    assert (rsa1024["algorithm"], rsa1024["key_size"], rsa1024["security_bits"]) == ("RSA", 1024, 80)
    assert rsa1024["label"] == "rsa-1024" and rsa1024["pkcs11_id"] == "01"
    assert rsa1024["sensitive"] is True and rsa1024["extractable"] is False
    assert rsa1024["always_sensitive"] is True and rsa1024["never_extractable"] is True
    assert rsa1024["local"] is True
    assert rsa1024["key_gen_mechanism"] == "RSA_PKCS_KEY_PAIR_GEN"
    assert set(rsa1024["usage"]) - {"sign_recover", "verify_recover"} == {"sign", "verify"}
    assert rsa1024["start_date"] is None and rsa1024["end_date"] is None
    aes = asset(result, f"key:pkcs11:{serial}:02").properties
    assert (aes["algorithm"], aes["key_size"], aes["security_bits"], aes["quantum_vulnerable"]) == (
        "AES",
        128,
        128,
        False,
    )
    assert aes["sensitive"] is False and aes["extractable"] is True
    assert aes["usage"] == ["decrypt", "encrypt"]
    # no dates set: python-pkcs11 raises ValueError on the empty CK_DATE, which means "no date"
    assert (aes["start_date"], aes["end_date"]) == (None, None)
    assert "unreadable_attributes" not in aes

    token = asset(result, f"pkcs11:{serial}")
    assert token.type is AssetType.HSM_TOKEN
    props = token.properties
    assert props["label"] == "keysweep-test" and props["serial"] == serial
    assert props["manufacturer"] == "SoftHSM project" and props["model"] == "SoftHSM v2"
    assert props["firmware"].startswith("2.")
    assert "TOKEN_INITIALIZED" in props["flags"] and "LOGIN_REQUIRED" in props["flags"]
    assert props["logged_in"] is True
    assert {"CKM_AES_CBC", "CKM_RSA_PKCS", "CKM_SHA256_RSA_PKCS"} <= set(props["mechanisms"])
    assert props["data_objects"] == [{"label": "app-config", "application": "keysweep-test", "private": True}]
    assert props["object_counts"] == {"private-key": 3, "public-key": 3, "secret-key": 1, "data": 1}
    # one token: SoftHSM's spare uninitialised slot is skipped
    assert [a.id for a in result.assets if a.type is AssetType.HSM_TOKEN] == [f"pkcs11:{serial}"]
    weak = {f.evidence["group"] for f in result.findings if f.rule_id == "sp800-57.hsm.weak-mechanisms"}
    assert {"MD5", "SHA-1 signatures", "RSA PKCS#1 v1.5 encryption"} <= weak
    # a data object's value is never read
    report = JsonReporter().render(result)
    assert b"data object value".hex() not in report.decode()


def test_token_selected_by_label_or_serial(token_env: IssueToken) -> None:
    by_serial = scan(token_env, pkcs11_token=token_env.token.serial)
    assert f"pkcs11:{token_env.token.serial}" in {a.id for a in by_serial.assets}
    missing = scan(token_env, pkcs11_token="no-such-token")
    assert missing.assets == ()
    assert [e.message for e in missing.errors] == [
        "no initialised token with label or serial 'no-such-token' (tokens: 'keysweep-test')"
    ]


def test_without_pin_only_public_objects(token_env: IssueToken) -> None:
    context = CollectContext(options={"pkcs11_pin": None, "pkcs11_pin_source": "$KEYSWEEP_PKCS11_PIN"})
    observations = list(Pkcs11Collector().collect([Target("pkcs11", token_env.token.module)], context))
    errors = [o for o in observations if isinstance(o, CollectionError)]
    assert [e.message.split(": ", 1)[1] for e in errors] == [
        "no PIN given ($KEYSWEEP_PKCS11_PIN is not set); only public objects were listed"
    ]
    keys = [o for o in observations if isinstance(o, Asset) and o.type is AssetType.KEY]
    assert {k.id for k in keys} == {key_id_for_spki(s) for s in token_env.spki.values()}
    assert all(k.properties["has_private_key"] is False for k in keys)


def test_dates_cryptoperiod_and_end_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = init_token(tmp_path, "dated", new_pin())
    made = token.run(
        [
            # dates on the public object are readable; on private and secret objects SoftHSM refuses
            {
                "type": "ec",
                "curve": "secp384r1",
                "label": "old-signer",
                "id": "11",
                "private": {"SIGN": True, "START_DATE": "2019-01-01"},
                "public": {"VERIFY": True, "START_DATE": "2019-01-01", "END_DATE": "2020-06-30"},
            },
            {
                "type": "aes",
                "bits": 256,
                "label": "dated-secret",
                "id": "12",
                "attrs": {"WRAP": True, "UNWRAP": True, "START_DATE": "2019-01-01"},
            },
        ]
    )
    monkeypatch.setenv("SOFTHSM2_CONF", str(token.conf))
    result = scan(IssueToken(token, {}, tmp_path))
    signer_id = key_id_for_spki(bytes.fromhex(made[0]["spki"]))
    signer = asset(result, signer_id).properties
    assert (signer["start_date"], signer["end_date"]) == ("2019-01-01", "2020-06-30")
    secret = asset(result, f"key:pkcs11:{token.serial}:12").properties
    # a date set on a secret object: SoftHSM 2.6 answers CKR_GENERAL_ERROR; the unset one is empty
    assert (secret["start_date"], secret["end_date"]) == ("unreadable", None)
    assert secret["unreadable_attributes"] == ["secret-key:CKA_START_DATE (general error)"]
    found = rules_by_asset(result)
    assert found[signer_id] == {
        "sp800-57.key.cryptoperiod-exceeded",
        "sp800-57.key.past-end-date",
        "cms.key.quantum-vulnerable",
    }
    # an unreadable date is not guessed: no rotation finding for the secret key
    assert found[f"key:pkcs11:{token.serial}:12"] == set()
    period = next(f for f in result.findings if f.rule_id == "sp800-57.key.cryptoperiod-exceeded")
    assert period.evidence["key_type"] == "private-signature" and period.evidence["cryptoperiod_days"] == 1095


def test_scan_is_read_only(token_env: IssueToken) -> None:
    tokens = Path(token_env.token.conf).parent / "tokens"

    # SoftHSM rewrites token.object (login state) at every login, even read-only; objects it must not
    def snapshot() -> dict[str, bytes]:
        return {str(p): p.read_bytes() for p in sorted(tokens.rglob("*")) if p.is_file() and p.name != "token.object"}

    before = snapshot()
    scan(token_env)
    assert snapshot() == before


def test_json_report_of_token(token_env: IssueToken) -> None:
    result = scan(token_env)
    report = json.loads(JsonReporter().render(result))
    kinds = {loc["kind"] for a in report["assets"] for loc in a["locations"]}
    assert kinds == {"pkcs11"}


def test_certificate_on_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = init_token(tmp_path, "with-cert", new_pin())
    made = token.run(
        [{"type": "ec", "curve": "secp256r1", "label": "tls", "id": "21", "private": {"SIGN": True}, "public": {}}]
    )
    spki = bytes.fromhex(made[0]["spki"])
    ca = pki.ec_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(pki.name("tls.example.test"))
        .issuer_name(pki.name("CA"))
        .public_key(serialization.load_der_public_key(spki))  # type: ignore[arg-type]
        .serial_number(7)
        .not_valid_before(pki.NOW - pki.DAY)
        .not_valid_after(pki.NOW + 30 * pki.DAY)
        .sign(ca, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    token.run([{"type": "certificate", "label": "tls-cert", "id": "21", "der": der.hex()}])
    monkeypatch.setenv("SOFTHSM2_CONF", str(token.conf))
    result = scan(IssueToken(token, {}, tmp_path))
    assert result.errors == ()
    cert_id = "cert:sha256:" + hashlib.sha256(der).hexdigest()
    key_id = key_id_for_spki(spki)
    relations = {(r.source, r.target, r.type) for r in result.relations}
    assert (cert_id, f"pkcs11:{token.serial}", RelationType.STORED_IN) in relations
    assert (cert_id, key_id, RelationType.CERTIFIES) in relations
    assert asset(result, cert_id).properties["subject"] == "CN=tls.example.test"
    assert [a.id for a in result.assets if a.type is AssetType.KEY] == [key_id]
