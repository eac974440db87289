"""Validation of the certificate chain an endpoint presents, against trust anchors.

The anchors are the system trust store plus what ``--ca-file``/``--ca-path`` name (private PKI).
From the leaf, each step looks for the certificate that issued the current one (subject equals
issuer, and its key verifies the signature): first among the anchors, then among the certificates
the server sent. The verdict says where the path ended: at an anchor (trusted), at a self-signed
certificate nobody trusts or at a sent CA whose issuer nobody trusts (untrusted root), or at a
leaf whose issuer is neither sent nor trusted (incomplete: the server does not send an
intermediate). The order of the sent chain is judged apart (RFC 8446 section 4.4.2 lets TLS 1.3
clients cope; older clients do not).
Expiry is left to the rules, which know the as-of date.
"""

from __future__ import annotations

import hashlib
import ssl
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning

_MAX_PATH = 10


def fingerprint(cert: x509.Certificate) -> str:
    return "cert:sha256:" + hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def _name_key(name: x509.Name) -> str:
    """A name as an index key: the same name in PrintableString or UTF8String is one key (the
    signature check decides the rest)."""
    return name.rfc4514_string().casefold()


def _name(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "(empty subject)"


@dataclass(frozen=True)
class Anchors:
    """Trusted certificates by subject, each with where it came from."""

    by_subject: Mapping[str, tuple[tuple[x509.Certificate, str], ...]] = field(default_factory=dict)
    fingerprints: Mapping[str, str] = field(default_factory=dict)  # id -> source
    errors: tuple[tuple[str, str], ...] = ()  # (file, message) for each anchor file that could not be read

    def source_of(self, cert: x509.Certificate) -> str | None:
        return self.fingerprints.get(fingerprint(cert))

    def issuers_of(self, cert: x509.Certificate) -> list[tuple[x509.Certificate, str]]:
        return [(c, s) for c, s in self.by_subject.get(_name_key(cert.issuer), ()) if issued(cert, c)]


def issued(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Did ``issuer``'s key sign ``child`` (and do the names chain)?"""
    try:
        child.verify_directly_issued_by(issuer)
    except Exception:  # InvalidSignature, names that do not chain, key types that cannot sign
        return False
    return True


def _read_bundle(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    # public bundles hold roots with non-positive serial numbers: readable, and not the user's doing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]


def load_anchors(ca_files: Iterable[Path], ca_paths: Iterable[Path], *, system: bool = True) -> Anchors:
    """The system store (OpenSSL's default CA file) and the user's files and directories."""
    sources: list[tuple[Path, str]] = []
    if system:
        default = ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile
        if default and Path(default).is_file():
            sources.append((Path(default), "system"))
    sources += [(Path(p), f"--ca-file {p}") for p in ca_files]
    errors: list[tuple[str, str]] = []
    for directory in ca_paths:
        try:
            entries = sorted(p for p in Path(directory).iterdir() if p.is_file())
        except OSError as exc:
            errors.append((str(directory), f"cannot read --ca-path {directory}: {exc.strerror or exc}"))
            continue
        sources += [(p, f"--ca-path {directory}") for p in entries]
    by_subject: dict[str, list[tuple[x509.Certificate, str]]] = {}
    fingerprints: dict[str, str] = {}
    for path, source in sources:
        try:
            certs = _read_bundle(path)
        except (OSError, ValueError) as exc:
            errors.append(
                (str(path), f"cannot read trust anchors from {path}: {getattr(exc, 'strerror', None) or exc}")
            )
            continue
        for cert in certs:
            key = fingerprint(cert)
            if key not in fingerprints:
                fingerprints[key] = source
                by_subject.setdefault(_name_key(cert.subject), []).append((cert, source))
    return Anchors({k: tuple(v) for k, v in by_subject.items()}, fingerprints, tuple(errors))


def _self_signed(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer and issued(cert, cert)


def validate(presented: Sequence[x509.Certificate], anchors: Anchors) -> dict[str, Any]:
    """The verdict on one presented chain (leaf first), as plain values for the endpoint's properties."""
    leaf = presented[0]
    path: list[x509.Certificate] = [leaf]
    sent = {fingerprint(c) for c in presented}
    verdict: dict[str, Any] = {
        "presented": [_name(c) for c in presented],
        "valid_order": all(
            _name_key(presented[i].subject) == _name_key(presented[i - 1].issuer) for i in range(1, len(presented))
        ),
    }
    status, trusted_by, missing = "incomplete", None, None
    current = leaf
    for _ in range(_MAX_PATH):
        source = anchors.source_of(current)
        if source is not None:
            status, trusted_by = "trusted", source
            break
        found = anchors.issuers_of(current)
        if found and fingerprint(found[0][0]) != fingerprint(current):
            path.append(found[0][0])
            status, trusted_by = "trusted", found[0][1]
            break
        if _self_signed(current):
            status = "self-signed" if current is leaf else "untrusted-root"
            break
        wanted = _name_key(current.issuer)
        candidates = [c for c in presented if c not in path and _name_key(c.subject) == wanted and issued(current, c)]
        if not candidates:
            # the leaf's issuer missing: an intermediate the server should send; a sent CA's
            # issuer missing: a root nobody here trusts (servers need not send roots)
            status = "incomplete" if current is leaf else "untrusted-root"
            missing = current.issuer.rfc4514_string()
            break
        current = candidates[0]
        path.append(current)
    verdict.update(
        {
            "status": status,
            "trusted_by": trusted_by,
            "path": [_name(c) for c in path],
            # ids of the path's certificates; those the server did not send are the anchors'
            "path_ids": [fingerprint(c) for c in path],
            "path_sent": [fingerprint(c) in sent for c in path],
            "missing_issuer": missing,
        }
    )
    return verdict
