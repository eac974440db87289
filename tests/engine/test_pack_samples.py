"""Every rule of every built-in pack: a pass sample and a fail sample, and the exact set of failing ids.

Keys and certificates are real files made with cryptography (and dilithium-py for ML-DSA) and
swept by the file collector. TLS endpoints, PKCS#11-style symmetric keys, wrapping relations
and escrow marks come from collectors that are not on this branch (TLS, PKCS#11): those samples
are built as graphs directly, with the property names DESIGN.md fixes (`key_exchange_groups`...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.x509.oid import ExtendedKeyUsageOID

from scanner.inventory.crypto_assets import certificate_observations
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, Finding, Location, Relation, RelationType, ScanResult, freeze
from tests.engine.helpers import (
    PACKS,
    TLS_PASS_PROPERTIES,
    cert_id,
    endpoint,
    evaluate,
    failing,
    key_id,
    relate,
    scan,
    symmetric_key,
    write_cert,
)
from tests.support import pki, samples

COVERED: set[str] = set()
NOW, DAY = pki.NOW, pki.DAY


def sample(rule_id: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    COVERED.add(rule_id)
    return lambda test: test


@pytest.fixture(scope="module")
def rsa2048() -> pki.rsa.RSAPrivateKey:
    return pki.rsa_key(2048)


def test_every_rule_has_samples() -> None:
    every = {rule.id for pack in PACKS.values() for rule in pack.rules}
    assert every == COVERED


# -- cms-km-handbook ------------------------------------------------------------------------------
@sample("cms.key.min-strength")
def test_min_strength(tmp_path: Path) -> None:
    weak, good = pki.rsa_key(1024), pki.ec_key()
    write_cert(tmp_path, "fail_rsa1024.pem", pki.certificate(weak, "weak.example"))
    write_cert(tmp_path, "pass_p256.pem", pki.certificate(good, "good.example"))
    assert failing(scan([tmp_path], ["cms-km-handbook"]), "cms.key.min-strength") == {key_id(weak.public_key())}


@sample("cms.key.plaintext-private-key")
def test_plaintext_private_key(tmp_path: Path) -> None:
    plain, sealed = pki.ec_key(), pki.ec_key()
    pki.write(tmp_path / "fail_plain.key", pki.key_pem(plain))
    pki.write(tmp_path / "pass_encrypted.key", pki.key_pem(sealed, b"correct horse"))
    result = scan([tmp_path], ["cms-km-handbook"])
    assert failing(result, "cms.key.plaintext-private-key") == {key_id(plain.public_key())}


@sample("cms.key.readable-private-key-file")
def test_readable_private_key_file(tmp_path: Path) -> None:
    fail = pki.write(tmp_path / "fail_world.key", pki.key_pem(pki.ec_key()), 0o644)
    pki.write(tmp_path / "pass_owner.key", pki.key_pem(pki.ec_key()), 0o600)
    result = scan([tmp_path], ["cms-km-handbook"])
    assert failing(result, "cms.key.readable-private-key-file") == {f"file:{fail}"}


@sample("cms.key.dsa")
def test_dsa(tmp_path: Path) -> None:
    dsa_key, good = pki.dsa_key(1024), pki.ec_key()
    write_cert(tmp_path, "fail_dsa.pem", pki.certificate(dsa_key, "dsa.example"))
    write_cert(tmp_path, "pass_ec.pem", pki.certificate(good, "ec.example"))
    assert failing(scan([tmp_path], ["cms-km-handbook"]), "cms.key.dsa") == {key_id(dsa_key.public_key())}


@sample("cms.key.quantum-vulnerable")
def test_quantum_vulnerable(tmp_path: Path) -> None:
    classical = pki.ec_key()
    write_cert(tmp_path, "fail_p256.pem", pki.certificate(classical, "ec.example"))
    pq = pki.ml_dsa_certificate("pq.example")
    pki.write(tmp_path / "pass_mldsa.der", pq)
    result = scan([tmp_path], ["cms-km-handbook"])
    assert failing(result, "cms.key.quantum-vulnerable") == {key_id(classical.public_key())}


@sample("cms.cert.weak-signature-hash")
def test_weak_signature_hash(tmp_path: Path) -> None:
    sha1 = pki.openssl_sha1_certificate("sha1.example", tmp_path)
    sha256 = pki.certificate(pki.ec_key(), "sha256.example")
    write_cert(tmp_path, "fail.pem", sha1)
    write_cert(tmp_path, "pass.pem", sha256)
    assert failing(scan([tmp_path], ["cms-km-handbook"]), "cms.cert.weak-signature-hash") == {cert_id(sha1)}


@sample("cms.cert.expired")
def test_expired(tmp_path: Path) -> None:
    old = pki.certificate(pki.ec_key(), "old.example", not_before=NOW - 100 * DAY, days=10)
    fresh = pki.certificate(pki.ec_key(), "fresh.example")
    write_cert(tmp_path, "fail.pem", old)
    write_cert(tmp_path, "pass.pem", fresh)
    assert failing(scan([tmp_path], ["cms-km-handbook"]), "cms.cert.expired") == {cert_id(old)}


def test_expired_trust_anchor_is_low(tmp_path: Path) -> None:
    """An expired root inside a trust store builds no chain: low, with the advice to remove it; an
    expired certificate that is not an anchor stays at the rule's severity."""
    key = pki.ec_key()
    root = pki.certificate(key, "Old Root", ca=True, not_before=NOW - 100 * DAY, days=10)
    (tmp_path / "store").mkdir()
    write_cert(tmp_path / "store", "ca-bundle.crt", root)  # a trust store by its conventional name
    leaf = pki.certificate(pki.ec_key(), "old.example", not_before=NOW - 100 * DAY, days=10)
    write_cert(tmp_path, "served.pem", leaf)
    found = {f.asset_id: f for f in scan([tmp_path], ["cms-km-handbook"]).findings if f.rule_id == "cms.cert.expired"}
    assert set(found) == {cert_id(root), cert_id(leaf)}
    assert found[cert_id(root)].severity.value == "low" and "remove it" in found[cert_id(root)].message
    assert found[cert_id(leaf)].severity.value == "high"


@sample("cms.cert.not-yet-valid")
def test_not_yet_valid(tmp_path: Path) -> None:
    future = pki.certificate(pki.ec_key(), "future.example", not_before=NOW + 10 * DAY)
    write_cert(tmp_path, "fail.pem", future)
    write_cert(tmp_path, "pass.pem", pki.certificate(pki.ec_key(), "now.example"))
    assert failing(scan([tmp_path], ["cms-km-handbook"]), "cms.cert.not-yet-valid") == {cert_id(future)}


@sample("cms.cert.validity-exceeds-rotation")
def test_validity_exceeds_rotation(tmp_path: Path) -> None:
    long = pki.certificate(pki.ec_key(), "long.example", days=800)
    write_cert(tmp_path, "fail.pem", long)
    write_cert(tmp_path, "pass.pem", pki.certificate(pki.ec_key(), "short.example", days=90))
    result = scan([tmp_path], ["cms-km-handbook"])
    assert failing(result, "cms.cert.validity-exceeds-rotation") == {cert_id(long)}


@sample("cms.cert.key-reused-on-renewal")
def test_key_reused_on_renewal(tmp_path: Path) -> None:
    reused, fresh = pki.ec_key(), pki.ec_key()
    write_cert(tmp_path, "fail_1.pem", pki.certificate(reused, "www.example", not_before=NOW - 60 * DAY))
    write_cert(tmp_path, "fail_2.pem", pki.certificate(reused, "www.example"))
    write_cert(tmp_path, "pass.pem", pki.certificate(fresh, "api.example"))
    result = scan([tmp_path], ["cms-km-handbook"])
    assert failing(result, "cms.cert.key-reused-on-renewal") == {key_id(reused.public_key())}


