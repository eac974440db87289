"""The knowledge base's figures against the documents they cite."""

from __future__ import annotations

import pytest

from scanner.inventory import knowledge


@pytest.mark.parametrize(
    ("algorithm", "size", "curve", "bits"),
    [
        ("RSA", 1024, None, 80),  # SP 800-57 Table 2
        ("RSA", 2048, None, 112),
        ("RSA", 3072, None, 128),
        ("RSA", 4096, None, 128),
        ("RSA", 7680, None, 192),
        ("RSA", 15360, None, 256),
        ("DH", 2048, None, 112),
        ("DSA", 1024, None, 80),
        ("EC", 256, "secp256r1", 128),
        ("EC", 256, "P-256", 128),
        ("EC", 256, "prime256v1", 128),
        ("EC", 384, "secp384r1", 192),
        ("EC", 521, "secp521r1", 256),
        ("EC", 224, "secp224r1", 112),
        ("EC", 192, "secp192r1", 80),
        ("Ed25519", None, None, 128),
        ("Ed448", None, None, 224),
        ("AES", 128, None, 128),
        ("AES", 256, None, 256),
        ("3DES", 192, None, 112),
        ("ML-DSA-65", None, None, 192),
        ("ML-KEM-1024", None, None, 256),
    ],
)
def test_security_strength(algorithm: str, size: int | None, curve: str | None, bits: int) -> None:
    assert knowledge.key_facts(algorithm, size, curve).security_bits == bits


def test_moduli_below_the_table_use_the_ig_estimate() -> None:
    assert knowledge.modulus_strength(512) in range(50, 64)
    assert knowledge.modulus_strength(768) in range(60, 80)
    assert knowledge.modulus_strength(512) < knowledge.modulus_strength(768) < knowledge.modulus_strength(1024)


@pytest.mark.parametrize(
    ("algorithm", "size", "curve", "approved"),
    [
        ("Ed25519", None, None, True),  # FIPS 186-5
        ("X25519", None, None, False),  # IG C.K: X25519 key agreement is not approved
        ("DSA", 2048, None, False),  # FIPS 186-5 removed DSA signature generation
        ("RSA", 2048, None, True),
        ("RSA", 1024, None, False),
        ("EC", 256, "secp256r1", True),
        ("EC", 256, "secp256k1", False),
        ("ML-DSA-65", None, None, True),
        ("3DES", 192, None, False),
    ],
)
def test_fips_approval(algorithm: str, size: int | None, curve: str | None, approved: bool) -> None:
    assert knowledge.key_facts(algorithm, size, curve).fips_approved is approved


def test_quantum_vulnerability() -> None:
    for name in ("RSA", "DSA", "DH", "Ed25519", "X25519"):
        assert knowledge.key_facts(name, 2048).quantum_vulnerable is True
    assert knowledge.key_facts("EC", 256, "secp256r1").quantum_vulnerable is True
    for name in ("ML-DSA-44", "ML-KEM-768", "SLH-DSA-SHA2-128s"):
        assert knowledge.key_facts(name).quantum_vulnerable is False
    assert knowledge.key_facts("AES", 128).quantum_vulnerable is False


def test_post_quantum_oids() -> None:
    assert knowledge.post_quantum_by_oid("2.16.840.1.101.3.4.3.18").name == "ML-DSA-65"  # type: ignore[union-attr]
    assert knowledge.post_quantum_by_oid("2.16.840.1.101.3.4.3.19").name == "ML-DSA-87"  # type: ignore[union-attr]
    assert knowledge.post_quantum_by_oid("2.16.840.1.101.3.4.4.3").name == "ML-KEM-1024"  # type: ignore[union-attr]
    assert knowledge.post_quantum_by_oid("2.16.840.1.101.3.4.3.20").name == "SLH-DSA-SHA2-128s"  # type: ignore[union-attr]
    assert knowledge.post_quantum_by_oid("2.16.840.1.101.3.4.3.31").name == "SLH-DSA-SHAKE-256f"  # type: ignore[union-attr]
    assert knowledge.post_quantum_by_oid("1.2.840.113549.1.1.1") is None


def test_hash_strengths_for_signatures() -> None:
    assert knowledge.hash_strength("sha1") == 80
    assert knowledge.hash_strength("md5") == 0
    assert knowledge.hash_strength("SHA-256") == 128
    assert knowledge.hash_strength("sha384") == 192


def test_unknown_algorithm_is_unknown_not_guessed() -> None:
    facts = knowledge.key_facts("GOST3410")
    assert (facts.security_bits, facts.quantum_vulnerable, facts.fips_approved) == (None, None, None)
