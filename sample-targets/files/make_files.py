"""Writes the demo's certificate and key files under the directory given as the only argument."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PASSWORD = b"demo-files-passphrase"  # the demo's own throwaway password, given to the scan by scan-env
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
DAY = dt.timedelta(days=1)


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "keysweep demo"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])  # fmt: skip


def cert(key, cn, *, issuer_key=None, issuer_cn=None, start=None, days=90, hash_alg=None, ca=False):  # type: ignore[no-untyped-def]
    start = start or NOW - DAY
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(name(issuer_cn or cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
    if issuer_key is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key or key, hash_alg or hashes.SHA256())


def pem(c: x509.Certificate) -> bytes:
    return c.public_bytes(serialization.Encoding.PEM)


def key_pem(key, password: bytes | None = None) -> bytes:  # type: ignore[no-untyped-def]
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def sha1_signed(key, ca_key, ca: x509.Certificate) -> bytes:  # type: ignore[no-untyped-def]
    """cryptography refuses to sign with SHA-1; the openssl command still does."""
    csr = (
        x509.CertificateSigningRequestBuilder().subject_name(name("intranet.demo.internal")).sign(key, hashes.SHA256())
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "req.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        (work / "ca.crt").write_bytes(pem(ca))
        write(work / "ca.key", key_pem(ca_key), 0o600)
        subprocess.run(
            ["openssl", "x509", "-req", "-in", "req.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-sha1",
             "-days", "365", "-set_serial", "4242", "-out", "leaf.crt"],
            cwd=work, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return (work / "leaf.crt").read_bytes()


def write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, mode)


def main(out: Path) -> None:
    # an internal CA that still signs with SHA-1, and a server certificate it issued
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = cert(ca_key, "Legacy Internal CA", days=3650, ca=True)
    write(out / "legacy-pki/legacy-ca.crt", pem(ca))
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write(out / "legacy-pki/intranet-sha1.crt", sha1_signed(leaf_key, ca_key, ca))
    # a plaintext private key that every local user can read
    write(out / "legacy-pki/intranet.key", key_pem(leaf_key), 0o644)

    # a 1024-bit RSA key and its self-signed certificate
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    write(out / "app/weak-rsa1024.crt", pem(cert(weak, "legacy-app.demo.internal", days=365)))
    write(out / "app/weak-rsa1024.key", key_pem(weak), 0o600)

    # an expired certificate and a five-year one
    expired_key = ec.generate_private_key(ec.SECP256R1())
    expired = cert(expired_key, "expired.demo.internal", start=NOW - 400 * DAY, days=365)
    write(out / "app/expired.crt", pem(expired))
    long_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write(out / "app/five-year.crt", pem(cert(long_key, "five-year.demo.internal", days=5 * 365)))

    # a good P-256 certificate whose key is encrypted at rest, and a PKCS#12 bundle
    good_key = ec.generate_private_key(ec.SECP256R1())
    good = cert(good_key, "api.demo.internal", issuer_key=ca_key, issuer_cn="Legacy Internal CA", days=90)
    write(out / "api/api.crt", pem(good))
    write(out / "api/api.key", key_pem(good_key, PASSWORD), 0o600)
    p12_key = ec.generate_private_key(ec.SECP384R1())
    p12_cert = cert(p12_key, "payments.demo.internal", days=180)
    p12 = pkcs12.serialize_key_and_certificates(
        b"payments", p12_key, p12_cert, None, serialization.BestAvailableEncryption(PASSWORD)
    )
    write(out / "api/payments.p12", p12, 0o600)

    # a CA bundle (a trust store) and a DSA key
    roots = [cert(rsa.generate_private_key(public_exponent=65537, key_size=3072), f"Demo Root {i}", days=7300, ca=True)
             for i in (1, 2, 3)]  # fmt: skip
    write(out / "trust/ca-bundle.pem", b"".join(pem(r) for r in roots))
    write(out / "legacy-pki/dsa.key", key_pem(dsa.generate_private_key(2048)), 0o600)
    (out / "pq").mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]).absolute())
