"""Bundle verification: every way a bundle can be wrong is rejected, with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanner.fleet.bundle import MAGIC, BundleError, Rejection, seal, verify
from scanner.fleet.keys import SigningKeyError, generate, key_id, load_signing_key, load_trusted_keys

REPORT = json.dumps({"scan": {"id": "s-1", "host": "h"}, "assets": []}).encode()


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _trusted(key: Ed25519PrivateKey) -> dict:  # type: ignore[type-arg]
    return {key_id(key.public_key()): key.public_key()}


def _reason(data: bytes, trusted: dict) -> Rejection:  # type: ignore[type-arg]
    with pytest.raises(BundleError) as caught:
        verify(data, trusted, "b")
    assert str(caught.value).startswith("bundle b rejected")
    return caught.value.reason


def test_a_sealed_bundle_verifies_to_the_exact_bytes(key: Ed25519PrivateKey) -> None:
    assert verify(seal(REPORT, key), _trusted(key), "b").report_json == REPORT


def test_every_single_byte_change_is_rejected(key: Ed25519PrivateKey) -> None:
    sealed = seal(REPORT, key)
    trusted = _trusted(key)
    for position in range(len(sealed)):
        altered = bytearray(sealed)
        altered[position] ^= 0x20
        with pytest.raises(BundleError):
            verify(bytes(altered), trusted, "b")


def test_rejections_are_named(key: Ed25519PrivateKey) -> None:
    sealed = seal(REPORT, key)
    trusted = _trusted(key)
    assert _reason(sealed[:-1], trusted) is Rejection.TRUNCATED
    assert _reason(sealed[:5], trusted) is Rejection.TRUNCATED
    assert _reason(sealed[: len(MAGIC) + 10], trusted) is Rejection.TRUNCATED
    assert _reason(sealed + b" ", trusted) is Rejection.MALFORMED
    assert _reason(b"PK\x03\x04 a zip file", trusted) is Rejection.MALFORMED
    assert _reason(MAGIC + b"{not json}\n" + REPORT, trusted) is Rejection.MALFORMED
    assert _reason(sealed, _trusted(Ed25519PrivateKey.generate())) is Rejection.UNKNOWN_SIGNER
    header = json.loads(sealed[len(MAGIC) : sealed.index(b"\n", len(MAGIC))])
    other = seal(b"[1]", key)  # a signed array: not a report
    assert _reason(other, trusted) is Rejection.NOT_A_REPORT
    forged = dict(header, signature=json.loads(other[len(MAGIC) : other.index(b"\n", len(MAGIC))])["signature"])
    assert _reason(MAGIC + json.dumps(forged).encode() + b"\n" + REPORT, trusted) is Rejection.BAD_SIGNATURE


def test_keys_files_and_permissions(tmp_path: Path) -> None:
    private = tmp_path / "host.key"
    public, ident = generate(private)
    assert private.stat().st_mode & 0o777 == 0o600
    assert key_id(load_signing_key(private).public_key()) == ident
    with pytest.raises(SigningKeyError, match="never overwrites"):
        generate(private)
    private.chmod(0o640)
    with pytest.raises(SigningKeyError, match="must be 0600"):
        load_signing_key(private)
    trusted_dir = tmp_path / "trusted"
    trusted_dir.mkdir()
    (trusted_dir / "host.pub").write_bytes(public.read_bytes())
    (trusted_dir / "notes.txt").write_text("not a key")
    trusted = load_trusted_keys(trusted_dir)
    assert list(trusted.keys) == [ident]
    assert len(trusted.problems) == 1 and "notes.txt" in trusted.problems[0]
