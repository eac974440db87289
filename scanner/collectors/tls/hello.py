"""A minimal TLS ClientHello writer and ServerHello reader, for probes sslyze cannot make.

sslyze's bundled OpenSSL predates ML-KEM (sslyze issue #700), so the post-quantum probe and the
reachability check speak the first flight of TLS themselves: one ClientHello out, and the
ServerHello, HelloRetryRequest or alert that comes back. No handshake is ever completed.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

_T = TypeVar("_T")

# RFC 8446 section 4.1.3: the ServerHello.random of a HelloRetryRequest
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

VERSION_NAMES = {
    0x0002: "SSLv2",
    0x0300: "SSLv3",
    0x0301: "TLSv1.0",
    0x0302: "TLSv1.1",
    0x0303: "TLSv1.2",
    0x0304: "TLSv1.3",
}

TLS13_SUITES = (0x1301, 0x1302, 0x1303, 0x1304, 0x1305)
# a broad TLS 1.2-and-below list, so that any live server finds one it accepts
LEGACY_SUITES = (
    0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC009, 0xC013, 0xC00A, 0xC014, 0xC023, 0xC027,
    0xC024, 0xC028, 0x009E, 0x009F, 0x0067, 0x006B, 0x0033, 0x0039, 0x009C, 0x009D, 0x003C, 0x003D,
    0x002F, 0x0035, 0xC012, 0x0016, 0x000A, 0x0005, 0x0004, 0x0032, 0x0038, 0x0013, 0x0015, 0x0009,
    0x00FF,
)  # fmt: skip
# ECDSA, RSA-PSS, RSA PKCS#1, EdDSA, ML-DSA (draft-ietf-tls-mldsa), and SHA-1 for old servers
SIGNATURE_SCHEMES = (
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0807, 0x0808,
    0x0809, 0x080A, 0x080B, 0x0904, 0x0905, 0x0906, 0x0201, 0x0203,
)  # fmt: skip

ALERTS = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
    40: "handshake_failure", 42: "bad_certificate", 47: "illegal_parameter", 50: "decode_error",
    51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
    86: "inappropriate_fallback", 109: "missing_extension", 110: "unsupported_extension",
    112: "unrecognized_name", 120: "no_application_protocol",
}  # fmt: skip


class ProbeError(Exception):
    """The peer did not answer as a TLS server would: timeout, reset, or another protocol."""


# Set by the thread probing one endpoint: once the endpoint is given up (sslyze found it dead),
# its remaining probes stop at their next exchange instead of running to the target deadline.
GIVEN_UP: ContextVar[threading.Event | None] = ContextVar("keysweep_tls_given_up", default=None)


@dataclass(frozen=True, slots=True)
class ServerReply:
    """What the server answered to one ClientHello."""

    kind: str  # "server_hello", "hello_retry_request" or "alert"
    version: int | None = None  # the negotiated version (supported_versions, else legacy_version)
    cipher_suite: int | None = None
    group: int | None = None  # key_share group (ServerHello) or selected_group (HelloRetryRequest)
    alert: int | None = None
    compression: int = 0  # the compression method chosen (0: none)
    extensions: tuple[int, ...] = ()  # the extension types of the ServerHello, in its order

    @property
    def version_name(self) -> str | None:
        return None if self.version is None else VERSION_NAMES.get(self.version, hex(self.version))

    @property
    def alert_name(self) -> str | None:
        return None if self.alert is None else ALERTS.get(self.alert, str(self.alert))


def _u8(data: bytes) -> bytes:
    return struct.pack("!B", len(data)) + data


def _u16(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def _codes(values: Sequence[int]) -> bytes:
    return b"".join(struct.pack("!H", v) for v in values)


def _extension(kind: int, body: bytes) -> bytes:
    return struct.pack("!H", kind) + _u16(body)


def extension(kind: int, body: bytes = b"") -> bytes:
    """One encoded ClientHello extension, for ``client_hello(extra_extensions=...)``."""
    return _extension(kind, body)


def client_hello(
    server_name: str | None,
    *,
    versions: Sequence[int],
    cipher_suites: Sequence[int],
    groups: Sequence[int],
    key_shares: Sequence[tuple[int, bytes]] = (),
    signature_schemes: Sequence[int] = SIGNATURE_SCHEMES,
    compression_methods: bytes = b"\x00",
    extra_extensions: bytes = b"",
) -> bytes:
    """One TLS record holding a ClientHello; TLS 1.3 extensions only when 1.3 is offered.

    ``extra_extensions``: encoded extensions appended as they are (see ``extension``)."""
    extensions = b""
    if server_name and not _is_ip(server_name):
        name = server_name.rstrip(".").encode("idna")
        extensions += _extension(0x0000, _u16(b"\x00" + _u16(name)))
    extensions += _extension(0x000A, _u16(_codes(groups)))
    extensions += _extension(0x000B, _u8(b"\x00"))  # ec_point_formats: uncompressed
    extensions += _extension(0x000D, _u16(_codes(signature_schemes)))
    extensions += _extension(0x0017, b"")  # extended_master_secret
    if 0x0304 in versions:
        extensions += _extension(0x002B, _u8(_codes(versions)))
        extensions += _extension(0x002D, _u8(b"\x01"))  # psk_dhe_ke
        shares = b"".join(struct.pack("!H", g) + _u16(k) for g, k in key_shares)
        extensions += _extension(0x0033, _u16(shares))
    extensions += extra_extensions
    legacy_version = min(max(versions), 0x0303)
    body = (
        struct.pack("!H", legacy_version)
        + os.urandom(32)
        + _u8(os.urandom(32))  # a legacy session id, as middlebox-compatible clients send
        + _u16(_codes(cipher_suites))
        + _u8(compression_methods)
        + _u16(extensions)
    )
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + _u16(handshake)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Reader:
    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._buffer = b""

    def exactly(self, count: int) -> bytes:
        while len(self._buffer) < count:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise ProbeError("no TLS answer before the timeout")
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                raise ProbeError("no TLS answer before the timeout") from None
            except OSError as exc:
                raise ProbeError(f"connection failed: {exc.strerror or type(exc).__name__}") from None
            if not chunk:
                if self._buffer:
                    raise ProbeError("connection closed in the middle of a TLS record")
                raise ProbeError("connection closed without a TLS answer")
            self._buffer += chunk
        out, self._buffer = self._buffer[:count], self._buffer[count:]
        return out


# OpenSSL's default limit on a peer's certificate list (SSL_MAX_CERT_LIST_DEFAULT): clients built
# on it refuse a larger Certificate message
MAX_CERTIFICATE_LIST = 100 * 1024
# no ServerHello comes near this; a larger declared length is a lie or another protocol
_MAX_SERVER_HELLO = 64 * 1024
_FULL_RECORD = 16384  # a record's largest plaintext (RFC 8446 section 5.1)
_LONE_EXTENSIONS = 200  # an encrypted record this small holds no certificate


class HandshakeReader:
    """Handshake messages from the server, record by record, within one deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._reader = _Reader(sock, deadline)
        self._handshake = b""
        self.alert: int | None = None
        self.encrypted_bytes = 0  # TLS 1.3: the application_data records read so far

    def record(self) -> tuple[int, bytes]:
        header = self._reader.exactly(5)
        content_type, major, length = header[0], header[1], struct.unpack("!H", header[3:5])[0]
        if content_type not in (0x14, 0x15, 0x16, 0x17) or major != 3:
            preview = header.decode("latin-1").encode("unicode_escape").decode("ascii")
            raise ProbeError(f"the server does not speak TLS (it answered {preview!r}...)")
        if length > _FULL_RECORD + 2048:
            raise ProbeError(f"the server sent a TLS record of {length} bytes, over the protocol's limit of 18432")
        return content_type, self._reader.exactly(length)

    def message(self) -> tuple[int, bytes] | None:
        """The next handshake message; None after an alert (kept in ``alert``)."""
        while True:
            if len(self._handshake) >= 4:
                kind = self._handshake[0]
                size = struct.unpack("!I", b"\x00" + self._handshake[1:4])[0]
                if kind == 2 and size > _MAX_SERVER_HELLO:
                    raise ProbeError(f"the server's ServerHello declares {size} bytes: a bogus length")
                if kind == 11 and size > MAX_CERTIFICATE_LIST:
                    raise ProbeError(
                        f"the server's certificate list is {size:,} bytes, more than TLS clients accept "
                        f"(OpenSSL's limit is {MAX_CERTIFICATE_LIST:,} bytes): its certificate is too large"
                    )
                if len(self._handshake) >= 4 + size:
                    body = self._handshake[4 : 4 + size]
                    self._handshake = self._handshake[4 + size :]
                    return kind, body
            content_type, fragment = self.record()
            if content_type == 0x15:
                if len(fragment) < 2:
                    raise ProbeError("truncated TLS alert")
                self.alert = fragment[1]
                return None
            if content_type == 0x16:
                self._handshake += fragment
            elif content_type == 0x17:
                self.encrypted_bytes += len(fragment)
                return 0x17, fragment  # encrypted: TLS 1.3 after the ServerHello
            # 0x14: a middlebox-compatibility ChangeCipherSpec; read on