@sample("cms.key.table1-algorithm")
def test_table1_algorithm(tmp_path: Path) -> None:
    k1, ed, p384 = pki.ec_key(ec.SECP256K1()), pki.ed25519_key(), pki.ec_key(ec.SECP384R1())
    write_cert(tmp_path, "fail_k1.pem", pki.certificate(k1, "k1.example"))
    write_cert(tmp_path, "fail_ed.pem", pki.certificate(ed, "ed.example"))
    write_cert(tmp_path, "pass_p384.pem", pki.certificate(p384, "p384.example"))
    pki.write(tmp_path / "pass_mldsa.der", pki.ml_dsa_certificate())
    result = scan([tmp_path], ["cms-km-handbook"])
    assert failing(result, "cms.key.table1-algorithm") == {key_id(k1.public_key()), key_id(ed.public_key())}


@sample("cms.key.not-in-module")
def test_not_in_module(tmp_path: Path) -> None:
    in_file, cert_only = pki.ec_key(), pki.ec_key()
    pki.write(tmp_path / "fail.key", pki.key_pem(in_file))
    write_cert(tmp_path, "pass.pem", pki.certificate(cert_only, "pass.example"))
    result = scan([tmp_path], ["cms-km-handbook"])
    assert failing(result, "cms.key.not-in-module") == {key_id(in_file.public_key())}


@sample("cms.key.escrowed-signature-key")
def test_escrowed_signature_key() -> None:
    graph = InventoryGraph()
    fail = symmetric_key(graph, "sign-escrowed", "EC", 256, curve="secp256r1", escrowed=True, usage=["sign"])
    symmetric_key(graph, "decrypt-escrowed", "RSA", 3072, escrowed=True, usage=["decrypt"])
    symmetric_key(graph, "sign-kept", "EC", 256, curve="secp256r1", escrowed=False, usage=["sign"])
    assert failing(evaluate(graph, ["cms-km-handbook"]), "cms.key.escrowed-signature-key") == {fail}


@sample("cms.key.rotation-overdue")
def test_rotation_overdue(tmp_path: Path) -> None:
    old, new = pki.ec_key(), pki.ec_key()
    write_cert(tmp_path, "fail.pem", pki.certificate(old, "old.example", not_before=NOW - 400 * DAY, days=800))
    write_cert(tmp_path, "pass.pem", pki.certificate(new, "new.example"))
    result = scan([tmp_path], ["cms-km-handbook"])
    assert failing(result, "cms.key.rotation-overdue") == {key_id(old.public_key())}
    # the same scan 100 days earlier: nothing was overdue yet
    earlier = scan([tmp_path], ["cms-km-handbook"], day=(NOW - 100 * DAY).date().isoformat())
    assert failing(earlier, "cms.key.rotation-overdue") == set()
    # once every certificate binding the key has expired, the expiry rule reports it instead
    expired = scan([tmp_path], ["cms-km-handbook"], day=(NOW + 500 * DAY).date().isoformat())
    assert failing(expired, "cms.key.rotation-overdue") == set()
    assert failing(expired, "cms.cert.expired") != set()


@sample("cms.key.multiple-functions")
def test_multiple_functions(tmp_path: Path) -> None:
    mixed, tls = pki.ec_key(), pki.ec_key()
    server, client, code = (
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
        ExtendedKeyUsageOID.CODE_SIGNING,
    )
    write_cert(tmp_path, "fail_tls.pem", pki.certificate(mixed, "svc.example", eku=[server]))
    write_cert(tmp_path, "fail_code.pem", pki.certificate(mixed, "svc.example signer", eku=[code]))
    write_cert(tmp_path, "pass_tls.pem", pki.certificate(tls, "web.example", eku=[server, client]))
    result = scan([tmp_path], ["cms-km-handbook"])
    assert failing(result, "cms.key.multiple-functions") == {key_id(mixed.public_key())}


@sample("cms.key.shared")
def test_shared(tmp_path: Path) -> None:
    shared, single = pki.ec_key(), pki.ec_key()
    write_cert(tmp_path, "fail_a.pem", pki.certificate(shared, "a.example"))
    write_cert(tmp_path, "fail_b.pem", pki.certificate(shared, "b.example"))
    write_cert(tmp_path, "pass.pem", pki.certificate(single, "c.example"))
    result = scan([tmp_path], ["cms-km-handbook"])
    assert failing(result, "cms.key.shared") == {key_id(shared.public_key())}


def test_shared_across_hosts() -> None:
    """The same certificate (so the same key) presented by two hosts; a third host has its own."""
    graph = InventoryGraph()
    from scanner.inventory.crypto_assets import certificate_observations

    shared_cert = pki.certificate(pki.ec_key(), "www.example")
    own_cert = pki.certificate(pki.ec_key(), "api.example")
    for cert in (shared_cert, own_cert):
        graph.add_all(certificate_observations(cert, None)[0])
    for host, cert in (("10.0.0.1", shared_cert), ("10.0.0.2", shared_cert), ("10.0.0.3", own_cert)):
        relate(graph, endpoint(graph, host, None), cert_id(cert), RelationType.PRESENTS)
    findings = evaluate(graph, ["cms-km-handbook"])
    assert failing(findings, "cms.key.shared") == {key_id(shared_cert.public_key())}
    [hit] = [f for f in findings if f.rule_id == "cms.key.shared"]
    assert hit.evidence["hosts"] == ["10.0.0.1", "10.0.0.2"]


@sample("cms.key.kek-weaker")
def test_kek_weaker() -> None:
    graph = InventoryGraph()
    weak_kek = symmetric_key(graph, "kek-128", "AES", 128)
    strong_data = symmetric_key(graph, "data-256", "AES", 256)
    strong_kek = symmetric_key(graph, "kek-256", "AES", 256)
    small_data = symmetric_key(graph, "data-128", "AES", 128)
    relate(graph, weak_kek, strong_data, RelationType.WRAPS)
    relate(graph, strong_kek, small_data, RelationType.WRAPS)
    assert failing(evaluate(graph, ["cms-km-handbook"]), "cms.key.kek-weaker") == {weak_kek}


@sample("cms.cert.expiring-soon")
def test_expiring_soon(tmp_path: Path) -> None:
    soon = pki.certificate(pki.ec_key(), "soon.example", not_before=NOW - 80 * DAY, days=90)
    write_cert(tmp_path, "fail.pem", soon)
    write_cert(tmp_path, "pass.pem", pki.certificate(pki.ec_key(), "later.example", days=90))
    assert failing(scan([tmp_path], ["cms-km-handbook"]), "cms.cert.expiring-soon") == {cert_id(soon)}


@sample("cms.cert.crl-without-ocsp")
def test_crl_without_ocsp(tmp_path: Path) -> None:
    ca_key = pki.ec_key()
    ca = pki.certificate(ca_key, "Example CA", ca=True, days=3650)
    crl_only = pki.certificate(
        pki.ec_key(), "crl.example", issuer_key=ca_key, issuer_name="Example CA", crl_url="http://crl.example/ca.crl"
    )
    both = pki.certificate(
        pki.ec_key(),
        "ocsp.example",
        issuer_key=ca_key,
        issuer_name="Example CA",
        crl_url="http://crl.example/ca.crl",
        ocsp_url="http://ocsp.example",
    )
    for name, cert in (("ca.pem", ca), ("fail.pem", crl_only), ("pass.pem", both)):
        write_cert(tmp_path, name, cert)
    assert failing(scan([tmp_path], ["cms-km-handbook"]), "cms.cert.crl-without-ocsp") == {cert_id(crl_only)}


def _root(name: str, **kwargs: object) -> tuple[ec.EllipticCurvePrivateKey, pki.x509.Certificate]:
    key = pki.ec_key()
    return key, pki.certificate(key, name, ca=True, days=3650, **kwargs)  # type: ignore[arg-type]


@sample("cms.cert.untrusted-root")
def test_untrusted_root(tmp_path: Path) -> None:
    trusted_key, trusted = _root("Trusted Root")
    _, other_anchor = _root("Other Trusted Root")
    rogue_key, rogue = _root("Rogue Root")
    good = pki.certificate(pki.ec_key(), "good.example", issuer_key=trusted_key, issuer_name="Trusted Root")
    bad = pki.certificate(pki.ec_key(), "bad.example", issuer_key=rogue_key, issuer_name="Rogue Root")
    pki.write(tmp_path / "ca-bundle.pem", pki.pem(trusted) + pki.pem(other_anchor), 0o644)
    write_cert(tmp_path, "rogue-root.pem", rogue)
    write_cert(tmp_path, "pass.pem", good)
    write_cert(tmp_path, "fail.pem", bad)
    result = scan([tmp_path], ["cms-km-handbook"])
    assert failing(result, "cms.cert.untrusted-root") == {cert_id(bad)}


