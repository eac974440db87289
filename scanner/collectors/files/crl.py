"""Certificate revocation lists (RFC 5280 section 5), PEM ``X509 CRL`` or DER, as file facts.

A CRL holds no key, but a team auditing its PKI wants to see it: who issued it, when it was
published and when the next one is due (a stale CRL makes relying parties fail or fail open),
how it is signed and how many certificates it revokes. Each CRL of a file is one entry of the
file's ``crls`` property; reading the revoked entries is bounded by their count only.
"""

from __future__ import annotations

import contextlib
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes


def summary(crl: x509.CertificateRevocationList, detail: str) -> dict[str, Any]:
    """What a CRL says, as plain values for the file's ``crls`` property."""
    oid = crl.signature_algorithm_oid
    name = oid._name
    try:
        algorithm = crl.signature_hash_algorithm
        hash_name = algorithm.name if isinstance(algorithm, hashes.HashAlgorithm) else None
    except UnsupportedAlgorithm:
        hash_name = None
    number = None
    with contextlib.suppress(x509.ExtensionNotFound, ValueError):
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    next_update = crl.next_update_utc
    return {
        "where": detail,
        "issuer": crl.issuer.rfc4514_string(),
        "this_update": crl.last_update_utc.isoformat(),
        "next_update": next_update.isoformat() if next_update is not None else None,
        "signature_algorithm": oid.dotted_string if name == "Unknown OID" else name,
        "signature_hash": hash_name,
        "revoked": len(crl),
        "crl_number": str(number) if number is not None else None,
    }


def read_der(data: bytes, detail: str) -> dict[str, Any]:
    return summary(x509.load_der_x509_crl(data), detail)
