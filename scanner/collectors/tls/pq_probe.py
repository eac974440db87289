"""Which post-quantum key-exchange groups a TLS 1.3 server accepts (sslyze cannot ask: issue #700).

For each group, one ClientHello offers that group alone, with a well-formed key share of the right
length; the server either selects it (ServerHello or HelloRetryRequest) or refuses with an alert.
The shares are real: an X25519 or ECDH public key from cryptography, and an ML-KEM encapsulation
key whose coefficients are all below q, so a server that checks its input (FIPS 203 section 7.2)
accepts it. The handshake is never completed, so no key is ever used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from scanner.collectors.tls import hello
from scanner.inventory import knowledge
from scanner.inventory.knowledge import TlsGroup

_Q = 3329  # the ML-KEM modulus (FIPS 203 section 2.4)
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw
_POINT = serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint


def mlkem_encapsulation_key(k: int) -> bytes:
    """A valid-looking ML-KEM encapsulation key: ByteEncode12 of k*256 coefficients below q, then rho."""
    coefficients = [int.from_bytes(os.urandom(2), "big") % _Q for _ in range(256 * k)]
    out = bytearray()
    for a, b in zip(coefficients[0::2], coefficients[1::2], strict=True):
        out += bytes((a & 0xFF, (a >> 8) | ((b & 0x0F) << 4), b >> 4))
    return bytes(out) + os.urandom(32)


def _x25519() -> bytes:
    return x25519.X25519PrivateKey.generate().public_key().public_bytes(*_RAW)


def _ec_point(curve: ec.EllipticCurve) -> bytes:
    return ec.generate_private_key(curve).public_key().public_bytes(*_POINT)


@cache
def key_share(group_name: str) -> bytes:
    """A key share for the group; cached, since a probe never completes the exchange."""
    mlkem = {"MLKEM512": 2, "MLKEM768": 3, "MLKEM1024": 4}
    if group_name in mlkem:
        return mlkem_encapsulation_key(mlkem[group_name])
    if group_name == "X25519MLKEM768":
        return mlkem_encapsulation_key(3) + _x25519()
    if group_name == "SecP256r1MLKEM768":
        return _ec_point(ec.SECP256R1()) + mlkem_encapsulation_key(3)
    if group_name == "SecP384r1MLKEM1024":
        return _ec_point(ec.SECP384R1()) + mlkem_encapsulation_key(4)
    if group_name == "x25519":
        return _x25519()
    raise ValueError(f"no key share generator for group {group_name}")


def probed_groups() -> list[TlsGroup]:
    """The groups the probe asks about: every hybrid and ML-KEM group in the knowledge base except
    MLKEM512 (category 1, which no deployment offers), in code-point order."""
    return sorted((g for g in knowledge.post_quantum_tls_groups() if g.name != "MLKEM512"), key=lambda g: g.code)


@dataclass(frozen=True, slots=True)
class GroupAnswer:
    group: str
    accepted: bool
    detail: str  # "ServerHello", "HelloRetryRequest", "alert handshake_failure", or the probe error


def probe_group(
    address: tuple[str, int], server_name: str | None, group: TlsGroup, timeout: float, deadline: float
) -> GroupAnswer:
    share = key_share(group.name)
    if group.share_length is not None and len(share) != group.share_length:
        raise AssertionError(f"{group.name}: key share is {len(share)} bytes, expected {group.share_length}")
    message = hello.client_hello(
        server_name,
        versions=[0x0304],
        cipher_suites=hello.TLS13_SUITES,
        groups=[group.code],
        key_shares=[(group.code, share)],
    )
    try:
        reply, _ = hello.ask(address, message, timeout, deadline)
    except hello.ProbeError as exc:
        return GroupAnswer(group.name, False, f"error: {exc}")
    if reply.kind == "alert":
        return GroupAnswer(group.name, False, f"alert {reply.alert_name}")
    accepted = reply.version == 0x0304 and reply.group == group.code
    what = "HelloRetryRequest" if reply.kind == "hello_retry_request" else "ServerHello"
    return GroupAnswer(group.name, accepted, what if accepted else f"{what} without the group")


def probe(
    address: tuple[str, int],
    server_name: str | None,
    timeout: float,
    groups: Sequence[TlsGroup] | None = None,
    deadline: float | None = None,
) -> list[GroupAnswer]:
    """Ask about each group in turn, each within ``timeout`` (retried when unanswered), all by ``deadline``."""
    end = deadline if deadline is not None else time.monotonic() + 3 * timeout * len(groups or probed_groups())
    return [probe_group(address, server_name, g, timeout, end) for g in (groups or probed_groups())]
