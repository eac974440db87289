"""SSH material that is neither PEM nor an OpenSSH public-key line: Dropbear keys and moduli files.

Dropbear keeps host keys (``/etc/dropbear/dropbear_*_host_key``) as a bare run of SSH wire-format
strings and mpints, never encrypted. OpenSSH's ``moduli`` file lists the Diffie-Hellman groups the
server offers for diffie-hellman-group-exchange; their sizes are what a policy judges.
"""

from __future__ import annotations

import re
import struct
from collections import Counter
from pathlib import Path
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from scanner.collectors.base import CollectContext
from scanner.collectors.files.handler import FileSource, ParsedFile
from scanner.inventory import crypto_assets
from scanner.inventory.model import CollectionError

COLLECTOR = "files"
_DROPBEAR_TYPES = (
    b"ssh-rsa",
    b"ssh-dss",
    b"ssh-ed25519",
    b"ecdsa-sha2-nistp256",
    b"ecdsa-sha2-nistp384",
    b"ecdsa-sha2-nistp521",
)
_CURVES: dict[bytes, ec.EllipticCurve] = {
    b"nistp256": ec.SECP256R1(),
    b"nistp384": ec.SECP384R1(),
    b"nistp521": ec.SECP521R1(),
}
# moduli(5): time type tests tries size generator modulus; size is the modulus' bits minus one
_MODULI_LINE = re.compile(rb"^\d{14} [0-9] [0-9]+ [0-9]+ ([0-9]+) ([0-9]+) ([0-9A-Fa-f]+)\s*$")
_MODULI_HEADER = b"# Time Type Tests Tries Size Generator Modulus"
# a moduli line's 14-digit timestamp and the space after it, once its digits are made 0
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_FOURTEEN_DIGITS = b"0" * 14 + b" "


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def string(self) -> bytes:
        if self.offset + 4 > len(self.data):
            raise ValueError("truncated Dropbear key")
        (length,) = struct.unpack(">I", self.data[self.offset : self.offset + 4])
        end = self.offset + 4 + length
        if end > len(self.data):
            raise ValueError("truncated Dropbear key")
        value = self.data[self.offset + 4 : end]
        self.offset = end
        return value

    def mpint(self) -> int:
        return int.from_bytes(self.string(), "big", signed=True)


def _dropbear_public_key(data: bytes) -> PublicKeyTypes:
    reader = _Reader(data)
    kind = reader.string()
    if kind == b"ssh-rsa":
        e, n = reader.mpint(), reader.mpint()
        return rsa.RSAPublicNumbers(e, n).public_key()
    if kind == b"ssh-dss":
        p, q, g, y = (reader.mpint() for _ in range(4))
        return dsa.DSAPublicNumbers(y, dsa.DSAParameterNumbers(p, q, g)).public_key()
    if kind == b"ssh-ed25519":
        both = reader.string()  # the 32-byte seed, then the 32-byte public key
        if len(both) != 64:
            raise ValueError("Dropbear Ed25519 key of the wrong length")
        return ed25519.Ed25519PublicKey.from_public_bytes(both[32:])
    if kind.startswith(b"ecdsa-sha2-"):
        curve = _CURVES.get(reader.string())
        if curve is None:
            raise ValueError("Dropbear ECDSA key on an unknown curve")
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, reader.string())
    raise ValueError(f"unknown Dropbear key type {kind[:40]!r}")


def _is_dropbear(head: bytes) -> bool:
    if len(head) < 8:
        return False
    (length,) = struct.unpack(">I", head[:4])
    return head[4 : 4 + length] in _DROPBEAR_TYPES


def _is_moduli(head: bytes) -> bool:
    # a moduli line starts with a 14-digit timestamp and a space: a head without one (nearly every
    # file a sweep meets) splits no line (digits made 0 by translate, then one substring search)
    if _MODULI_HEADER not in head and _FOURTEEN_DIGITS not in head.translate(_DIGITS_AS_ZERO):
        return False
    return any(line.startswith(_MODULI_HEADER) or _MODULI_LINE.match(line) for line in head.splitlines()[:5])


class SshFilesHandler:
    name: ClassVar[str] = "ssh-files"
    priority: ClassVar[int] = 15

    def sniff(self, path: Path, head: bytes) -> bool:
        return _is_dropbear(head) or _is_moduli(head)

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        if _is_dropbear(source.data):
            return self._dropbear(source)
        return self._moduli(source)

    def _dropbear(self, source: FileSource) -> ParsedFile:
        public = _dropbear_public_key(source.data)
        asset = crypto_assets.public_key_asset(
            public, source.location("Dropbear private key"), has_private_key=True, encrypted_at_rest=False
        )
        return ParsedFile(
            format="dropbear-private-key",
            observations=(asset, source.stored_here(asset)),
            # Dropbear has no encrypted key format: the key is always in clear
            file_properties={"contains_private_key": True, "contains_plaintext_private_key": True},
        )

    def _moduli(self, source: FileSource) -> ParsedFile:
        sizes: Counter[int] = Counter()
        errors: list[CollectionError] = []
        for number, line in enumerate(source.data.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith(b"#"):
                continue
            match = _MODULI_LINE.match(stripped)
            if match is None:
                errors.append(CollectionError(str(source.path), COLLECTOR, f"line {number}: not a moduli(5) entry"))
                continue
            # the modulus itself, not the size column, is what a client gets
            sizes[int(match.group(3), 16).bit_length()] += 1
        if not sizes:
            raise ValueError("moduli file lists no Diffie-Hellman group")
        return ParsedFile(
            format="ssh-moduli",
            observations=tuple(errors),
            file_properties={
                "dh_group_sizes": {str(bits): count for bits, count in sorted(sizes.items())},
                # the weakest group a client may be offered, as for a DH parameters file
                "dh_parameters_bits": min(sizes),
            },
        )
