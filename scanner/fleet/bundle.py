"""Signed scan bundles: a scan written for transport from a host that cannot reach the store.

A bundle is one file::

    keysweep-bundle 1\\n
    {"signer": "ed25519:<sha256 of the raw public key>", "signature": "<base64>", "length": N}\\n
    <N bytes: the JSON report, exactly as --json writes it>

The Ed25519 signature is over the report's exact bytes. ``verify`` checks everything (format,
length, signer, signature, that the content is a keysweep report) before a caller stores a byte,
and says which of these failed.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from scanner.compat import StrEnum
from scanner.fleet.keys import key_id

MAGIC = b"keysweep-bundle 1\n"
# a bundle's header is one short line; anything longer is not a bundle
_MAX_HEADER = 4096
# a scan report of a whole estate host stays far below this; a bigger "bundle" is refused unread
MAX_BUNDLE = 1 << 30


class Rejection(StrEnum):
    MALFORMED = "malformed"
    TRUNCATED = "truncated"
    UNKNOWN_SIGNER = "unknown-signer"
    BAD_SIGNATURE = "bad-signature"
    NOT_A_REPORT = "not-a-report"
    UNREADABLE = "unreadable"


class BundleError(ValueError):
    """A bundle that must not be stored; ``reason`` says why, the message names the file."""

    def __init__(self, source: str, reason: Rejection, detail: str) -> None:
        super().__init__(f"bundle {source} rejected ({reason}): {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    source: str
    signer: str
    report_json: bytes
    report: dict[str, Any]  # the same, parsed (verification had to parse it)


def seal(report_json: bytes, key: Ed25519PrivateKey) -> bytes:
    header = {
        "signer": key_id(key.public_key()),
        "signature": base64.b64encode(key.sign(report_json)).decode(),
        "length": len(report_json),
    }
    return MAGIC + json.dumps(header, separators=(",", ":")).encode() + b"\n" + report_json


def verify(data: bytes, trusted: dict[str, Ed25519PublicKey], source: str) -> VerifiedBundle:
    def reject(reason: Rejection, detail: str) -> BundleError:
        return BundleError(source, reason, detail)

    if not data.startswith(MAGIC):
        if MAGIC.startswith(data):
            raise reject(Rejection.TRUNCATED, f"only {len(data)} bytes, the bundle ends inside its first line")
        raise reject(Rejection.MALFORMED, "not a keysweep bundle (no 'keysweep-bundle 1' line)")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
    if end < 0:
        if len(data) < len(MAGIC) + _MAX_HEADER:
            raise reject(Rejection.TRUNCATED, "the bundle ends inside its header")
        raise reject(Rejection.MALFORMED, "the header line is too long")
    try:
        header = json.loads(data[len(MAGIC) : end])
        signer, length = str(header["signer"]), header["length"]
        signature = base64.b64decode(header["signature"], validate=True)
        if not isinstance(length, int) or isinstance(length, bool) or length < 0:
            raise ValueError("length is not a byte count")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise reject(Rejection.MALFORMED, f"unreadable header: {exc}") from None
    body = data[end + 1 :]
    if len(body) < length:
        raise reject(Rejection.TRUNCATED, f"{len(body)} of {length} report bytes present")
    if len(body) > length:
        raise reject(Rejection.MALFORMED, f"{len(body) - length} bytes after the report")
    public = trusted.get(signer)
    if public is None:
        raise reject(Rejection.UNKNOWN_SIGNER, f"signed by {signer}, which is not among the trusted keys")
    try:
        public.verify(signature, body)
    except InvalidSignature:
        raise reject(Rejection.BAD_SIGNATURE, f"the signature by {signer} does not match the content") from None
    try:
        report = json.loads(body)
        if not isinstance(report, dict) or not isinstance(report.get("scan"), dict):
            raise ValueError("no scan object")
    except ValueError as exc:
        raise reject(Rejection.NOT_A_REPORT, f"signed content is not a keysweep JSON report: {exc}") from None
    return VerifiedBundle(source, signer, body, report)


def read_bundle(path: Path, trusted: dict[str, Ed25519PublicKey]) -> VerifiedBundle:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BUNDLE + 1)
    except OSError as exc:
        raise BundleError(str(path), Rejection.UNREADABLE, exc.strerror or str(exc)) from None
    if len(data) > MAX_BUNDLE:
        raise BundleError(str(path), Rejection.MALFORMED, f"larger than {MAX_BUNDLE} bytes")
    return verify(data, trusted, str(path))
