"""Facts a ServerHello already tells, by keysweep's own ClientHellos instead of sslyze's full
handshakes (issue 12): compression, the extended master secret extension, TLS_FALLBACK_SCSV and
Heartbleed.

Each answer follows sslyze's scan command of the same name, so that both paths report the same
facts (tests/collectors/tls/test_enumeration.py compares them on every test server):

- the version asked is the server's highest, TLS 1.2 when that is TLS 1.3 (no compression,
  renegotiation or downgrade exists in 1.3); a TLS 1.3 server supports EMS by definition and
  cannot be vulnerable to Heartbleed, as sslyze says;
- one hello offering DEFLATE and the extended master secret and heartbeat extensions answers
  compression (the method the ServerHello chose) and EMS (the extension echoed);
- TLS_FALLBACK_SCSV: a hello one version lower carrying the signalling suite; a ServerHello means
  no support; an alert (inappropriate_fallback, or any refusal, as F5 balancers answer), a close or
  a timeout means support;
- Heartbleed: only a server that echoes the heartbeat extension can answer a heartbeat (OpenSSL
  built without heartbeats, every version since 1.1.1, echoes nothing); such a server gets
  sslyze's own test: a hello immediately followed by a heartbeat request whose length leaves no
  room for padding (a patched server drops it, a vulnerable one echoes it), read up to the
  ServerHelloDone and one record more.

Every exchange is bounded by the timeout and the endpoint's deadline. A version below TLS 1.0 is
left to sslyze (``applies``).
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

from scanner.collectors.tls import hello
from scanner.collectors.tls.suites_probe import LEGACY_GROUPS
from scanner.inventory import knowledge

_FALLBACK_SCSV = 0x5600
_HEARTBEAT = 0x000F
_EMS = 0x0017
_DEFLATE = 1
_ECHO = b"\x01" * 10  # a piece of the heartbeat payload, as it would come back
# a server that sends more than this before its ServerHelloDone is not one to read on
_MAX_FLIGHT = 1 << 20


@dataclass(frozen=True, slots=True)
class FeaturesResult:
    """None: that fact could not be learnt (see ``errors``)."""

    compression: bool | None = None
    extended_master_secret: bool | None = None
    fallback_scsv: bool | None = None
    heartbleed: bool | None = None
    errors: tuple[str, ...] = ()


def applies(highest: int | None) -> bool:
    """Whether these probes stand for sslyze's commands on a server whose highest version is ``highest``."""
    return highest is not None and 0x0301 <= highest <= 0x0304


def probe(
    address: tuple[str, int], server_name: str | None, highest: int, timeout: float, deadline: float
) -> FeaturesResult:
    tls13 = highest >= 0x0304
    version = min(highest, 0x0303)
    errors: list[str] = []
    compression: bool | None = None
    ems: bool | None = True if tls13 else None
    heartbeat = False
    message = hello.client_hello(
        server_name,
        versions=[version],
        cipher_suites=hello.LEGACY_SUITES,
        groups=LEGACY_GROUPS,
        compression_methods=bytes([_DEFLATE, 0]),
        extra_extensions=hello.extension(_HEARTBEAT, b"\x01"),  # peer_allowed_to_send
    )
    try:
        reply, _ = hello.ask(address, message, timeout, deadline)
    except hello.ProbeError as exc:
        errors.append(f"compression and extension probe ({hello.VERSION_NAMES[version]}) failed: {exc}")
    else:
        if reply.kind == "server_hello" and reply.version == version:
            compression = reply.compression != 0
            heartbeat = _HEARTBEAT in reply.extensions
            if not tls13:
                ems = _EMS in reply.extensions
        elif tls13:
            compression = False  # a TLS 1.3-only server: no compression
        else:
            errors.append(
                f"compression and extension probe: the server refused a {hello.VERSION_NAMES[version]} hello "
                f"({reply.alert_name or reply.version_name})"
            )
    fallback, error = _fallback(address, server_name, version, timeout, deadline)
    if error is not None:
        errors.append(error)
    # unknown only when the first hello went unanswered; no heartbeat extension: no heartbeat
    heartbleed: bool | None = False if tls13 or compression is not None else None
    if heartbeat and not tls13:
        heartbleed, error = _heartbleed(address, version, timeout, deadline)
        if error is not None:
            errors.append(error)
    return FeaturesResult(compression, ems, fallback, heartbleed, tuple(errors))


