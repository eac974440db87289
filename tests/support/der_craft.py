"""Hand-made DER for certificates that cryptography rejects and OpenSSL reads, built by re-encoding
a real certificate's TBS and signing it again with the real key (so the signature stays valid)."""

from __future__ import annotations

from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from scanner.inventory import der

tlv = der.encode


def elements(data: bytes, start: int = 0, end: int | None = None) -> list[bytes]:
    return [data[s:e] for _, s, _, e in der.children(data, start, end)]


def tbs_fields(cert: x509.Certificate) -> list[bytes]:
    tbs = cert.tbs_certificate_bytes
    (_, _, start, end), *_ = der.children(tbs)
    return elements(tbs, start, end)


def resign(
    cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, edit: Callable[[list[bytes]], list[bytes]]
) -> bytes:
    """The certificate with its TBS fields edited, signed again by ``key`` (ECDSA with SHA-256)."""
    tbs = tlv(0x30, b"".join(edit(tbs_fields(cert))))
    signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    whole = cert.public_bytes(serialization.Encoding.DER)
    (_, _, start, end), *_ = der.children(whole)
    algorithm = elements(whole, start, end)[1]
    return tlv(0x30, tbs + algorithm + tlv(0x03, b"\x00" + signature))
