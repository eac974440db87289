"""Hostile TLS peers on 127.0.0.1, each a listener with one misbehaviour, for the deadline tests.

accept-and-hang, drip (a real TLS server whose HTTP answer comes one byte a second), hello-then-
stall (a ServerHello, then silence), garbage, reset, bogus lengths (a ServerHello declaring 16 MiB),
huge certificate (a real TLS server presenting a 1 MiB certificate), and serves-once (a real TLS
server for the first connection, silent for every later one). Each runs in daemon threads
of the test process and stops with its handle.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from scanner.compat import UTC
from tests.support.tls_servers import Server, hold, listen, start_silent_socket


def accept_and_hang() -> Server:
    return start_silent_socket()


def server_hello_record(suite: int = 0xC02F, handshake_length: int | None = None) -> bytes:
    """A TLS 1.2 ServerHello record (with the renegotiation_info extension), optionally lying about its length."""
    extensions = struct.pack("!HHB", 0xFF01, 1, 0)
    body = struct.pack("!H", 0x0303) + os.urandom(32) + b"\x20" + os.urandom(32) + struct.pack("!HB", suite, 0)
    body += struct.pack("!H", len(extensions)) + extensions
    length = len(body) if handshake_length is None else handshake_length
    handshake = b"\x02" + struct.pack("!I", length)[1:] + body
    return b"\x16\x03\x03" + struct.pack("!H", len(handshake)) + handshake


def hello_then_stall() -> Server:
    def handle(connection: socket.socket) -> None:
        connection.recv(16384)
        connection.sendall(server_hello_record())
        hold(connection)

    return listen("hello-then-stall", handle)


def garbage() -> Server:
    def handle(connection: socket.socket) -> None:
        connection.recv(16384)
        connection.sendall(b"\x00\x01garbage\xff" + os.urandom(200))
        hold(connection)

    return listen("garbage", handle)


def reset() -> Server:
    def handle(connection: socket.socket) -> None:
        connection.recv(16384)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()

    return listen("reset", handle)


def bogus_lengths() -> Server:
    def handle(connection: socket.socket) -> None:
        connection.recv(16384)
        connection.sendall(server_hello_record(handshake_length=0xFFFFFF))
        hold(connection)

    return listen("bogus-lengths", handle)


def _tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def _tls(name: str, cert: Path, key: Path, after_handshake: Callable[[ssl.SSLSocket], None]) -> Server:
    context = _tls_context(cert, key)

    def handle(connection: socket.socket) -> None:
        connection.settimeout(60)
        try:
            wrapped = context.wrap_socket(connection, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            after_handshake(wrapped)
        except (ssl.SSLError, OSError):
            pass
        finally:
            wrapped.close()

    return listen(name, handle)


def drip(cert: Path, key: Path, interval: float = 1.0) -> Server:
    """A TLS server that reads an HTTP request and answers it one byte per ``interval`` seconds."""

    def after(connection: ssl.SSLSocket) -> None:
        request = connection.recv(16384)
        if not request.startswith((b"GET", b"HEAD")):
            return
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nStrict-Transport-Security: max-age=60\r\n\r\nok"
        for i in range(len(answer)):
            connection.sendall(answer[i : i + 1])
            time.sleep(interval)

    return _tls("drip", cert, key, after)


def serves_once(cert: Path, key: Path) -> Server:
    """A real TLS server for the first connection (keysweep's reachability check), then silent."""
    context = _tls_context(cert, key)
    served = threading.Lock()

    def handle(connection: socket.socket) -> None:
        if not served.acquire(blocking=False):
            hold(connection)
            return
        connection.settimeout(30)
        with contextlib.suppress(ssl.SSLError, OSError):
            context.wrap_socket(connection, server_side=True).close()

    return listen("serves-once", handle)


def huge_certificate(directory: Path, size: int = 1 << 20) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 carrying a private extension of ``size`` bytes."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "huge.example")])
    now = dt.datetime.now(UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x00" * size), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "huge.crt", directory / "huge.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def huge_certificate_server(directory: Path) -> Server:
    cert, key = huge_certificate(directory)
    return _tls("huge-certificate", cert, key, lambda connection: None)
