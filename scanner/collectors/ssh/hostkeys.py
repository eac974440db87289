"""Every host key an SSH server offers: one key exchange per host-key algorithm family, with
asyncssh doing the exchange. keysweep never authenticates: the key (or a host certificate's CA
key) is taken in asyncssh's host-key validation callback, which then declines the key, so the
connection ends right after the key exchange, before any user authentication.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncssh

_CERT_SUFFIX = "-cert-v01@openssh.com"
# algorithms that sign with the same key: one exchange shows that key
_FAMILY = {
    "ssh-rsa": "rsa",
    "rsa-sha2-256": "rsa",
    "rsa-sha2-512": "rsa",
    "ssh-rsa" + _CERT_SUFFIX: "rsa-cert",
    "rsa-sha2-256" + _CERT_SUFFIX: "rsa-cert",
    "rsa-sha2-512" + _CERT_SUFFIX: "rsa-cert",
}


@dataclass(frozen=True, slots=True)
class HostKey:
    algorithm: str  # the host-key algorithm negotiated to fetch it
    openssh: bytes  # "ssh-ed25519 AAAA..." (the plain key, also for a certificate)
    ca_openssh: bytes | None = None  # the signing CA's key when the server presented a certificate
    certificate: bytes | None = None  # that certificate's wire blob (validity, principals: openssh_cert.py)


@dataclass(frozen=True, slots=True)
class HostKeyAttempt:
    algorithm: str
    key: HostKey | None = None
    error: str = ""


def family(algorithm: str) -> str:
    return _FAMILY.get(algorithm, algorithm)


def one_per_family(algorithms: Sequence[str], supported: Sequence[str]) -> list[str]:
    """The server's host-key algorithms that asyncssh can verify, one per key (server order)."""
    chosen: dict[str, str] = {}
    for name in algorithms:
        if name in supported and family(name) not in chosen:
            chosen[family(name)] = name
    return list(chosen.values())


class _KeyCatcher(asyncssh.SSHClient):
    """Keeps the key the server proved it holds, then declines it: no authentication follows."""

    def __init__(self) -> None:
        self.key: Any = None
        self.ca_key: Any = None
        self.blob: bytes | None = None

    def connection_made(self, conn: Any) -> None:
        # asyncssh hands a client only a host certificate's CA key; the certificate itself (validity,
        # principals) is the blob the server sent, kept here on its way to asyncssh's own check
        validate = conn.validate_server_host_key

        def keep(key_data: bytes) -> Any:
            self.blob = bytes(key_data)
            return validate(key_data)

        conn.validate_server_host_key = keep

    def validate_host_public_key(self, host: str, addr: str, port: int, key: Any) -> bool:
        self.key = key
        return False

    def validate_host_ca_key(self, host: str, addr: str, port: int, key: Any) -> bool:
        self.ca_key = key
        return False


def supported_host_key_algorithms() -> list[str]:
    return [
        a.decode() for a in (*asyncssh.public_key.get_public_key_algs(), *asyncssh.public_key.get_certificate_algs())
    ]


def _supported(kind: str) -> set[str]:
    getter = {
        "kex": asyncssh.kex.get_kex_algs,
        "cipher": asyncssh.encryption.get_encryption_algs,
        "mac": asyncssh.mac.get_mac_algs,
        "compression": asyncssh.compression.get_compression_algs,
    }[kind]
    return {a.decode() for a in getter()}


async def fetch_host_key(
    host: str, port: int, algorithm: str, kex: Sequence[str], ciphers: Sequence[str], macs: Sequence[str]
) -> HostKeyAttempt:
    """One key exchange limited to ``algorithm``; the caller bounds it in time."""
    catcher = _KeyCatcher()
    # offer what the server offers (legacy servers included), within what asyncssh implements
    options: dict[str, Any] = {
        "kex_algs": [k for k in kex if k in _supported("kex")] or (),
        "encryption_algs": [c for c in ciphers if c in _supported("cipher")] or (),
        "mac_algs": [m for m in macs if m in _supported("mac")] or (),
        "server_host_key_algs": [algorithm],
        "known_hosts": (),
        "username": "keysweep",
        "client_keys": None,
        "agent_path": None,
        "config": None,
    }
    try:
        conn, _client = await asyncssh.create_connection(lambda: catcher, host, port, **options)
        conn.abort()  # not reached: the catcher declines every key
    except asyncssh.HostKeyNotVerifiable:
        pass
    except (asyncssh.Error, OSError, ValueError) as exc:
        if catcher.key is None and catcher.ca_key is None:
            return HostKeyAttempt(algorithm, error=f"{type(exc).__name__}: {exc}".strip())
    if catcher.key is None and catcher.ca_key is None:
        return HostKeyAttempt(algorithm, error="the server completed no key exchange with this algorithm")
    if algorithm.endswith(_CERT_SUFFIX):
        # asyncssh shows only the CA key of a host certificate; the certified key is the plain one
        ca = catcher.ca_key.export_public_key("openssh").split(b" ")[0:2] if catcher.ca_key is not None else None
        return HostKeyAttempt(algorithm, HostKey(algorithm, b"", b" ".join(ca) if ca else None, catcher.blob))
    plain = b" ".join(catcher.key.export_public_key("openssh").split(b" ")[0:2])
    return HostKeyAttempt(algorithm, HostKey(algorithm, plain))