def test_untrusted_root_needs_a_trust_store(tmp_path: Path) -> None:
    rogue_key, rogue = _root("Rogue Root")
    write_cert(tmp_path, "rogue.pem", rogue)
    leaf = pki.certificate(pki.ec_key(), "leaf.example", issuer_key=rogue_key, issuer_name="Rogue Root")
    write_cert(tmp_path, "leaf.pem", leaf)
    assert failing(scan([tmp_path], ["cms-km-handbook"]), "cms.cert.untrusted-root") == set()


@sample("cms.truststore.unapproved-anchor")
def test_trust_store_anchors(tmp_path: Path) -> None:
    expired = pki.certificate(pki.ec_key(), "Expired Root", ca=True, not_before=NOW - 400 * DAY, days=30)
    _, good_a = _root("Root A")
    _, good_b = _root("Root B")
    # trust stores by name (ca-bundle.pem), one per directory
    (tmp_path / "fail").mkdir()
    (tmp_path / "pass").mkdir()
    bad_store = pki.write(tmp_path / "fail" / "ca-bundle.pem", pki.pem(expired) + pki.pem(good_a), 0o644)
    pki.write(tmp_path / "pass" / "ca-bundle.pem", pki.pem(good_a) + pki.pem(good_b), 0o644)
    result = scan([tmp_path], ["cms-km-handbook"])
    assert failing(result, "cms.truststore.unapproved-anchor") == {f"truststore:{bad_store}"}
    [hit] = [f for f in result.findings if f.rule_id == "cms.truststore.unapproved-anchor"]
    assert hit.evidence["anchor"] == cert_id(expired)


# -- fips-140-3 ----------------------------------------------------------------------------------
@sample("fips.key.not-approved")
def test_fips_key(tmp_path: Path) -> None:
    ed, xkey, dsa_key = pki.ed25519_key(), x25519.X25519PrivateKey.generate(), pki.dsa_key(1024)
    write_cert(tmp_path, "pass_ed25519.pem", pki.certificate(ed, "ed.example"))
    public = xkey.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    pki.write(tmp_path / "fail_x25519.pub", public, 0o644)
    write_cert(tmp_path, "fail_dsa.pem", pki.certificate(dsa_key, "dsa.example"))
    result = scan([tmp_path], ["fips-140-3"])
    assert failing(result, "fips.key.not-approved") == {key_id(xkey.public_key()), key_id(dsa_key.public_key())}


@sample("fips.cert.signature-not-approved")
def test_fips_signature(tmp_path: Path) -> None:
    ed_cert = pki.certificate(pki.ed25519_key(), "ed.example")
    sha1 = pki.openssl_sha1_certificate("sha1.example", tmp_path)
    write_cert(tmp_path, "pass.pem", ed_cert)
    write_cert(tmp_path, "fail.pem", sha1)
    assert failing(scan([tmp_path], ["fips-140-3"]), "fips.cert.signature-not-approved") == {cert_id(sha1)}


@sample("fips.tls.key-exchange-not-approved")
def test_fips_key_exchange() -> None:
    graph = InventoryGraph()
    only_x25519 = endpoint(graph, "a.example", ["X25519"])
    mixed = endpoint(graph, "b.example", ["X25519MLKEM768", "x25519"])
    endpoint(graph, "c.example", ["secp256r1", "secp384r1"])
    endpoint(graph, "d.example", ["X25519MLKEM768", "SecP256r1MLKEM768"])
    endpoint(graph, "e.example", None)
    findings = evaluate(graph, ["fips-140-3"])
    assert failing(findings, "fips.tls.key-exchange-not-approved") == {only_x25519, mixed}


# -- nist-sp800-131a -----------------------------------------------------------------------------
@sample("sp131a.key.tdea")
def test_tdea() -> None:
    graph = InventoryGraph()
    tdea = symmetric_key(graph, "3des", "3DES", 192)
    des = symmetric_key(graph, "des", "DES", 64)
    symmetric_key(graph, "aes", "AES", 256)
    findings = evaluate(graph, ["nist-sp800-131a"], day="2026-01-01")
    assert failing(findings, "sp131a.key.tdea") == {tdea, des}
    severity = {f.asset_id: f.severity.value for f in findings if f.rule_id == "sp131a.key.tdea"}
    assert severity == {tdea: "high", des: "high"}
    before = evaluate(graph, ["nist-sp800-131a"], day="2023-06-01")
    assert {f.asset_id: f.severity.value for f in before if f.rule_id == "sp131a.key.tdea"} == {
        tdea: "medium",
        des: "high",
    }


@sample("sp131a.key.112-bit-after-2030")
def test_112_bit_after_2030(tmp_path: Path, rsa2048: pki.rsa.RSAPrivateKey) -> None:
    p256 = pki.ec_key()
    write_cert(tmp_path, "fail_rsa2048.pem", pki.certificate(rsa2048, "rsa.example"))
    write_cert(tmp_path, "pass_p256.pem", pki.certificate(p256, "ec.example"))
    assert failing(scan([tmp_path], ["nist-sp800-131a"], "2030-12-31"), "sp131a.key.112-bit-after-2030") == set()
    after = scan([tmp_path], ["nist-sp800-131a"], "2031-01-01")
    assert failing(after, "sp131a.key.112-bit-after-2030") == {key_id(rsa2048.public_key())}


# -- pqc-readiness -------------------------------------------------------------------------------
def test_pq_key_exchange_is_mapped_with_its_dates() -> None:
    # the TLS rule is sp800-52r2.pqc.no-hybrid-key-exchange (sampled below); this pack maps it
    graph = InventoryGraph()
    classical = endpoint(graph, "old.example", ["X25519", "secp256r1"])
    endpoint(graph, "hybrid.example", ["X25519MLKEM768", "X25519"])
    endpoint(graph, "pure.example", ["MLKEM1024"])
    endpoint(graph, "unknown.example", None)
    findings = evaluate(graph, ["pqc-readiness"], day="2026-12-01")
    assert failing(findings, "sp800-52r2.pqc.no-hybrid-key-exchange") == {classical}
    (finding,) = [f for f in findings if f.rule_id == "sp800-52r2.pqc.no-hybrid-key-exchange"]
    assert finding.policies == ("pqc-readiness",)
    assert finding.requirements == ("pqc-readiness:IR8547-KEY-ESTABLISHMENT",)
    later = {f.asset_id: f.severity.value for f in evaluate(graph, ["pqc-readiness"], day="2031-01-01")}
    assert later[classical] == "medium"


@sample("pqc.cert.classical-signature")
def test_classical_signature(tmp_path: Path) -> None:
    classical = pki.certificate(pki.ec_key(), "ec.example")
    write_cert(tmp_path, "fail.pem", classical)
    pki.write(tmp_path / "pass.der", pki.ml_dsa_certificate("pq.example"))
    result = scan([tmp_path], ["pqc-readiness"])
    assert failing(result, "pqc.cert.classical-signature") == {cert_id(classical)}


# -- cnsa-2.0 ------------------------------------------------------------------------------------
def _ml_dsa_pair(tmp_path: Path) -> tuple[bytes, bytes]:
    d65 = pki.ml_dsa_certificate("mldsa65.example", parameter_set="ML-DSA-65")
    d87 = pki.ml_dsa_certificate("mldsa87.example", parameter_set="ML-DSA-87")
    pki.write(tmp_path / "fail_65.der", d65)
    pki.write(tmp_path / "pass_87.der", d87)
    return d65, d87


def _spki_id(der_cert: bytes) -> str:
    from scanner.inventory import der
    from scanner.inventory.crypto_assets import key_id_for_spki

    (_, _, start, end), *_ = der.children(der_cert)
    (_, tbs_start, _, tbs_end), *_ = der.children(der_cert, start, end)
    return key_id_for_spki(der.spki_from_tbs(der_cert[tbs_start:tbs_end]))


