"""What a PKCS#12 file shows without its password.

The PFX structure is public: the MAC algorithm and its iteration count, the algorithm each
encrypted part is protected with, certificates kept in clear bags, and each shrouded key bag
(an EncryptedPrivateKeyInfo, inventoried like an encrypted PKCS#8 key). Only the encrypted parts
need the password. Read with asn1crypto, which parses the structure without decrypting it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asn1crypto import cms, pkcs12

_CERT_BAG = "cert_bag"
_SHROUDED_KEY_BAG = "pkcs8_shrouded_key_bag"
_X509_CERTIFICATE = "x509"


@dataclass(frozen=True, slots=True)
class LockedPkcs12:
    certificates: tuple[bytes, ...]  # DER certificates held in clear
    shrouded_keys: tuple[bytes, ...]  # DER EncryptedPrivateKeyInfo of each key bag
    encryption: tuple[str, ...]  # the algorithms protecting encrypted parts and key bags
    encrypted_parts: int  # parts that need the password to be read (may hold more certificates)
    mac_algorithm: str | None
    mac_iterations: int | None


def _algorithm(info: Any) -> str:
    """An EncryptionAlgorithm by name, PBES2 with its cipher (e.g. 'pbes2 (aes256_cbc)')."""
    name = str(info["algorithm"].native)
    if name == "pbes2":
        return f"pbes2 ({info['parameters']['encryption_scheme']['algorithm'].native})"
    return name


def _bags(contents: Any, certificates: list[bytes], keys: list[bytes], encryption: list[str]) -> None:
    for bag in pkcs12.SafeContents.load(contents):
        kind = bag["bag_id"].native
        if kind == _CERT_BAG:
            value = bag["bag_value"]
            if value["cert_id"].native == _X509_CERTIFICATE:
                certificates.append(value["cert_value"].parsed.dump())
        elif kind == _SHROUDED_KEY_BAG:
            shrouded = bag["bag_value"]
            encryption.append(_algorithm(shrouded["encryption_algorithm"]))
            keys.append(shrouded.dump())


def read_locked(data: bytes) -> LockedPkcs12:
    """Raises ValueError (or asn1crypto's errors) when the PFX structure itself is unreadable."""
    pfx = pkcs12.Pfx.load(data)
    auth_safe = pfx["auth_safe"]
    if auth_safe["content_type"].native != "data":
        raise ValueError("PKCS#12 integrity mode is not password (public-key signed PFX)")
    certificates: list[bytes] = []
    keys: list[bytes] = []
    encryption: list[str] = []
    encrypted_parts = 0
    for info in pkcs12.AuthenticatedSafe.load(auth_safe["content"].native):
        kind = info["content_type"].native
        if kind == "data":
            _bags(info["content"].native, certificates, keys, encryption)
        elif kind == "encrypted_data":
            encrypted = info["content"]
            assert isinstance(encrypted, cms.EncryptedData)
            encryption.append(_algorithm(encrypted["encrypted_content_info"]["content_encryption_algorithm"]))
            encrypted_parts += 1
        else:
            encrypted_parts += 1  # enveloped data: public-key privacy mode
    mac = pfx["mac_data"]
    has_mac = mac.native is not None
    return LockedPkcs12(
        certificates=tuple(certificates),
        shrouded_keys=tuple(keys),
        encryption=tuple(dict.fromkeys(encryption)),
        encrypted_parts=encrypted_parts,
        mac_algorithm=str(mac["mac"]["digest_algorithm"]["algorithm"].native) if has_mac else None,
        mac_iterations=int(mac["iterations"].native) if has_mac else None,
    )
