"""OpenPGP public keys: APT's trusted keys, distribution keyrings, exported keys (``.asc``, ``.gpg``).

What a security team asks of a signing key it trusts is the same as of any other key: algorithm,
size or curve, and which key it is (the OpenPGP fingerprint). Those sit in clear in the public-key
packets (RFC 4880 section 5.5.2, RFC 9580 section 5.5.2), read here directly: no maintained Python
library reads them without pulling in its own crypto stack (PGPy pins old cryptography and is
unmaintained), and the packet header is small. Every key and subkey becomes a ``key`` asset built
from its public numbers (so the usual strength rules apply), with ``openpgp_fingerprint``,
``openpgp_key_id``, ``openpgp_version``, ``created``, ``subkey`` and the first User ID.
Signatures and secret-key material are never read: a secret-key packet's public part is read, and
whether its secret part is protected (S2K usage octet) is all that is said of it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dh, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from scanner.collectors.base import CollectContext
from scanner.collectors.files.handler import FileSource, ParsedFile
from scanner.compat import UTC
from scanner.inventory import crypto_assets, lenient
from scanner.inventory.model import Asset, AssetType, CollectionError, Relation, freeze

COLLECTOR = "files"
_ARMOR = re.compile(rb"^-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[ \t]*\r?$", re.MULTILINE)
_ARMOR_MARKER = b"-----BEGIN PGP "  # in every text _ARMOR matches
_END = re.compile(rb"^-----END PGP (PUBLIC|PRIVATE) KEY BLOCK-----", re.MULTILINE)
_OTHER_PEM = re.compile(rb"^-----BEGIN (?!PGP )", re.MULTILINE)
PUBLIC_KEY, PUBLIC_SUBKEY, SECRET_KEY, SECRET_SUBKEY, USER_ID = 6, 14, 5, 7, 13
_KEY_TAGS = {PUBLIC_KEY, PUBLIC_SUBKEY, SECRET_KEY, SECRET_SUBKEY}
_ALGORITHMS = {
    1: "RSA",
    2: "RSA",
    3: "RSA",
    16: "ElGamal",
    17: "DSA",
    18: "ECDH",
    19: "ECDSA",
    22: "EdDSA",
    25: "X25519",
    26: "X448",
    27: "Ed25519",
    28: "Ed448",
}
# curve OIDs as they sit in the packet (DER content octets, RFC 4880bis / RFC 9580 section 9.2)
_CURVES: dict[bytes, tuple[str, ec.EllipticCurve | None]] = {
    bytes.fromhex("2a8648ce3d030107"): ("secp256r1", ec.SECP256R1()),
    bytes.fromhex("2b81040022"): ("secp384r1", ec.SECP384R1()),
    bytes.fromhex("2b81040023"): ("secp521r1", ec.SECP521R1()),
    bytes.fromhex("2b2403030208010107"): ("brainpoolP256r1", ec.BrainpoolP256R1()),
    bytes.fromhex("2b240303020801010b"): ("brainpoolP384r1", ec.BrainpoolP384R1()),
    bytes.fromhex("2b240303020801010d"): ("brainpoolP512r1", ec.BrainpoolP512R1()),
    bytes.fromhex("2b06010401da470f01"): ("Ed25519", None),
    bytes.fromhex("2b060104019755010501"): ("Curve25519", None),
    bytes.fromhex("2b6570"): ("Ed25519", None),
    bytes.fromhex("2b6571"): ("Ed448", None),
    bytes.fromhex("2b656e"): ("Curve25519", None),
    bytes.fromhex("2b656f"): ("X448", None),
}
_NATIVE_SIZES = {25: 32, 26: 56, 27: 32, 28: 57}


class PacketError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Packet:
    tag: int
    body: bytes


def packets(data: bytes) -> Iterator[Packet]:
    """The packets of a binary OpenPGP stream (RFC 4880 section 4.2: old and new formats)."""
    at = 0
    while at < len(data):
        first = data[at]
        if not first & 0x80:
            raise PacketError(f"byte {at}: not an OpenPGP packet header")
        if first & 0x40:  # new format
            tag = first & 0x3F
            length, at = _new_length(data, at + 1)
        else:
            tag, kind = (first >> 2) & 0x0F, first & 0x03
            if kind == 3:  # indeterminate: to the end of the data
                length, at = len(data) - at - 1, at + 1
            else:
                size = (1, 2, 4)[kind]
                if at + 1 + size > len(data):
                    raise PacketError(f"byte {at}: truncated packet header")
                length = int.from_bytes(data[at + 1 : at + 1 + size], "big")
                at += 1 + size
        if at + length > len(data):
            raise PacketError(f"packet (tag {tag}) runs past the end of the data")
        yield Packet(tag, data[at : at + length])
        at += length


def _new_length(data: bytes, at: int) -> tuple[int, int]:
    if at >= len(data):
        raise PacketError("truncated packet length")
    o1 = data[at]
    if o1 < 192:
        return o1, at + 1
    if o1 < 224:
        if at + 1 >= len(data):
            raise PacketError("truncated packet length")
        return ((o1 - 192) << 8) + data[at + 1] + 192, at + 2
    if o1 == 255:
        if at + 5 > len(data):
            raise PacketError("truncated packet length")
        return int.from_bytes(data[at + 1 : at + 5], "big"), at + 5
    # partial body lengths belong to data packets (messages), never to keys
    raise PacketError("partial body length: not a key packet")


def dearmor(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(line, binary) for each ASCII-armored key block (RFC 4880 section 6.2)."""
    for begin in _ARMOR.finditer(data):
        end = _END.search(data, begin.end())
        line = data.count(b"\n", 0, begin.start()) + 1
        if end is None:
            raise PacketError(f"line {line}: armored key block without its END line")
        body = data[begin.end() : end.start()].strip().splitlines()
        # armor headers (Version:, Comment:) end at the first blank line
        blank = next((n for n, text in enumerate(body) if not text.strip()), None)
        if blank is not None and all(b": " in text for text in body[:blank]):
            body = body[blank + 1 :]
        text = b"".join(t.strip() for t in body if t.strip() and not t.startswith(b"="))
        try:
            yield line, base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise PacketError(f"line {line}: armored key block is not valid base64 ({exc})") from None


