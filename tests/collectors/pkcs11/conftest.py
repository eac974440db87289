"""SoftHSM2 tokens made for the tests, in temporary directories (SOFTHSM2_CONF per token)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from tests.collectors.pkcs11.softhsm import SoftToken, init_token
from tests.support import pki


def new_pin() -> str:
    # letters outside hex and a marker, so that the PIN cannot turn up by chance in a digest
    return "PIN_" + secrets.token_urlsafe(12).replace("-", "x")


# the keys the issue names, with exactly the usage flags each should have
ISSUE_KEYS = [
    {
        "type": "rsa",
        "bits": 1024,
        "label": "rsa-1024",
        "id": "01",
        "private": {"SIGN": True},
        "public": {"VERIFY": True},
    },
    {
        "type": "aes",
        "bits": 128,
        "label": "aes-exportable",
        "id": "02",
        "attrs": {"ENCRYPT": True, "DECRYPT": True, "EXTRACTABLE": True, "SENSITIVE": False},
    },
    {
        "type": "rsa",
        "bits": 2048,
        "label": "rsa-sign-decrypt",
        "id": "03",
        "private": {"SIGN": True, "DECRYPT": True},
        "public": {"VERIFY": True, "ENCRYPT": True},
    },
    {
        "type": "ec",
        "curve": "secp256r1",
        "label": "p256-tls",
        "id": "04",
        "private": {"SIGN": True},
        "public": {"VERIFY": True},
    },
    {"type": "data", "label": "app-config", "application": "keysweep-test"},
]


@dataclass(frozen=True)
class IssueToken:
    token: SoftToken
    spki: dict[str, bytes]  # label -> DER SubjectPublicKeyInfo
    cert_dir: Path  # holds the P-256 key's certificate (and nothing else)


@pytest.fixture(scope="module")
def issue_token(tmp_path_factory: pytest.TempPathFactory) -> IssueToken:
    base = tmp_path_factory.mktemp("hsm")
    token = init_token(base / "softhsm", "keysweep-test", new_pin())
    made = token.run(ISSUE_KEYS)
    spki = {m["label"]: bytes.fromhex(m["spki"]) for m in made if "spki" in m}
    # the P-256 key's certificate, issued by a CA outside the token, sits in a file
    ca_key = pki.ec_key()
    public = serialization.load_der_public_key(spki["p256-tls"])
    cert = (
        x509.CertificateBuilder()
        .subject_name(pki.name("hsm.example.test"))
        .issuer_name(pki.name("Test CA"))
        .public_key(public)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(pki.NOW - pki.DAY)
        .not_valid_after(pki.NOW + 90 * pki.DAY)
        .sign(ca_key, hashes.SHA256())
    )
    cert_dir = base / "certs"
    cert_dir.mkdir()
    (cert_dir / "hsm.example.test.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return IssueToken(token, spki, cert_dir)


@pytest.fixture
def token_env(issue_token: IssueToken, monkeypatch: pytest.MonkeyPatch) -> Iterator[IssueToken]:
    monkeypatch.setenv("SOFTHSM2_CONF", str(issue_token.token.conf))
    yield issue_token