def read_reply(sock: socket.socket, deadline: float) -> ServerReply:
    """Read records until the ServerHello (or HelloRetryRequest) or an alert."""
    return _first_reply(HandshakeReader(sock, deadline))


def _first_reply(reader: HandshakeReader) -> ServerReply:
    message = reader.message()
    if message is None:
        return ServerReply("alert", alert=reader.alert)
    if message[0] != 2:
        raise ProbeError(f"unexpected TLS handshake message type {message[0]} instead of ServerHello")
    return parse_server_hello(message[1])


def read_flight(sock: socket.socket, deadline: float) -> tuple[ServerReply, dict[int, bytes]]:
    """The ServerHello and the rest of the server's first flight.

    TLS 1.2 and below: the handshake messages up to ServerHelloDone, by type (11 Certificate,
    12 ServerKeyExchange, ...). TLS 1.3: the flight is encrypted; its records are read until the
    certificate has passed (the first record that is not full, after a lone EncryptedExtensions),
    so that a stall after the ServerHello or an oversized certificate shows; nothing is returned.
    """
    reader = HandshakeReader(sock, deadline)
    reply = _first_reply(reader)
    messages: dict[int, bytes] = {}
    if reply.kind != "server_hello":
        return reply, messages
    while True:
        try:
            message = reader.message()
        except ProbeError as exc:
            if "before the timeout" in str(exc):
                raise ProbeError("the server stalled after its ServerHello: no TLS answer before the timeout") from None
            raise
        if message is None:
            alert = ALERTS.get(reader.alert or 0, reader.alert)
            raise ProbeError(f"the server sent alert {alert} after its ServerHello")
        kind, body = message
        if kind == 0x17:
            if reader.encrypted_bytes > MAX_CERTIFICATE_LIST + _FULL_RECORD:
                raise ProbeError(
                    f"the server's first encrypted flight is over {reader.encrypted_bytes:,} bytes, more than "
                    f"TLS clients accept for a certificate list (OpenSSL's limit is {MAX_CERTIFICATE_LIST:,} "
                    "bytes): its certificate is too large"
                )
            # a record that is not full ends the flight as servers write it; except a first, small
            # one: a lone EncryptedExtensions, which the Certificate must follow
            lone_extensions = reader.encrypted_bytes == len(body) and len(body) < _LONE_EXTENSIONS
            if len(body) < _FULL_RECORD and not lone_extensions:
                return reply, messages
            continue
        messages[kind] = body
        if kind == 14:  # ServerHelloDone
            return reply, messages