@sample("cnsa.key.algorithm")
def test_cnsa_key(tmp_path: Path) -> None:
    d65, d87 = _ml_dsa_pair(tmp_path)
    result = scan([tmp_path], ["cnsa-2.0"])
    assert failing(result, "cnsa.key.algorithm") == {_spki_id(d65)}
    assert _spki_id(d87) in {a.id for a in result.assets}


@sample("cnsa.cert.signature")
def test_cnsa_signature(tmp_path: Path) -> None:
    d65, d87 = _ml_dsa_pair(tmp_path)
    result = scan([tmp_path], ["cnsa-2.0"])
    assert failing(result, "cnsa.cert.signature") == {cert_id(d65)}
    assert cert_id(d87) in {a.id for a in result.assets}


@sample("cnsa.tls.key-exchange")
def test_cnsa_key_exchange() -> None:
    graph = InventoryGraph()
    hybrid768 = endpoint(graph, "a.example", ["X25519MLKEM768"])
    classical = endpoint(graph, "b.example", ["secp384r1"])
    endpoint(graph, "c.example", ["SecP384r1MLKEM1024", "secp384r1"])
    findings = evaluate(graph, ["cnsa-2.0"])
    assert failing(findings, "cnsa.tls.key-exchange") == {hybrid768, classical}
    messages = {f.asset_id: f.message for f in findings if f.rule_id == "cnsa.tls.key-exchange"}
    assert messages[hybrid768].endswith("it offers only X25519MLKEM768")
    assert "future quantum computer" in messages[classical]


def test_every_sample_day_is_a_date() -> None:
    # guard for the helpers: a day string must parse (a typo would silently mean "now")
    assert dt.date.fromisoformat("2031-01-01")


def test_untrusted_root_follows_every_path_of_a_cross_signed_intermediate(tmp_path: Path) -> None:
    trusted_key, trusted = _root("Trusted Root")
    _, second_anchor = _root("Second Root")
    rogue_key, rogue = _root("Rogue Root")
    inter_key = pki.ec_key()
    via_trusted = pki.certificate(
        inter_key, "Intermediate", ca=True, issuer_key=trusted_key, issuer_name="Trusted Root"
    )
    via_rogue = pki.certificate(inter_key, "Intermediate", ca=True, issuer_key=rogue_key, issuer_name="Rogue Root")
    leaf = pki.certificate(pki.ec_key(), "leaf.example", issuer_key=inter_key, issuer_name="Intermediate")
    pki.write(tmp_path / "ca-bundle.pem", pki.pem(trusted) + pki.pem(second_anchor), 0o644)
    for name, cert in (("rogue.pem", rogue), ("i1.pem", via_trusted), ("i2.pem", via_rogue), ("leaf.pem", leaf)):
        write_cert(tmp_path, name, cert)
    assert failing(scan([tmp_path], ["cms-km-handbook"]), "cms.cert.untrusted-root") == set()
    (tmp_path / "i1.pem").unlink()
    assert failing(scan([tmp_path], ["cms-km-handbook"]), "cms.cert.untrusted-root") == {cert_id(leaf)}


# -- nist-sp800-57 --------------------------------------------------------------------------------
# PKCS#11 attributes as the collector records them (tests/collectors/pkcs11 scans a real SoftHSM2 token).
def _hsm_key(graph: InventoryGraph, label: str, **props: object) -> str:
    return symmetric_key(graph, label, "AES", 256, in_hsm=True, symmetric=True, **props)


@sample("sp800-57.hsm.key-exportable")
def test_hsm_key_exportable() -> None:
    graph = InventoryGraph()
    extractable = _hsm_key(graph, "extractable", sensitive=True, extractable=True)
    readable = _hsm_key(graph, "not-sensitive", sensitive=False, extractable=False)
    _hsm_key(graph, "locked-in", sensitive=True, extractable=False)
    findings = evaluate(graph, ["nist-sp800-57"])
    assert failing(findings, "sp800-57.hsm.key-exportable") == {extractable, readable}


@sample("sp800-57.key.single-purpose")
def test_single_purpose() -> None:
    graph = InventoryGraph()
    both = _hsm_key(graph, "wrap-and-encrypt", usage=["wrap", "unwrap", "encrypt", "decrypt"])
    _hsm_key(graph, "wrap-only", usage=["wrap", "unwrap"])
    findings = evaluate(graph, ["nist-sp800-57"])
    assert failing(findings, "sp800-57.key.single-purpose") == {both}


@sample("sp800-57.key.past-end-date")
def test_past_end_date() -> None:
    graph = InventoryGraph()
    ended = _hsm_key(graph, "ended", end_date="2025-06-30", usage=["encrypt"])
    _hsm_key(graph, "current", end_date="2027-06-30", usage=["encrypt"])
    _hsm_key(graph, "refused", end_date="unreadable", usage=["encrypt"])
    assert failing(evaluate(graph, ["nist-sp800-57"], day="2026-12-01"), "sp800-57.key.past-end-date") == {ended}
    assert failing(evaluate(graph, ["nist-sp800-57"], day="2025-01-01"), "sp800-57.key.past-end-date") == set()


@sample("sp800-57.key.cryptoperiod-exceeded")
def test_cryptoperiod_exceeded() -> None:
    graph = InventoryGraph()
    old = _hsm_key(graph, "old-dek", start_date="2022-01-01", usage=["encrypt", "decrypt"])
    _hsm_key(graph, "new-dek", start_date="2026-01-01", usage=["encrypt", "decrypt"])
    findings = evaluate(graph, ["nist-sp800-57"], day="2026-12-01")
    assert failing(findings, "sp800-57.key.cryptoperiod-exceeded") == {old}


@sample("sp800-57.hsm.weak-mechanisms")
def test_weak_mechanisms() -> None:
    graph = InventoryGraph()
    for serial, mechanisms in {"weak": {"CKM_DES3_CBC": ["encrypt"]}, "strong": {"CKM_AES_GCM": ["encrypt"]}}.items():
        graph.add_asset(
            Asset(
                f"pkcs11:{serial}",
                AssetType.HSM_TOKEN,
                freeze(
                    {
                        "label": serial,
                        "serial": serial,
                        "mechanisms": list(mechanisms),
                        "mechanism_functions": mechanisms,
                    }
                ),
            )
        )
    assert failing(evaluate(graph, ["nist-sp800-57"]), "sp800-57.hsm.weak-mechanisms") == {"pkcs11:weak"}


# -- nist-sp800-52r2 ------------------------------------------------------------------------------
# Endpoints as the TLS collector records them (scanner/collectors/tls/sslyze_scan.py and
# collector.py; tests/collectors/tls scans real servers), presenting real certificates turned into
# graph nodes by certificate_observations, as the collector does.
ECDHE = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"


@pytest.fixture(scope="module")
def issuer() -> ec.EllipticCurvePrivateKey:
    return pki.ec_key()


def tls_endpoint(
    graph: InventoryGraph,
    host: str,
    issuer: ec.EllipticCurvePrivateKey,
    *,
    leaf: x509.Certificate | None = None,
    **changes: object,
) -> str:
    """A TLS 1.2 + 1.3 endpoint that passes every rule of the pack, with ``changes`` applied."""
    asset_id = f"tls:{host}:443"
    cert = leaf or pki.certificate(pki.ec_key(), host, issuer_key=issuer, issuer_name="Sample CA", san=[host])
    observations, _ = certificate_observations(cert, Location("tls", asset_id, "chain position 0"))
    for observation in observations:
        graph.add(observation)
    leaf_id = cert_id(cert)
    graph.add_relation(Relation(asset_id, leaf_id, RelationType.PRESENTS))
    props: dict[str, object] = {
        **TLS_PASS_PROPERTIES,
        "host": host,
        "port": 443,
        "certificate_chains": [[leaf_id]],
        "leaf_certificates": [leaf_id],
        **changes,
    }
    graph.add_asset(Asset(asset_id, AssetType.TLS_ENDPOINT, freeze(props), (Location("tls", asset_id),)))
    return asset_id


