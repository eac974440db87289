"""Real keys and certificates for tests, made with cryptography (and dilithium-py for ML-DSA)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from scanner.compat import UTC

NOW = dt.datetime.now(UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def dsa_key(bits: int = 2048) -> dsa.DSAPrivateKey:
    return dsa.generate_private_key(bits)


def name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(
    key: CertificateIssuerPrivateKeyTypes,
    common_name: str,
    *,
    issuer_key: CertificateIssuerPrivateKeyTypes | None = None,
    issuer_name: str | None = None,
    not_before: dt.datetime | None = None,
    days: int = 90,
    hash_algorithm: hashes.HashAlgorithm | None = None,
    ca: bool = False,
    san: list[str] | None = None,
    serial: int | None = None,
    eku: list[x509.ObjectIdentifier] | None = None,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
) -> x509.Certificate:
    """A certificate for ``key``, self-signed unless an issuer key is given."""
    start = not_before or NOW - DAY
    signer = issuer_key or key
    algorithm = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hash_algorithm or hashes.SHA256()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(common_name))
        .issuer_name(name(issuer_name or common_name))
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)  # type: ignore[arg-type]
    )
    if issuer_key is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if crl_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    if ocsp_url:
        access = x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder.sign(signer, algorithm)  # type: ignore[arg-type]


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def key_pem(key: CertificateIssuerPrivateKeyTypes, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def write(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


def pkcs12_bytes(
    key: CertificateIssuerPrivateKeyTypes, cert: x509.Certificate, password: bytes | None, friendly: bytes = b"server"
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(friendly, key, cert, None, encryption)  # type: ignore[arg-type]


# -- ML-DSA-65 certificates ---------------------------------------------------------------------
# cryptography 46 cannot make them; the TBS is built by cryptography (signed by a throwaway
# Ed25519 key), then its algorithm and key are swapped for ML-DSA-65 and it is signed for real
# with dilithium-py.

ML_DSA_65_OID = "2.16.840.1.101.3.4.3.18"
ML_DSA_OIDS = {
    "ML-DSA-44": "2.16.840.1.101.3.4.3.17",
    "ML-DSA-65": ML_DSA_65_OID,
    "ML-DSA-87": "2.16.840.1.101.3.4.3.19",
}


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(value)) + value


def _oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytes([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, out)


def _children(data: bytes) -> list[bytes]:
    from scanner.inventory import der as derlib

    (_, _, start, end), *_ = derlib.children(data)
    return [data[s:e] for (_, s, _, e) in derlib.children(data, start, end)]


def ml_dsa_certificate(common_name: str = "pq.example", days: int = 90, parameter_set: str = "ML-DSA-65") -> bytes:
    """DER of a self-signed ML-DSA certificate (ML-DSA-44, -65 or -87) with a valid ML-DSA signature."""
    from dilithium_py import ml_dsa

    scheme = {"ML-DSA-44": ml_dsa.ML_DSA_44, "ML-DSA-65": ml_dsa.ML_DSA_65, "ML-DSA-87": ml_dsa.ML_DSA_87}[
        parameter_set
    ]
    public, secret = scheme.keygen()
    template = certificate(ed25519_key(), common_name, days=days)
    tbs_fields = _children(template.tbs_certificate_bytes)
    algorithm = _tlv(0x30, _oid(ML_DSA_OIDS[parameter_set]))
    spki = _tlv(0x30, algorithm + _tlv(0x03, b"\x00" + public))
    # version, serial, signature, issuer, validity, subject, spki, extensions
    tbs_fields[2] = algorithm
    tbs_fields[6] = spki
    tbs = _tlv(0x30, b"".join(tbs_fields))
    signature = scheme.sign(secret, tbs)
    return _tlv(0x30, tbs + algorithm + _tlv(0x03, b"\x00" + signature))


def ml_dsa_65_certificate(common_name: str = "pq.example", days: int = 90) -> bytes:
    return ml_dsa_certificate(common_name, days, "ML-DSA-65")


def openssl_sha1_certificate(common_name: str, workdir: Path) -> x509.Certificate:
    """A self-signed ECDSA-with-SHA1 certificate: cryptography refuses to sign with SHA-1, openssl does."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        out = Path(tmp) / "cert.pem"
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha1",
                "-nodes", "-subj", f"/CN={common_name}", "-addext", "basicConstraints=critical,CA:FALSE", "-days", "30",
                "-keyout", str(Path(tmp) / "key.pem"), "-out", str(out),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )  # fmt: skip
        return x509.load_pem_x509_certificate(out.read_bytes())