def parse_server_hello(body: bytes) -> ServerReply:
    try:
        legacy_version = struct.unpack("!H", body[0:2])[0]
        random = body[2:34]
        offset = 34
        offset += 1 + body[offset]  # session id
        suite = struct.unpack("!H", body[offset : offset + 2])[0]
        compression = body[offset + 2]
        offset += 3  # cipher suite + compression method
        version, group = legacy_version, None
        extensions: list[int] = []
        if offset + 2 <= len(body):
            end = offset + 2 + struct.unpack("!H", body[offset : offset + 2])[0]
            offset += 2
            while offset + 4 <= end:
                kind, size = struct.unpack("!HH", body[offset : offset + 4])
                value = body[offset + 4 : offset + 4 + size]
                offset += 4 + size
                extensions.append(kind)
                if kind == 0x002B and size >= 2:
                    version = struct.unpack("!H", value[:2])[0]
                elif kind == 0x0033 and size >= 2:
                    group = struct.unpack("!H", value[:2])[0]
    except (struct.error, IndexError):
        raise ProbeError("malformed ServerHello") from None
    kind = "hello_retry_request" if random == HRR_RANDOM else "server_hello"
    return ServerReply(
        kind, version=version, cipher_suite=suite, group=group, compression=compression, extensions=tuple(extensions)
    )


