"""The first two messages of an SSH server, read without authenticating: its identification
banner (RFC 4253 section 4.2) and its KEXINIT (section 7.1), parsed with fixed bounds.

Nothing here negotiates: keysweep sends its own identification, reads the server's algorithm
lists in the server's order of preference and closes. Every read is bounded in size; the caller
bounds it in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import struct
from dataclasses import dataclass

from scanner import __version__

CLIENT_IDENT = f"SSH-2.0-keysweep_{__version__}\r\n".encode("ascii")
# RFC 4253 4.2: the identification line is at most 255 bytes; servers may send other lines first
_MAX_LINE = 255
_MAX_PRE_BANNER_LINES = 32
# RFC 4253 6.1: implementations must handle packets of 35,000 bytes; a KEXINIT is far smaller
_MAX_PACKET = 35_000
_MSG_KEXINIT = 20
_MSG_KEX_DH_GEX_GROUP = 31
_MSG_KEX_DH_GEX_REQUEST = 34
GEX_METHODS = ("diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1")
_NAME_LISTS = (
    "kex",
    "host_key_algorithms",
    "ciphers_client_to_server",
    "ciphers_server_to_client",
    "macs_client_to_server",
    "macs_server_to_client",
    "compression_client_to_server",
    "compression_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
)
_IDENT = re.compile(r"^SSH-(?P<proto>[0-9.]+)-(?P<software>[^\s]*)(?:\s+(?P<comments>.*))?$")


class SshProtocolError(Exception):
    """The peer did not speak SSH as RFC 4253 describes; the message says what it sent instead."""


@dataclass(frozen=True, slots=True)
class ServerKexInit:
    banner: str  # the identification line, without CR LF
    protocol_version: str  # "2.0", "1.99" (SSH-1 and 2), "1.5"
    software: str  # e.g. "OpenSSH_9.2p1"
    comments: str  # e.g. "Debian-2+deb12u3"
    kex: tuple[str, ...]
    host_key_algorithms: tuple[str, ...]
    ciphers_client_to_server: tuple[str, ...]
    ciphers_server_to_client: tuple[str, ...]
    macs_client_to_server: tuple[str, ...]
    macs_server_to_client: tuple[str, ...]
    compression_client_to_server: tuple[str, ...]
    compression_server_to_client: tuple[str, ...]


def parse_identification(line: bytes) -> tuple[str, str, str, str]:
    """(banner, protocol version, software, comments) of a server identification line."""
    try:
        text = line.rstrip(b"\r\n").decode("utf-8")
    except UnicodeDecodeError:
        raise SshProtocolError("identification line is not UTF-8") from None
    match = _IDENT.match(text)
    if match is None:
        raise SshProtocolError(f"malformed identification line {text[:80]!r}")
    return text, match["proto"], match["software"], match["comments"] or ""


def parse_kexinit(payload: bytes) -> dict[str, tuple[str, ...]]:
    """The ten name-lists of a KEXINIT payload (message number, cookie, lists, flag, reserved)."""
    if not payload or payload[0] != _MSG_KEXINIT:
        got = payload[0] if payload else "nothing"
        raise SshProtocolError(f"expected KEXINIT (message 20), got message {got}")
    offset = 17  # message number + 16-byte cookie
    lists: dict[str, tuple[str, ...]] = {}
    for name in _NAME_LISTS:
        if offset + 4 > len(payload):
            raise SshProtocolError("KEXINIT truncated")
        (length,) = struct.unpack_from(">I", payload, offset)
        offset += 4
        if offset + length > len(payload):
            raise SshProtocolError(f"KEXINIT name-list {name} runs past the packet ({length} bytes)")
        raw = payload[offset : offset + length]
        offset += length
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise SshProtocolError(f"KEXINIT name-list {name} is not ASCII") from None
        lists[name] = tuple(n for n in text.split(",") if n)
    return lists


async def _read_identification(reader: asyncio.StreamReader) -> bytes:
    for _ in range(_MAX_PRE_BANNER_LINES + 1):
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise SshProtocolError(f"no line end within {_MAX_LINE} bytes: not an SSH server") from None
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise SshProtocolError("connection closed before the SSH identification") from None
            raise SshProtocolError(f"connection closed after {exc.partial[:40]!r}: not an SSH server") from None
        if len(line) > _MAX_LINE + 2:
            raise SshProtocolError(f"line of {len(line)} bytes before the identification: not an SSH server")
        if line.startswith(b"SSH-"):
            return line
        if line.startswith(b"HTTP/"):
            raise SshProtocolError(f"an HTTP server answered ({line.strip()[:40]!r}): not an SSH server")
    raise SshProtocolError(f"no SSH identification within {_MAX_PRE_BANNER_LINES} lines")


async def _read_packet(reader: asyncio.StreamReader) -> bytes:
    try:
        header = await reader.readexactly(5)
        length, padding = struct.unpack(">IB", header)
        if not 5 <= length <= _MAX_PACKET or padding >= length:
            raise SshProtocolError(f"implausible SSH packet length {length} (padding {padding})")
        body = await reader.readexactly(length - 1)
    except asyncio.IncompleteReadError:
        raise SshProtocolError("connection closed in the middle of the server's KEXINIT") from None
    return body[: length - 1 - padding]


async def read_server_kexinit(host: str, port: int) -> ServerKexInit:
    """Connect, exchange identifications, read the server's KEXINIT and close. No time bound of its
    own: the caller wraps it in its per-target deadline."""
    reader, writer = await asyncio.open_connection(host, port, limit=_MAX_LINE + 2)
    try:
        writer.write(CLIENT_IDENT)
        await writer.drain()
        banner, proto, software, comments = parse_identification(await _read_identification(reader))
        if not (proto == "2.0" or proto == "1.99"):
            # an SSH-1-only server sends no KEXINIT
            return ServerKexInit(banner, proto, software, comments, (), (), (), (), (), (), (), ())
        lists = parse_kexinit(await _read_packet(reader))
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return ServerKexInit(
        banner,
        proto,
        software,
        comments,
        lists["kex"],
        lists["host_key_algorithms"],
        lists["ciphers_client_to_server"],
        lists["ciphers_server_to_client"],
        lists["macs_client_to_server"],
        lists["macs_server_to_client"],
        lists["compression_client_to_server"],
        lists["compression_server_to_client"],
    )


def _name_list(names: tuple[str, ...]) -> bytes:
    raw = ",".join(names).encode("ascii")
    return struct.pack(">I", len(raw)) + raw


def _packet(payload: bytes) -> bytes:
    """An unencrypted binary packet (RFC 4253 6): padding to a multiple of 8, at least 4 bytes."""
    padding = 8 - (5 + len(payload)) % 8
    padding += 8 if padding < 4 else 0
    return struct.pack(">IB", 1 + len(payload) + padding, padding) + payload + os.urandom(padding)


def _mpint(payload: bytes, offset: int) -> tuple[int, int]:
    if offset + 4 > len(payload):
        raise SshProtocolError("KEX_DH_GEX_GROUP truncated")
    (length,) = struct.unpack_from(">I", payload, offset)
    if offset + 4 + length > len(payload):
        raise SshProtocolError(f"KEX_DH_GEX_GROUP integer of {length} bytes runs past the packet")
    return int.from_bytes(payload[offset + 4 : offset + 4 + length], "big"), offset + 4 + length


async def read_gex_modulus_bits(host: str, port: int, method: str, minimum: int, preferred: int, maximum: int) -> int:
    """The size of the prime a server offers for Diffie-Hellman group exchange when a client asks
    for (minimum, preferred, maximum) bits (RFC 4419). The exchange stops at the server's group:
    nothing is computed and no key is agreed."""
    reader, writer = await asyncio.open_connection(host, port, limit=_MAX_LINE + 2)
    try:
        writer.write(CLIENT_IDENT)
        await _read_identification(reader)
        lists = parse_kexinit(await _read_packet(reader))
        # agree on the group exchange and on whatever the server lists first for the rest
        ours = [
            (method,),
            lists["host_key_algorithms"][:1],
            lists["ciphers_client_to_server"][:1],
            lists["ciphers_server_to_client"][:1],
            lists["macs_client_to_server"][:1],
            lists["macs_server_to_client"][:1],
            ("none",),
            ("none",),
            (),
            (),
        ]
        kexinit = bytes([_MSG_KEXINIT]) + os.urandom(16) + b"".join(_name_list(n) for n in ours) + b"\0" + bytes(4)
        request = struct.pack(">BIII", _MSG_KEX_DH_GEX_REQUEST, minimum, preferred, maximum)
        writer.write(_packet(kexinit) + _packet(request))
        await writer.drain()
        payload = await _read_packet(reader)
        if not payload or payload[0] != _MSG_KEX_DH_GEX_GROUP:
            raise SshProtocolError(f"expected KEX_DH_GEX_GROUP (31), got message {payload[:1].hex() or 'nothing'}")
        prime, _ = _mpint(payload, 1)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return prime.bit_length()
