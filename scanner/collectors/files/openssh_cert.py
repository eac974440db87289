"""OpenSSH certificates (``*-cert.pub``): the certified key, the signing CA key, validity, principals.

An OpenSSH certificate is inventoried as a ``certificate`` asset (id: SHA-256 of its wire blob),
with the properties X.509 certificates have where they mean the same thing (validity, signature
algorithm and hash, serial) and its own (``certificate_format``, ``principals``, ``cert_type``,
``signing_key_id``, ``ssh_extensions``), so the validity and signature rules apply to it as they are.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import SSHCertificate, SSHCertificateType

from scanner.compat import UTC
from scanner.inventory import crypto_assets
from scanner.inventory.model import Asset, AssetType, Location, Relation, RelationType, freeze, iso_time

CERT_SUFFIX = b"-cert-v01@openssh.com"
_FOREVER = (1 << 64) - 1
# the hash each SSH signature algorithm signs with (RFC 8332, RFC 5656, RFC 8709)
_SIGNATURE_HASH = {
    "ssh-rsa": "sha1",
    "rsa-sha2-256": "sha256",
    "rsa-sha2-512": "sha512",
    "ssh-dss": "sha1",
    "ecdsa-sha2-nistp256": "sha256",
    "ecdsa-sha2-nistp384": "sha384",
    "ecdsa-sha2-nistp521": "sha512",
}
_SSH = serialization.Encoding.OpenSSH
_SSH_PUBLIC = serialization.PublicFormat.OpenSSH


def _blob(key: Any) -> bytes:
    return base64.b64decode(key.public_bytes(_SSH, _SSH_PUBLIC).split()[1])


def _signature_algorithm(cert_blob: bytes, ca_blob: bytes) -> str | None:
    """The algorithm named in the signature, the last field, right after the CA key's blob."""
    at = cert_blob.rfind(ca_blob)
    if at < 0:
        return None
    offset = at + len(ca_blob) + 4  # past the CA key and the signature's own length
    if offset + 4 > len(cert_blob):
        return None
    (length,) = struct.unpack(">I", cert_blob[offset : offset + 4])
    return cert_blob[offset + 4 : offset + 4 + length].decode("ascii", "replace") or None


def _instant(seconds: int) -> datetime | None:
    if seconds in (0, _FOREVER):
        return None  # "always" / "forever": no bound
    return datetime.fromtimestamp(min(seconds, 253402300799), UTC)


def certificate_observations(line: bytes, location: Location) -> list[Asset | Relation]:
    """Assets for one certificate line (``<type>-cert-v01@openssh.com <base64> [comment]``)."""
    fields = line.split()
    cert: SSHCertificate = serialization.load_ssh_public_identity(b" ".join(fields[:2]))  # type: ignore[assignment]
    if not isinstance(cert, SSHCertificate):
        raise ValueError("not an OpenSSH certificate")
    cert_blob = base64.b64decode(fields[1])
    digest = hashlib.sha256(cert_blob).hexdigest()
    cert_id = "cert:sha256:" + digest
    ca_key = cert.signature_key()
    ca_blob = _blob(ca_key)
    ca_asset = crypto_assets.public_key_asset(
        ca_key, Location(location.kind, location.ref, f"{location.detail}, signing CA key"), has_private_key=False
    )
    key_asset = crypto_assets.public_key_asset(cert.public_key(), location, has_private_key=False)
    signature = _signature_algorithm(cert_blob, ca_blob)
    not_before, not_after = _instant(cert.valid_after), _instant(cert.valid_before)
    ca_fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(ca_blob).digest()).decode().rstrip("=")
    properties: dict[str, Any] = {
        "certificate_format": "openssh",
        "sha256_fingerprint": digest,
        "subject": cert.key_id.decode("utf-8", "replace"),
        "issuer": ca_fingerprint,
        "serial": format(cert.serial, "x"),
        "not_before": iso_time(not_before) if not_before else None,
        "not_after": iso_time(not_after) if not_after else None,
        "valid_forever": cert.valid_before == _FOREVER,
        "signature_algorithm": signature,
        "signature_hash": _SIGNATURE_HASH.get(signature or ""),
        "is_ca": False,
        "self_signed": False,
        "san": [],
        "cert_type": "host" if cert.type is SSHCertificateType.HOST else "user",
        "principals": [p.decode("utf-8", "replace") for p in cert.valid_principals],
        "ssh_critical_options": sorted(k.decode("utf-8", "replace") for k in cert.critical_options),
        "ssh_extensions": sorted(k.decode("utf-8", "replace") for k in cert.extensions),
        "public_key_algorithm": key_asset.properties.get("algorithm"),
        "signing_key_id": ca_asset.id,
        "signing_key_algorithm": ca_asset.properties.get("algorithm"),
    }
    if not_before and not_after:
        properties["validity_days"] = (not_after - not_before).days
    cert_asset = Asset(id=cert_id, type=AssetType.CERTIFICATE, properties=freeze(properties), locations=(location,))
    return [cert_asset, key_asset, Relation(cert_id, key_asset.id, RelationType.CERTIFIES), ca_asset]