def rsa_key_transport(
    address: tuple[str, int], server_name: str | None, highest: int, timeout: float, deadline: float
) -> bool:
    """Whether the server accepts an RSA key transport suite, at the version sslyze's ROBOT test
    uses (the highest, TLS 1.2 for a TLS 1.3 server): without one ROBOT has nothing to test, and
    sslyze answers NOT_VULNERABLE_RSA_NOT_SUPPORTED. One attempt: hello.ProbeError when unanswered."""
    version = min(highest, 0x0303)
    suites = [c for c, n in knowledge.tls_cipher_suites().items() if n.startswith("TLS_RSA_") and "_PSK_" not in n]
    message = hello.client_hello(server_name, versions=[version], cipher_suites=[*suites, 0x00FF], groups=LEGACY_GROUPS)
    reply, _ = hello.ask(address, message, timeout, deadline, attempts=1)
    return reply.kind == "server_hello" and reply.version == version and reply.cipher_suite in suites


def _fallback(
    address: tuple[str, int], server_name: str | None, version: int, timeout: float, deadline: float
) -> tuple[bool | None, str | None]:
    lower = version - 1
    message = hello.client_hello(
        server_name,
        versions=[lower],
        cipher_suites=[*hello.LEGACY_SUITES, _FALLBACK_SCSV],
        groups=LEGACY_GROUPS,
    )
    try:
        reply = hello.exchange(address, message, min(deadline, time.monotonic() + timeout))
    except hello.ProbeError as exc:
        text = str(exc)
        if text.startswith(("cannot connect", "connection refused", "TCP connection", "no time left")):
            return None, f"fallback SCSV probe failed: {text}"
        # the server dropped the downgraded hello (closed, reset or silent): sslyze counts that as support
        return True, None
    if reply.kind == "alert":
        return True, None
    if reply.version != lower:
        asked = hello.VERSION_NAMES[lower]
        return None, f"fallback SCSV probe: the server answered a {asked} hello with {reply.version_name}"
    return False, None


def _heartbleed(
    address: tuple[str, int], version: int, timeout: float, deadline: float
) -> tuple[bool | None, str | None]:
    # no server name, as sslyze: some old servers fail on SNI together with the heartbeat payload
    message = hello.client_hello(
        None,
        versions=[version],
        cipher_suites=hello.LEGACY_SUITES,
        groups=LEGACY_GROUPS,
        extra_extensions=hello.extension(_HEARTBEAT, b"\x01"),
    )
    # RFC 6520: a request whose 16381-byte payload fills its record, leaving no room for the 16 bytes
    # of padding the RFC requires, then a well-formed small one (sslyze's payload, after Mozilla's test)
    record_version = struct.pack("!H", version)
    payload = b"\x01" + struct.pack("!H", 16381) + b"\x01" * 16381
    small = b"\x01" + struct.pack("!H", 3) + b"\x01\x00\x00"
    message += b"\x18" + record_version + struct.pack("!H", len(payload)) + payload
    message += b"\x18" + record_version + struct.pack("!H", len(small)) + small
    end = min(deadline, time.monotonic() + timeout)
    try:
        sock = socket.create_connection(address, timeout=max(0.01, end - time.monotonic()))
    except OSError as exc:
        return None, f"Heartbleed probe failed: cannot connect: {exc.strerror or type(exc).__name__}"
    try:
        sock.sendall(message)
        return _heartbeat_echoed(sock, end), None
    except OSError:
        return False, None  # the server closed the connection on the payload: not vulnerable
    finally:
        sock.close()


def _heartbeat_echoed(sock: socket.socket, end: float) -> bool:
    """Records up to the ServerHelloDone (an alert or a close: not vulnerable), then whether the
    payload came back, in what was read or in one read more (sslyze's reading)."""
    data = b""
    handshake = b""
    offset = 0
    done = False
    while not done:
        while len(data) - offset >= 5:
            kind, length = data[offset], struct.unpack("!H", data[offset + 3 : offset + 5])[0]
            if len(data) - offset - 5 < length:
                break
            body = data[offset + 5 : offset + 5 + length]
            offset += 5 + length
            if kind == 0x15:
                return False
            if kind == 0x18:
                return _ECHO in body
            if kind == 0x16:
                handshake += body
                done = done or _has_hello_done(handshake)
        if done:
            break
        chunk = _recv(sock, end)
        if not chunk or len(data) > _MAX_FLIGHT:
            return False
        data += chunk
    if _ECHO in data[offset:]:
        return True
    return _ECHO in _recv(sock, end)


def _has_hello_done(handshake: bytes) -> bool:
    position = 0
    while position + 4 <= len(handshake):
        kind = handshake[position]
        size = int.from_bytes(handshake[position + 1 : position + 4], "big")
        if kind == 14:
            return True
        position += 4 + size
    return False


def _recv(sock: socket.socket, end: float) -> bytes:
    remaining = end - time.monotonic()
    if remaining <= 0:
        return b""
    sock.settimeout(remaining)
    try:
        return sock.recv(16384)
    except OSError:  # a timeout or a reset: no echo
        return b""