class _Reader:
    def __init__(self, body: bytes, at: int) -> None:
        self.body, self.at = body, at

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.body):
            raise PacketError("key packet is truncated")
        chunk = self.body[self.at : self.at + size]
        self.at += size
        return chunk

    def mpi(self) -> int:
        bits = struct.unpack("!H", self.take(2))[0]
        return int.from_bytes(self.take((bits + 7) // 8), "big")

    def mpi_bytes(self) -> bytes:
        bits = struct.unpack("!H", self.take(2))[0]
        return self.take((bits + 7) // 8)

    def oid(self) -> bytes:
        return self.take(self.take(1)[0])


@dataclass(frozen=True, slots=True)
class OpenPgpKey:
    version: int
    created: datetime
    algorithm: str
    fingerprint: str
    spki: bytes | None  # None: a key cryptography cannot express (an unknown curve, an odd ElGamal group)
    described: dict[str, Any] | None  # algorithm, size and curve of a key without an SPKI
    curve: str | None
    secret: bool
    protected: bool | None  # a secret key's S2K usage: None for a public key


def parse_key(tag: int, body: bytes) -> OpenPgpKey:
    """The public part of a (public or secret) key packet."""
    if not body:
        raise PacketError("empty key packet")
    version = body[0]
    if version in (2, 3):
        if len(body) < 8:
            raise PacketError("key packet is truncated")
        created, algorithm_id, at = struct.unpack("!I", body[1:5])[0], body[7], 8
    elif version in (4, 5, 6):
        if len(body) < 6:
            raise PacketError("key packet is truncated")
        created, algorithm_id, at = struct.unpack("!I", body[1:5])[0], body[5], 6
        if version in (5, 6):
            at += 4  # octet count of the key material
    else:
        raise PacketError(f"key packet version {version} is not known")
    algorithm = _ALGORITHMS.get(algorithm_id)
    if algorithm is None:
        raise PacketError(f"public-key algorithm {algorithm_id} is not known")
    reader = _Reader(body, at)
    public, curve = _public_key(algorithm_id, reader)
    public_end = reader.at
    protected = None
    if tag in (SECRET_KEY, SECRET_SUBKEY):
        protected = reader.take(1)[0] != 0  # S2K usage 0: the secret part is in clear
    spki, described = None, None
    if isinstance(public, dict):
        described = public
    elif isinstance(public, bytes):
        spki = public
    elif public is not None:
        spki = public.public_bytes(_DER, _SPKI)
    return OpenPgpKey(
        version=version,
        created=datetime.fromtimestamp(created, UTC),
        algorithm=algorithm,
        fingerprint=_fingerprint(version, body[:public_end], reader),
        spki=spki,
        described=described,
        curve=curve,
        secret=tag in (SECRET_KEY, SECRET_SUBKEY),
        protected=protected,
    )


_DER, _SPKI = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo


def _public_key(
    algorithm_id: int, reader: _Reader
) -> tuple[PublicKeyTypes | bytes | dict[str, Any] | None, str | None]:
    if algorithm_id in (1, 2, 3):
        n, e = reader.mpi(), reader.mpi()
        return rsa.RSAPublicNumbers(e, n).public_key(), None
    if algorithm_id == 17:
        p, q, g, y = reader.mpi(), reader.mpi(), reader.mpi(), reader.mpi()
        return lenient.dsa_spki(y, p, q, g), None
    if algorithm_id == 16:
        p, g, y = reader.mpi(), reader.mpi(), reader.mpi()
        # ElGamal rests on the discrete logarithm in Z_p*, as finite-field DH does: judged as DH of p's size
        try:
            return dh.DHPublicNumbers(y, dh.DHParameterNumbers(p, g)).public_key(), None
        except ValueError:  # cryptography refuses some old generators: described from p alone
            return {"algorithm": "DH", "key_size": p.bit_length(), "curve": None}, None
    if algorithm_id in _NATIVE_SIZES:
        raw = reader.take(_NATIVE_SIZES[algorithm_id])
        return _native(algorithm_id, raw), _ALGORITHMS[algorithm_id]
    oid = reader.oid()
    point = reader.mpi_bytes()
    if algorithm_id == 18:
        reader.take(reader.take(1)[0])  # KDF parameters
    name, curve = _CURVES.get(oid, (None, None))
    if name is None:
        return None, oid.hex()
    if curve is not None:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, point), name
    # Ed25519 and Curve25519 points carry a 0x40 prefix (native little-endian encoding follows)
    raw = point[1:] if point[:1] == b"\x40" else point
    native = {"Ed25519": 27, "Curve25519": 25, "Ed448": 28, "X448": 26}[name]
    return _native(native, raw), name


def _native(algorithm_id: int, raw: bytes) -> PublicKeyTypes:
    if algorithm_id == 25:
        return x25519.X25519PublicKey.from_public_bytes(raw)
    if algorithm_id == 26:
        return x448.X448PublicKey.from_public_bytes(raw)
    if algorithm_id == 27:
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    return ed448.Ed448PublicKey.from_public_bytes(raw)


def _fingerprint(version: int, public_body: bytes, reader: _Reader) -> str:
    """RFC 4880 section 12.2 (v3 MD5, v4 SHA-1) and RFC 9580 section 5.5.4 (v5, v6 SHA-256)."""
    if version == 4:
        return hashlib.sha1(b"\x99" + struct.pack("!H", len(public_body)) + public_body).hexdigest().upper()
    if version in (5, 6):
        prefix = b"\x9a" if version == 5 else b"\x9b"
        return hashlib.sha256(prefix + struct.pack("!I", len(public_body)) + public_body).hexdigest().upper()
    # v3: MD5 of the RSA modulus and exponent bodies, without their bit counts
    again = _Reader(public_body, 8)
    n, e = again.mpi_bytes(), again.mpi_bytes()
    return hashlib.md5(n + e, usedforsecurity=False).hexdigest().upper()


def _binary_key_start(head: bytes) -> bool:
    """Does binary data start with a key packet of a known version and algorithm?"""
    if len(head) < 8 or not head[0] & 0x80:
        return False
    try:
        first = head[0]
        if first & 0x40:
            tag = first & 0x3F
            _, at = _new_length(head, 1)
        else:
            tag, kind = (first >> 2) & 0x0F, first & 0x03
            if kind == 3:
                return False
            at = 1 + (1, 2, 4)[kind]
    except PacketError:
        return False
    if tag not in (PUBLIC_KEY, SECRET_KEY) or at + 8 > len(head):
        return False
    version = head[at]
    algorithm = head[at + 5] if version >= 4 else head[at + 7]
    return version in (3, 4, 5, 6) and algorithm in _ALGORITHMS


class OpenPgpHandler:
    name: ClassVar[str] = "openpgp"
    # before the crypto handler, which would take an armored block for PEM and find nothing in it
    priority: ClassVar[int] = 9

    def sniff(self, path: Path, head: bytes) -> bool:
        # the marker's bytes first: the line-anchored regex tries every byte of the head (~30 us a
        # file, asked of every file of a sweep before the crypto handler), bytes.find does not
        if _ARMOR_MARKER in head and (block := _ARMOR.search(head)) is not None:
            # a block after NUL bytes is inside a binary (a program holding its vendor's key), as for
            # PEM; a PEM certificate or key beside the PGP block: the crypto handler's file
            return b"\x00" not in head[: block.start()] and _OTHER_PEM.search(head) is None
        return _binary_key_start(head)

    def sniff_whole(self, path: Path, data: bytes) -> bool:
        """A key block after a long preamble (a setup script that embeds a repository's key)."""
        return self.sniff(path, data) and _ARMOR.search(data) is not None

    def may_find_further(self, head: bytes) -> bool:
        return b"\x00" not in head  # a block after a NUL is inside a binary; one before it is in the head

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        items: list[Asset | Relation | CollectionError] = []
        data = source.data
        if _ARMOR.search(data):
            fmt, blocks = "openpgp-armored", list(dearmor(data))
        else:
            fmt, blocks = "openpgp", [(0, data)]
        properties: dict[str, Any] = {}
        for line, binary in blocks:
            where = f"armored block at line {line}" if line else "keyring"
            items.extend(self._keys(source, binary, where, properties))
        return ParsedFile(format=fmt, observations=tuple(items), file_properties=properties)

    def _keys(
        self, source: FileSource, binary: bytes, where: str, file_properties: dict[str, Any]
    ) -> Iterator[Asset | Relation | CollectionError]:
        # (key, detail, fingerprint of its primary key or None for a primary key)
        pending: list[tuple[OpenPgpKey, str, str | None]] = []
        user_ids: dict[str, str] = {}
        primary: str | None = None
        try:
            for packet in packets(binary):
                if packet.tag == USER_ID and primary is not None:
                    user_ids.setdefault(primary, packet.body.decode("utf-8", errors="replace"))
                if packet.tag not in _KEY_TAGS:
                    continue
                detail = f"{where}, key {len(pending) + 1}"
                try:
                    key = parse_key(packet.tag, packet.body)
                except (PacketError, ValueError, IndexError, struct.error) as exc:
                    yield CollectionError(str(source.path), COLLECTOR, f"{detail}: unreadable key packet ({exc})")
                    continue
                is_primary = packet.tag in (PUBLIC_KEY, SECRET_KEY)
                pending.append((key, detail, None if is_primary else primary))
                if is_primary:
                    primary = key.fingerprint
        except PacketError as exc:
            yield CollectionError(str(source.path), COLLECTOR, f"{where}: {exc}")
        for key, detail, owner in pending:
            asset = _asset(source, key, detail, owner, user_ids.get(owner or key.fingerprint))
            if asset is None:
                message = f"{detail}: {key.algorithm} key on an unknown curve (OID {key.curve})"
                yield CollectionError(str(source.path), COLLECTOR, message)
                continue
            if key.secret:
                file_properties["contains_private_key"] = True
                if key.protected is False:
                    file_properties["contains_plaintext_private_key"] = True
            yield asset
            yield source.stored_here(asset)


def _asset(source: FileSource, key: OpenPgpKey, detail: str, primary: str | None, user_id: str | None) -> Asset | None:
    if key.spki is None and key.described is None:
        return None
    description = crypto_assets.describe_spki(key.spki) if key.spki is not None else dict(key.described or {})
    description.update(
        key_format="openpgp",
        openpgp_algorithm=key.algorithm,
        openpgp_version=key.version,
        openpgp_fingerprint=key.fingerprint,
        openpgp_key_id=key.fingerprint[-16:],
        openpgp_created=key.created.isoformat(),
        subkey=primary is not None,
    )
    if primary is not None:
        description["primary_fingerprint"] = primary
    if user_id:
        description["user_id"] = user_id
    if key.spki is None:
        description.update(has_private_key=key.secret, encrypted_at_rest=key.protected if key.secret else None)
        return Asset(
            id=f"key:openpgp:{key.fingerprint}",
            type=AssetType.KEY,
            properties=freeze(description),
            locations=(source.location(detail),),
        )
    return crypto_assets.key_asset(
        key.spki,
        source.location(detail),
        has_private_key=key.secret,
        encrypted_at_rest=key.protected if key.secret else None,
        description=description,
    )