def tls_findings(graph: InventoryGraph, day: str | None = None) -> list[Finding]:
    return evaluate(graph, ["nist-sp800-52r2"], day)


def test_tls_pass_endpoint_has_no_finding(issuer: ec.EllipticCurvePrivateKey) -> None:
    graph = InventoryGraph()
    tls_endpoint(graph, "pass.example", issuer)
    assert [f.rule_id for f in tls_findings(graph)] == []


@sample("sp800-52r2.protocol.deprecated-version")
def test_tls_deprecated_version(issuer: ec.EllipticCurvePrivateKey) -> None:
    graph = InventoryGraph()
    tls10 = tls_endpoint(graph, "tls10.example", issuer, protocols=["TLSv1.0", "TLSv1.2", "TLSv1.3"])
    ssl3 = tls_endpoint(graph, "ssl3.example", issuer, protocols=["SSLv3", "TLSv1.2", "TLSv1.3"])
    tls_endpoint(graph, "pass.example", issuer)
    findings = tls_findings(graph)
    assert failing(findings, "sp800-52r2.protocol.deprecated-version") == {tls10, ssl3}
    severity = {f.asset_id: f.severity.value for f in findings if f.rule_id == "sp800-52r2.protocol.deprecated-version"}
    assert severity == {tls10: "high", ssl3: "critical"}