def exchange(address: tuple[str, int], hello: bytes, deadline: float) -> ServerReply:
    """Connect, send one ClientHello, read the answer; everything within the deadline."""
    return _exchange(address, hello, deadline, read_reply)


def exchange_flight(address: tuple[str, int], hello: bytes, deadline: float) -> tuple[ServerReply, dict[int, bytes]]:
    """As ``exchange``, and read the rest of the server's first flight (see ``read_flight``)."""
    return _exchange(address, hello, deadline, read_flight)


def _exchange(
    address: tuple[str, int], hello: bytes, deadline: float, read: Callable[[socket.socket, float], _T]
) -> _T:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ProbeError("no time left before the timeout")
    try:
        sock = socket.create_connection(address, timeout=remaining)
    except TimeoutError:
        raise ProbeError("TCP connection timed out") from None
    except ConnectionRefusedError:
        raise ProbeError("connection refused") from None
    except OSError as exc:
        raise ProbeError(f"cannot connect: {exc.strerror or type(exc).__name__}") from None
    try:
        try:
            sock.sendall(hello)
        except OSError as exc:
            raise ProbeError(f"connection failed: {exc.strerror or type(exc).__name__}") from None
        return read(sock, deadline)
    finally:
        sock.close()


def ask(
    address: tuple[str, int],
    message: bytes,
    timeout: float,
    deadline: float,
    *,
    flight: bool = False,
    attempts: int = 3,
) -> tuple[ServerReply, dict[int, bytes]]:
    """One probe, retried while it fails for want of an answer (timeout, reset) and time remains.

    Each attempt has ``timeout`` seconds, all of them end by ``deadline``; the last failure is
    raised, so that a caller never reads an unanswered probe as a refusal.
    """
    last: ProbeError | None = None
    tried = 0
    given_up = GIVEN_UP.get()
    for tried in range(1, attempts + 1):  # noqa: B007 -- the count is reported
        if given_up is not None and given_up.is_set():
            raise ProbeError("the endpoint was given up")
        attempt_deadline = min(deadline, time.monotonic() + timeout)
        if attempt_deadline <= time.monotonic():
            break
        try:
            if flight:
                return exchange_flight(address, message, attempt_deadline)
            return exchange(address, message, attempt_deadline), {}
        except ProbeError as exc:
            last = exc
    raise ProbeError(f"{last or 'no time left before the target deadline'} (after {tried} attempts)")
