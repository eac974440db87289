"""Writes the keys and certificates the sample configs name (never committed: made on each start)."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID


def _cert(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, name: str) -> bytes:
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    pkcs8 = serialization.PrivateFormat.PKCS8
    pem = serialization.Encoding.PEM
    none = serialization.NoEncryption()
    good = ec.generate_private_key(ec.SECP256R1())
    _write(out / "good-p256.key", good.private_bytes(pem, pkcs8, none))
    _write(out / "good-p256.crt", _cert(good, "good.example"))
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    _write(out / "weak-rsa1024.key", weak.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL, none))
    _write(out / "weak-rsa1024.crt", _cert(weak, "weak.example"))
    openssh = serialization.PrivateFormat.OpenSSH
    _write(out / "ssh_host_ed25519_key", ed25519.Ed25519PrivateKey.generate().private_bytes(pem, openssh, none))
    ssh_rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    _write(out / "ssh_host_rsa1024_key", ssh_rsa.private_bytes(pem, openssh, none))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
