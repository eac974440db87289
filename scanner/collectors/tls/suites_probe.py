"""Protocol versions and the cipher suites of each, by keysweep's own ClientHellos (issue 12).

For each version from SSL 3.0 to TLS 1.3: offer every suite of the registry table
(``knowledge.tls_cipher_suites``), read the suite the server chose, remove it, and ask again until
the server refuses; a version the server does not speak is refused at the first hello. One hello
per accepted suite plus one per version, never a full handshake (sslyze tries each suite in a
handshake of its own: about 600 per endpoint). The ephemeral key of each suite is read on the way:
the ServerKeyExchange's curve or DH prime (TLS 1.2 and below), the key_share group (TLS 1.3).
SSL 2.0, whose hello has another format, stays with sslyze.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from scanner.collectors.tls import groups_probe, hello, sigalgs_probe
from scanner.inventory import knowledge

VERSIONS = (0x0300, 0x0301, 0x0302, 0x0303, 0x0304)
# OpenSSL's default order first (X25519, P-256, X448, P-521, P-384), so that the curve a server
# picks for each suite is the one common clients get; then every other curve and ffdhe group
_PREFERRED = (0x001D, 0x0017, 0x001E, 0x0019, 0x0018)
LEGACY_GROUPS = (
    *_PREFERRED,
    *(c for c in groups_probe.LEGACY_CURVES if c not in _PREFERRED),
    *(0x0100, 0x0101, 0x0102, 0x0103, 0x0104),
)
# the key sizes sslyze (nassl) reports for the curves, so that both enumerations read alike
_CURVE_BITS = {"x25519": 253, "x448": 448, "secp256r1": 256, "secp384r1": 384, "secp521r1": 521}


@dataclass(frozen=True, slots=True)
class SuitesResult:
    by_protocol: dict[str, tuple[str, ...]] = field(default_factory=dict)  # accepted, in the server's order
    ephemeral_keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # suite -> type, bits, group
    errors: tuple[str, ...] = ()  # a version whose enumeration failed after its retries


def _ephemeral(name: str, flight: dict[int, bytes]) -> dict[str, Any] | None:
    exchange = flight.get(12)
    if exchange is None:
        return None
    if name.startswith(("TLS_ECDHE_", "TLS_ECDH_anon_")) and len(exchange) >= 3 and exchange[0] == 3:
        group = groups_probe.group_name(int(struct.unpack("!H", exchange[1:3])[0]))
        return {"type": "ECDH", "bits": _CURVE_BITS.get(group, 0), "group": group}
    if name.startswith(("TLS_DHE_", "TLS_DH_anon_")) and len(exchange) >= 2:
        length = int(struct.unpack("!H", exchange[0:2])[0])
        prime = int.from_bytes(exchange[2 : 2 + length], "big")
        return {"type": "DH", "bits": prime.bit_length()}
    return None


def _tls13_ephemeral(group_code: int | None) -> dict[str, Any] | None:
    if group_code is None:
        return None
    group = groups_probe.group_name(group_code)
    facts = knowledge.tls_group(group)
    if facts is not None and facts.kind == "ffdhe":
        return {"type": "DH", "bits": int(group.removeprefix("ffdhe"))}
    return {"type": "ECDH", "bits": _CURVE_BITS.get(group, 0), "group": group}


def enumerate_version(
    address: tuple[str, int], server_name: str | None, version: int, timeout: float, deadline: float
) -> tuple[list[str], dict[str, dict[str, Any]], str | None]:
    """(accepted suites in the server's order, their ephemeral keys, the error that cut it short)."""
    table = knowledge.tls_cipher_suites()
    tls13 = version == 0x0304
    remaining = [c for c in table if (c >> 8 == 0x13) == tls13]
    label = hello.VERSION_NAMES[version]
    found: list[str] = []
    ephemeral: dict[str, dict[str, Any]] = {}
    while remaining:
        if tls13:
            shares = [(g, sigalgs_probe.key_share(g) or b"") for g in (0x001D, 0x0017)]
            message = hello.client_hello(
                server_name,
                versions=[0x0304],
                cipher_suites=remaining,
                groups=groups_probe.TLS13_GROUPS,
                key_shares=shares,
            )
        else:
            message = hello.client_hello(
                server_name,
                versions=[version],
                cipher_suites=[*remaining, 0x00FF],
                groups=LEGACY_GROUPS,
            )
        try:
            reply, flight = hello.ask(address, message, timeout, deadline, flight=not tls13)
        except hello.ProbeError as exc:
            return found, ephemeral, f"cipher-suite enumeration ({label}) failed: {exc}"
        if reply.kind == "alert" or reply.version != version:
            break
        if reply.cipher_suite not in remaining:
            return found, ephemeral, f"cipher-suite enumeration ({label}): the server chose a suite not offered"
        name = table[reply.cipher_suite]
        found.append(name)
        remaining.remove(reply.cipher_suite)
        key = _tls13_ephemeral(reply.group) if tls13 else _ephemeral(name, flight)
        if key is not None:
            ephemeral[name] = key
    return found, ephemeral, None


def enumerate_all(address: tuple[str, int], server_name: str | None, timeout: float, deadline: float) -> SuitesResult:
    by_protocol: dict[str, tuple[str, ...]] = {}
    ephemeral: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    for version in VERSIONS:
        suites, keys, error = enumerate_version(address, server_name, version, timeout, deadline)
        by_protocol[hello.VERSION_NAMES[version]] = tuple(suites)
        ephemeral.update(keys)
        if error is not None:
            errors.append(error)
    return SuitesResult(by_protocol, ephemeral, tuple(errors))