DHE = "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"
# a chain verdict as the TLS collector writes it (scanner/collectors/tls/chain.py)
CHAIN_OK: dict[str, object] = {
    "presented": ["CN=leaf", "CN=Sample CA"],
    "valid_order": True,
    "status": "trusted",
    "trusted_by": "system",
    "path": ["CN=leaf", "CN=Sample CA"],
    "path_ids": ["cert:sha256:00", "cert:sha256:01"],
    "path_sent": [True, True],
    "missing_issuer": None,
}
ONLY_RSA_KT = ["TLS_RSA_WITH_AES_128_GCM_SHA256"]
# rule -> endpoints (host, properties changed from the passing endpoint, fails the rule?); every
# test adds the passing endpoint itself, which fails nothing
TLS_CASES: dict[str, list[tuple[str, dict[str, object], bool]]] = {
    "sp800-52r2.protocol.tls13-missing": [
        ("tls12.example", {"protocols": ["TLSv1.2"]}, True),
        ("unscanned.example", {"protocols": [], "cipher_suites": []}, False),  # the suite scans failed
    ],
    "sp800-52r2.cipher.prohibited": [
        ("rc4.example", {"cipher_suites": [ECDHE, "TLS_RSA_WITH_RC4_128_SHA"]}, True),
        ("anon.example", {"cipher_suites": [ECDHE, "TLS_DH_anon_WITH_AES_128_CBC_SHA"]}, True),
        ("3des.example", {"cipher_suites": [ECDHE, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"]}, False),
    ],
    "sp800-52r2.cipher.3des": [
        ("rc4.example", {"cipher_suites": [ECDHE, "TLS_RSA_WITH_RC4_128_SHA"]}, False),
        ("3des.example", {"cipher_suites": [ECDHE, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"]}, True),
    ],
    "sp800-52r2.kex.rsa-key-transport": [
        ("rsa.example", {"cipher_suites": [ECDHE, *ONLY_RSA_KT]}, True),
        ("dhe.example", {"cipher_suites": [ECDHE, DHE]}, False),
    ],
    "sp800-52r2.kex.no-forward-secrecy": [
        ("none.example", {"protocols": ["TLSv1.2"], "cipher_suites": ONLY_RSA_KT}, True),
        # RSA key transport beside ECDHE: forward secrecy for the clients that choose it
        ("mixed.example", {"cipher_suites": [ECDHE, *ONLY_RSA_KT]}, False),
    ],
    "sp800-52r2.kex.weak-group": [
        (
            "dh1024.example",
            {"cipher_suites": [ECDHE, DHE], "ephemeral_keys": {DHE: {"type": "DH", "bits": 1024}}},
            True,
        ),
        ("p192.example", {"key_exchange_groups": ["X25519MLKEM768", "secp192r1"]}, True),
        (
            "dh2048.example",
            {"cipher_suites": [ECDHE, DHE], "ephemeral_keys": {DHE: {"type": "DH", "bits": 2048}}},
            False,
        ),
    ],
    "sp800-52r2.revocation.no-ocsp-stapling": [
        ("nostaple.example", {"ocsp_stapling": False}, True),
        ("unknown.example", {"ocsp_stapling": None}, False),  # the certificate scan failed
    ],
    "sp800-52r2.http.hsts-missing": [
        ("nohsts.example", {"hsts": None}, True),
        ("short.example", {"hsts": {"max_age": 300, "include_subdomains": False, "preload": False}}, True),
        ("smtp.example", {"hsts": None, "speaks_http": False}, False),  # not HTTP: no header to send
    ],
    "sp800-52r2.protocol.compression": [("crime.example", {"compression": True}, True)],
    "sp800-52r2.protocol.insecure-renegotiation": [
        ("reneg.example", {"secure_renegotiation": False}, True),
        ("dos.example", {"client_renegotiation_dos": True}, True),
    ],
    "sp800-52r2.vuln.heartbleed": [("bleed.example", {"heartbleed": True}, True)],
    "sp800-52r2.protocol.no-extended-master-secret": [
        ("noems.example", {"extended_master_secret": False}, True),
        ("tls13only.example", {"protocols": ["TLSv1.3"], "extended_master_secret": False}, False),
    ],
    "sp800-52r2.protocol.no-fallback-scsv": [
        ("noscsv.example", {"fallback_scsv": False}, True),
        ("oneversion.example", {"protocols": ["TLSv1.3"], "fallback_scsv": False}, False),
    ],
    "sp800-52r2.signature.sha1-handshake": [
        ("sha1.example", {"signature_algorithms": {"TLSv1.2": ["rsa_pss_rsae_sha256", "rsa_pkcs1_sha1"]}}, True),
        ("sha256.example", {"signature_algorithms": {"TLSv1.2": ["rsa_pkcs1_sha256"]}}, False),
    ],
    "sp800-52r2.cert.chain-incomplete": [
        ("incomplete.example", {"chain_validation": [{**CHAIN_OK, "status": "incomplete"}]}, True),
        ("trusted.example", {"chain_validation": [CHAIN_OK]}, False),
    ],
    "sp800-52r2.cert.untrusted-root": [
        ("private.example", {"chain_validation": [{**CHAIN_OK, "status": "untrusted-root"}]}, True),
        ("selfsigned.example", {"chain_validation": [{**CHAIN_OK, "status": "self-signed"}]}, False),
    ],
    "sp800-52r2.cert.chain-order": [
        ("disorder.example", {"chain_validation": [{**CHAIN_OK, "valid_order": False}]}, True),
        ("trusted.example", {"chain_validation": [CHAIN_OK]}, False),
    ],
}
for _rule_id in TLS_CASES:
    sample(_rule_id)


@pytest.mark.parametrize("rule_id", sorted(TLS_CASES))
def test_tls_rule_on_endpoint_samples(rule_id: str, issuer: ec.EllipticCurvePrivateKey) -> None:
    graph = InventoryGraph()
    tls_endpoint(graph, "pass.example", issuer)
    expected = set()
    for host, changes, fails in TLS_CASES[rule_id]:
        asset_id = tls_endpoint(graph, host, issuer, **changes)
        if fails:
            expected.add(asset_id)
    assert failing(tls_findings(graph), rule_id) == expected


@sample("sp800-52r2.cert.self-signed-leaf")
def test_tls_self_signed_leaf(issuer: ec.EllipticCurvePrivateKey) -> None:
    graph = InventoryGraph()
    own = pki.certificate(pki.ec_key(), "self.example", san=["self.example"])
    self_signed = tls_endpoint(graph, "self.example", issuer, leaf=own)
    tls_endpoint(graph, "pass.example", issuer)
    assert failing(tls_findings(graph), "sp800-52r2.cert.self-signed-leaf") == {self_signed}


@sample("sp800-52r2.cert.hostname-mismatch")
def test_tls_hostname_mismatch(issuer: ec.EllipticCurvePrivateKey) -> None:
    graph = InventoryGraph()
    other = pki.certificate(
        pki.ec_key(), "other.example", issuer_key=issuer, issuer_name="Sample CA", san=["other.example"]
    )
    wildcard = pki.certificate(pki.ec_key(), "w", issuer_key=issuer, issuer_name="Sample CA", san=["*.example"])
    mismatch = tls_endpoint(graph, "www.example", issuer, leaf=other)
    tls_endpoint(graph, "api.example", issuer, leaf=wildcard)
    tls_endpoint(graph, "pass.example", issuer)
    assert failing(tls_findings(graph), "sp800-52r2.cert.hostname-mismatch") == {mismatch}


@sample("sp800-52r2.cert.expired-intermediate")
def test_tls_expired_intermediate(issuer: ec.EllipticCurvePrivateKey) -> None:
    graph = InventoryGraph()
    root_key, old_key, new_key = pki.ec_key(), pki.ec_key(), pki.ec_key()
    root = pki.certificate(root_key, "Sample Root", days=3650, ca=True)
    expired = pki.certificate(
        old_key, "Old CA", issuer_key=root_key, issuer_name="Sample Root", ca=True,
        not_before=NOW - 400 * DAY, days=365,
    )  # fmt: skip
    current = pki.certificate(new_key, "New CA", issuer_key=root_key, issuer_name="Sample Root", ca=True, days=365)
    hosts = {}
    for host, ca, ca_key in (("old.example", expired, old_key), ("new.example", current, new_key)):
        leaf = pki.certificate(
            pki.ec_key(), host, issuer_key=ca_key, issuer_name=ca.subject.rfc4514_string()[3:], san=[host]
        )
        for cert in (ca, root):
            for observation in certificate_observations(cert, Location("tls", f"tls:{host}:443", "chain"))[0]:
                graph.add(observation)
        chain = [cert_id(leaf), cert_id(ca), cert_id(root)]
        hosts[host] = tls_endpoint(graph, host, issuer, leaf=leaf, certificate_chains=[chain])
    assert failing(tls_findings(graph), "sp800-52r2.cert.expired-intermediate") == {hosts["old.example"]}
    (finding,) = [f for f in tls_findings(graph) if f.rule_id == "sp800-52r2.cert.expired-intermediate"]
    assert finding.evidence["certificate"] == cert_id(expired)
    assert "CN=Old CA" in finding.message and "CN=Sample Root" in finding.message


@sample("sp800-52r2.vuln.robot")
def test_tls_robot(issuer: ec.EllipticCurvePrivateKey) -> None:
    graph = InventoryGraph()
    strong = tls_endpoint(graph, "strong.example", issuer, robot="VULNERABLE_STRONG_ORACLE")
    weak = tls_endpoint(graph, "weak.example", issuer, robot="VULNERABLE_WEAK_ORACLE")
    tls_endpoint(graph, "norsa.example", issuer, robot="NOT_VULNERABLE_RSA_NOT_SUPPORTED")
    tls_endpoint(graph, "pass.example", issuer)
    findings = tls_findings(graph)
    assert failing(findings, "sp800-52r2.vuln.robot") == {strong, weak}
    severity = {f.asset_id: f.severity.value for f in findings if f.rule_id == "sp800-52r2.vuln.robot"}
    assert severity == {strong: "high", weak: "medium"}


@sample("sp800-52r2.pqc.no-hybrid-key-exchange")
def test_tls_no_post_quantum_key_exchange(issuer: ec.EllipticCurvePrivateKey) -> None:
    graph = InventoryGraph()
    classical = ["x25519", "secp256r1"]
    refused = tls_endpoint(graph, "classical.example", issuer, key_exchange_groups=classical, pq_key_exchange=False)
    # no TLS 1.3 handshake: the probe did not run, and the collector records "none accepted"
    tls12 = tls_endpoint(
        graph,
        "tls12.example",
        issuer,
        protocols=["TLSv1.2"],
        key_exchange_groups=classical,
        pq_key_exchange=False,
        pq_groups_probed=[],
    )
    tls_endpoint(graph, "failed.example", issuer, key_exchange_groups=classical, pq_key_exchange=None)
    tls_endpoint(graph, "unscanned.example", issuer, protocols=[], key_exchange_groups=[], pq_key_exchange=False)
    tls_endpoint(graph, "pass.example", issuer)
    findings = tls_findings(graph, day="2026-12-01")
    assert failing(findings, "sp800-52r2.pqc.no-hybrid-key-exchange") == {refused, tls12}
    messages = {f.asset_id: f.message for f in findings if f.rule_id == "sp800-52r2.pqc.no-hybrid-key-exchange"}
    assert "accepts none of X25519MLKEM768, SecP256r1MLKEM768" in messages[refused]
    assert "does not support TLS 1.3" in messages[tls12]
    dated = {
        day: {
            f.severity.value for f in tls_findings(graph, day) if f.rule_id == "sp800-52r2.pqc.no-hybrid-key-exchange"
        }
        for day in ("2026-12-01", "2031-01-01", "2036-01-01")
    }
    assert dated == {"2026-12-01": {"info"}, "2031-01-01": {"medium"}, "2036-01-01": {"high"}}


# -- server-config --------------------------------------------------------------------------------
# The committed samples (sample-targets/configs: one good and one weak file per kind), copied with
# the keys and DH parameters they name by the part's own start.sh, and swept by the file collector.


@pytest.fixture(scope="module")
def config_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return samples.start("configs", tmp_path_factory.mktemp("config-samples"))


@pytest.fixture(scope="module")
def config_scan(config_samples: Path) -> ScanResult:
    result = scan([config_samples / "good", config_samples / "weak"], ["server-config"])
    assert result.errors == ()
    return result


# rule -> the weak samples that fail it; every good sample passes every rule (the good nginx names
# RFC 7919 ffdhe2048 and staples OCSP, the good openssl.cnf reaches FIPS mode through its .include
# of fipsmodule.cnf, the good sshd_config puts mlkem768x25519-sha256 first in KexAlgorithms)
CONFIG_FAILING = {
    "server.tls.protocol-below-1.2": [
        ("nginx", "nginx.conf"),
        ("apache", "apache-ssl.conf"),
        ("openssl", "openssl.cnf"),
        ("java-security", "java.security"),
    ],
    "server.tls.weak-ciphers": [("nginx", "nginx.conf"), ("apache", "apache-ssl.conf")],
    "server.tls.dh-params-small": [("nginx", "nginx.conf")],  # the 1536-bit MODP group
    "server.tls.no-ocsp-stapling": [("nginx", "nginx.conf"), ("apache", "apache-ssl.conf")],
    "server.tls.no-hsts": [("nginx", "nginx.conf"), ("apache", "apache-ssl.conf")],
    "server.openssl.not-fips": [("openssl", "openssl.cnf")],
    "server.ssh.weak-cipher": [("sshd", "sshd_config")],
    "server.ssh.weak-mac": [("sshd", "sshd_config")],
    "server.ssh.weak-kex": [("sshd", "sshd_config")],
    "server.ssh.no-pq-kex": [("sshd", "sshd_config")],
}
for _rule_id in CONFIG_FAILING:
    sample(_rule_id)


@pytest.mark.parametrize("rule_id", sorted(CONFIG_FAILING))
def test_config_rule_on_the_committed_samples(rule_id: str, config_samples: Path, config_scan: ScanResult) -> None:
    weak = config_samples / "weak"
    expected = {f"config:{kind}:{weak / name}" for kind, name in CONFIG_FAILING[rule_id]}
    assert failing(config_scan, rule_id) == expected


@sample("server.ssh.weak-host-key-algorithm")
def test_config_ssh_weak_host_key_algorithm(tmp_path: Path) -> None:
    # neither committed sample sets a SHA-1 or DSA host-key algorithm: two files of our own
    (tmp_path / "fail").mkdir()
    (tmp_path / "pass").mkdir()
    (tmp_path / "fail" / "sshd_config").write_text(
        "HostKeyAlgorithms ssh-ed25519,ssh-rsa\nPubkeyAcceptedAlgorithms ssh-dss\n"
    )
    (tmp_path / "pass" / "sshd_config").write_text("HostKeyAlgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256\n")
    result = scan([tmp_path], ["server-config"])
    assert result.errors == ()
    assert failing(result, "server.ssh.weak-host-key-algorithm") == {f"config:sshd:{tmp_path / 'fail' / 'sshd_config'}"}
    settings = {f.evidence["setting"] for f in result.findings if f.rule_id == "server.ssh.weak-host-key-algorithm"}
    assert settings == {"host_key_algorithms", "pubkey_accepted_algorithms"}


@sample("server.secret.plaintext")
def test_config_plaintext_secret(config_samples: Path, config_scan: ScanResult) -> None:
    weak_env = str(config_samples / "weak" / "app.env")
    secrets = {a.id: a for a in config_scan.assets if a.type is AssetType.SECRET}
    assert {a.properties["path"] for a in secrets.values()} == {weak_env}  # the good app.env reads a vault
    assert len(secrets) == 3
    assert failing(config_scan, "server.secret.plaintext") == set(secrets)


# -- the default selection -----------------------------------------------------------------------
def test_default_scan_runs_the_config_rules_under_the_handbook(config_samples: Path, config_scan: ScanResult) -> None:
    default = scan([config_samples / "good", config_samples / "weak"], [])
    by_rule = {(f.rule_id, f.asset_id) for f in default.findings if not f.rule_id.startswith("cms.")}
    # every server-config finding, and the Java FIPS-mode rule the handbook maps from fips-140-3
    java = f"config:java-security:{config_samples / 'weak' / 'java.security'}"
    assert by_rule == {(f.rule_id, f.asset_id) for f in config_scan.findings} | {("fips.java.no-fips-provider", java)}
    assert {f.policies for f in default.findings} == {("cms-km-handbook",)}
    secret = next(f for f in default.findings if f.rule_id == "server.secret.plaintext")
    assert secret.requirements == ("cms-km-handbook:ST-NO-PLAINTEXT",)


@sample("fips.java.no-fips-provider")
def test_java_fips_provider(config_samples: Path) -> None:
    # the good java.security puts SunPKCS11 over the NSS FIPS token first; the weak one has the stock list
    result = scan([config_samples / "good", config_samples / "weak"], ["fips-140-3"])
    weak = f"config:java-security:{config_samples / 'weak' / 'java.security'}"
    assert failing(result, "fips.java.no-fips-provider") == {weak}
    assert failing(result, "server.openssl.not-fips") == {f"config:openssl:{config_samples / 'weak' / 'openssl.cnf'}"}


@sample("cnsa.ssh.key-exchange")
def test_cnsa_ssh_key_exchange(tmp_path: Path) -> None:
    lists = {
        "mlkem1024": "mlkem1024nistp384-sha384,mlkem768x25519-sha256",
        "mlkem768": "mlkem768x25519-sha256,sntrup761x25519-sha512@openssh.com,curve25519-sha256",
        "classical": "curve25519-sha256,ecdh-sha2-nistp384",
        # edits the installed OpenSSH's built-in list: judged as the effective list, which lacks mlkem1024
        "appended": "+mlkem768x25519-sha256",
    }
    for name, kex in lists.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "sshd_config").write_text(f"KexAlgorithms {kex}\n")
    result = scan([tmp_path], ["cnsa-2.0"], day="2027-06-01")
    assert result.errors == ()
    config = {name: f"config:sshd:{tmp_path / name / 'sshd_config'}" for name in lists}
    assert failing(result, "cnsa.ssh.key-exchange") == {config["mlkem768"], config["classical"], config["appended"]}
    severity = {f.severity.value for f in result.findings if f.rule_id == "cnsa.ssh.key-exchange"}
    assert severity == {"medium"}  # past the 2027 acquisition gate
    # the pqc-readiness rule accepts any post-quantum method
    assert failing(scan([tmp_path], ["pqc-readiness"]), "server.ssh.no-pq-kex") == {config["classical"]}


# -- mozilla-tls ----------------------------------------------------------------------------------
# The profile is sslyze's shipped JSON, read by the check: these samples follow what it says.
MOZILLA_INTERMEDIATE_SUITES = ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"]


def mozilla_endpoint(graph: InventoryGraph, host: str, issuer: ec.EllipticCurvePrivateKey, **changes: object) -> str:
    """An ECDSA P-256 endpoint with 90-day certificates: within both Mozilla profiles, except ``changes``."""
    props: dict[str, object] = {
        "protocols": ["TLSv1.3"],
        "cipher_suites": ["TLS_AES_128_GCM_SHA256"],
        "cipher_suites_by_protocol": {"TLSv1.3": ["TLS_AES_128_GCM_SHA256"]},
        "key_exchange_groups": ["X25519MLKEM768", "x25519", "secp256r1"],
        **changes,
    }
    return tls_endpoint(graph, host, issuer, **props)


@sample("mozilla.tls.intermediate")
@sample("mozilla.tls.modern")
def test_mozilla_profiles(issuer: ec.EllipticCurvePrivateKey) -> None:
    from scanner.engine.checks_builtin.mozilla import load_profiles

    profile = load_profiles()
    assert profile["configurations"]["modern"]["tls_versions"] == ["TLSv1.3"]  # the data, not a copy
    graph = InventoryGraph()
    modern = mozilla_endpoint(graph, "modern.example", issuer)
    tls12 = mozilla_endpoint(
        graph,
        "tls12.example",
        issuer,
        protocols=["TLSv1.2", "TLSv1.3"],
        cipher_suites=MOZILLA_INTERMEDIATE_SUITES,
        cipher_suites_by_protocol={
            "TLSv1.2": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
            "TLSv1.3": ["TLS_AES_128_GCM_SHA256"],
        },
    )
    cbc = mozilla_endpoint(
        graph,
        "cbc.example",
        issuer,
        protocols=["TLSv1.2", "TLSv1.3"],
        cipher_suites_by_protocol={
            "TLSv1.2": ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"],
            "TLSv1.3": ["TLS_AES_128_GCM_SHA256"],
        },
    )
    p521 = mozilla_endpoint(graph, "p521.example", issuer, key_exchange_groups=["x25519", "secp521r1"])
    noems = mozilla_endpoint(graph, "noems.example", issuer, extended_master_secret=False)
    findings = evaluate(graph, ["mozilla-tls"])
    assert failing(findings, "mozilla.tls.intermediate") == {cbc, p521, noems}
    assert failing(findings, "mozilla.tls.modern") == {tls12, cbc, p521, noems}
    assert modern not in failing(findings, "mozilla.tls.modern")
    cbc_finding = next(f for f in findings if f.asset_id == cbc and f.rule_id == "mozilla.tls.intermediate")
    assert cbc_finding.evidence["requirement"] == "ciphers"
    assert cbc_finding.evidence["profile_version"] == profile["version"]


# -- fleet ----------------------------------------------------------------------------------------
# Each scope's scan is a real scan of its own files, stored and merged by the fleet view as
# `keysweep fleet report` does; TLS endpoints (no collector on this branch's samples) are added to
# a scope's report as the TLS collector records them.
def _fleet(
    tmp_path: Path, scopes: dict[str, list[Path]], endpoints: dict[str, list[tuple[str, str]]] | None = None
) -> list[Finding]:
    import json

    from scanner.collectors.base import Target
    from scanner.fleet.view import build_graph, scope_states
    from scanner.reporting.json_report import JsonReporter
    from scanner.scan import ScanRequest, run_scan
    from scanner.store.backends import open_store

    with open_store(tmp_path / "fleet.sqlite3") as store:
        for scope, paths in scopes.items():
            request = ScanRequest(targets=tuple(Target("path", str(p)) for p in paths), packs=(), scope=scope)
            report = json.loads(JsonReporter().render(run_scan(request)))
            for host, cert in (endpoints or {}).get(scope, []):
                report["assets"].append(
                    {
                        "id": f"tls:{host}:443",
                        "type": "tls-endpoint",
                        "properties": {"host": host, "port": 443},
                        "locations": [{"kind": "tls", "ref": f"tls:{host}:443"}],
                    }
                )
                report["relations"].append({"source": f"tls:{host}:443", "target": cert, "type": "presents"})
            store.save(json.dumps(report).encode())
        graph, errors = build_graph(store, scope_states(store))
    assert errors == []
    return evaluate(graph, ["fleet"])


@sample("fleet.key.private-key-on-several-hosts")
def test_fleet_private_key_copied(tmp_path: Path) -> None:
    copied, own = pki.ec_key(), pki.ec_key()
    pki.write(tmp_path / "a" / "server.key", pki.key_pem(copied))
    pki.write(tmp_path / "b" / "server.key", pki.key_pem(copied))
    pki.write(tmp_path / "b" / "own.key", pki.key_pem(own))
    # only the certificate of `own` on c: a public copy is no copied private key
    write_cert(tmp_path / "c", "own.crt", pki.certificate(own, "own.example"))
    findings = _fleet(tmp_path, {s: [tmp_path / s] for s in "abc"})
    assert failing(findings, "fleet.key.private-key-on-several-hosts") == {key_id(copied.public_key())}


@sample("fleet.certificate.several-scopes")
def test_fleet_certificate_on_several_scopes(tmp_path: Path) -> None:
    shared = pki.certificate(pki.ec_key(), "shared.example")
    single = pki.certificate(pki.ec_key(), "single.example")
    for scope in "ab":
        write_cert(tmp_path / scope, "shared.crt", shared)
    write_cert(tmp_path / "a", "single.crt", single)
    endpoints = {
        "a": [("a.example", cert_id(shared)), ("a2.example", cert_id(single))],
        "b": [("b.example", cert_id(shared))],
    }
    findings = _fleet(tmp_path, {s: [tmp_path / s] for s in "ab"}, endpoints)
    assert failing(findings, "fleet.certificate.several-scopes") == {cert_id(shared)}


@sample("fleet.trust.inconsistent-anchor")
def test_fleet_trust_anchor_inconsistent(tmp_path: Path) -> None:
    roots = {name: pki.certificate(pki.ec_key(), f"Root {name}", ca=True) for name in "XYZ"}
    for scope, names in (("a", "XY"), ("b", "XZ")):
        pki.write(tmp_path / scope / "ca-bundle.crt", b"".join(pki.pem(roots[n]) for n in names))
    findings = _fleet(tmp_path, {s: [tmp_path / s] for s in "ab"})
    assert failing(findings, "fleet.trust.inconsistent-anchor") == {cert_id(roots["Y"]), cert_id(roots["Z"])}


# -- live SSH endpoints (the collector's property names; real servers in tests/collectors/ssh) ---------
def ssh_endpoint(graph: InventoryGraph, name: str, **props: object) -> str:
    base: dict[str, object] = {
        "host": name,
        "port": 22,
        "protocol_version": "2.0",
        "software": "OpenSSH_9.8p1",
        "software_comments": "",
        "kex": ["mlkem768x25519-sha256", "curve25519-sha256"],
        "ciphers": ["aes256-gcm@openssh.com", "aes128-ctr"],
        "macs": ["hmac-sha2-256-etm@openssh.com"],
        "host_key_algorithms": ["ssh-ed25519"],
        "strict_kex": True,
    }
    asset_id = f"ssh:{name}:22"
    graph.add_asset(Asset(asset_id, AssetType.SSH_ENDPOINT, freeze({**base, **props})))
    return asset_id


@sample("server.ssh.protocol-1")
def test_ssh_protocol_1() -> None:
    graph = InventoryGraph()
    ssh_endpoint(graph, "pass.example")
    fail = ssh_endpoint(graph, "fail.example", protocol_version="1.99")
    assert failing(evaluate(graph, ["server-config"]), "server.ssh.protocol-1") == {fail}


@sample("server.ssh.terrapin")
def test_ssh_terrapin() -> None:
    graph = InventoryGraph()
    ssh_endpoint(graph, "pass-strict.example", ciphers=["chacha20-poly1305@openssh.com"])
    ssh_endpoint(graph, "pass-gcm.example", strict_kex=False)
    chacha = ssh_endpoint(graph, "fail-chacha.example", ciphers=["chacha20-poly1305@openssh.com"], strict_kex=False)
    cbc = ssh_endpoint(
        graph, "fail-cbc.example", ciphers=["aes128-cbc"], macs=["hmac-sha2-256-etm@openssh.com"], strict_kex=False
    )
    assert failing(evaluate(graph, ["server-config"]), "server.ssh.terrapin") == {chacha, cbc}


@sample("server.ssh.software-version")
def test_ssh_software_version() -> None:
    graph = InventoryGraph()
    ssh_endpoint(graph, "pass.example")
    upstream = ssh_endpoint(graph, "fail-upstream.example", software="OpenSSH_9.2p1")
    debian = ssh_endpoint(graph, "fail-debian.example", software="OpenSSH_9.2p1", software_comments="Debian-2+deb12u3")
    findings = [f for f in evaluate(graph, ["server-config"]) if f.rule_id == "server.ssh.software-version"]
    assert {f.asset_id for f in findings} == {upstream, debian}
    severity = {f.asset_id: f.severity.value for f in findings}
    # a distribution build may carry the fix under the upstream number: to verify, not a verdict
    assert severity == {upstream: "high", debian: "info"}
    assert all(f.evidence["cve"] == "CVE-2024-6387" for f in findings)


@sample("server.ssh.config-differs-from-live")
def test_ssh_config_differs_from_live(tmp_path: Path) -> None:
    # the graph a scan of an sshd_config and of the two live servers that present its host key builds
    key = pki.ec_key()
    pki.write(tmp_path / "ssh_host_ecdsa_key", pki.key_pem(key))
    (tmp_path / "sshd_config").write_text(
        f"HostKey {tmp_path / 'ssh_host_ecdsa_key'}\nKexAlgorithms curve25519-sha256\nCiphers +aes128-cbc\n"
    )
    result = scan([tmp_path], ["server-config"])
    graph = InventoryGraph()
    graph.add_all([*result.assets, *result.relations])
    config = next(a for a in result.assets if a.type is AssetType.CONFIG)
    scope = next(c for c in config.properties["ssh_contexts"] if c["scope"] == "global")
    # a server running this config offers its effective lists (OpenSSH's defaults with the edits applied)
    effective = {prop: list(scope[prop]["names"]) for prop in ("kex", "ciphers", "macs")}
    matching = ssh_endpoint(graph, "pass.example", **effective, host_key_algorithms=["ecdsa-sha2-nistp256"])
    drifted = ssh_endpoint(
        graph,
        "fail.example",
        kex=["curve25519-sha256", "ecdh-sha2-nistp256"],
        ciphers=[c for c in effective["ciphers"] if c != "aes128-cbc"],
        macs=effective["macs"],
        host_key_algorithms=["ecdsa-sha2-nistp256"],
    )
    for endpoint_id in (matching, drifted):
        graph.add_relation(Relation(endpoint_id, key_id(key.public_key()), RelationType.PRESENTS))
    findings = [f for f in evaluate(graph, ["server-config"]) if f.rule_id == "server.ssh.config-differs-from-live"]
    assert {f.asset_id for f in findings} == {drifted}
    assert {f.evidence["setting"] for f in findings} == {"kex", "ciphers"}
    by_setting = {f.evidence["setting"]: f.evidence for f in findings}
    assert by_setting["kex"]["offered_not_configured"] == ["ecdh-sha2-nistp256"]
    assert by_setting["ciphers"]["configured_not_offered"] == ["aes128-cbc"]


@sample("server.ssh.dh-gex-small-modulus")
def test_ssh_dh_gex_small_modulus() -> None:
    graph = InventoryGraph()
    ssh_endpoint(graph, "pass-2048.example", gex_modulus_bits=2048)
    ssh_endpoint(graph, "pass-no-gex.example", gex_modulus_bits=None)
    fail = ssh_endpoint(graph, "fail.example", gex_modulus_bits=1024)
    assert failing(evaluate(graph, ["server-config"]), "server.ssh.dh-gex-small-modulus") == {fail}
