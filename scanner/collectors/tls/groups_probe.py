"""Which classical key-exchange groups a server accepts, by keysweep's own ClientHellos.

TLS 1.3: offer the candidate groups with an empty key_share (RFC 8446 section 4.2.8 allows it);
the server names the group it wants in a HelloRetryRequest. Remove that group and ask again, until
the server refuses. TLS 1.2 and below: offer the ECDHE suites and the candidate curves; the curve
the server chose is in its ServerKeyExchange. Either way the groups come out in the server's order
of choice, with one handshake per group plus one.

A probe that gets no answer (timeout, reset) is retried; when it still fails, the result says the
list may be incomplete and why. It never reads a failure as "not supported".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from scanner.collectors.tls import hello
from scanner.inventory import knowledge

# the groups TLS 1.3 defines for (EC)DHE, in code-point order: NIST curves, X25519/X448, the RFC
# 8734 brainpool groups, and the RFC 7919 finite-field groups
TLS13_GROUPS = (0x0017, 0x0018, 0x0019, 0x001D, 0x001E, 0x001F, 0x0020, 0x0021, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104)
# every named curve RFC 8422 and RFC 7027 let TLS 1.2 and below use
LEGACY_CURVES = tuple(range(0x0001, 0x001F))
ECDHE_SUITES = (*(s for s in hello.LEGACY_SUITES if s >> 8 == 0xC0 or s in (0xCCA8, 0xCCA9)), 0x00FF)
ATTEMPTS = 3
_NAMES = {0x001F: "brainpoolP256r1tls13", 0x0020: "brainpoolP384r1tls13", 0x0021: "brainpoolP512r1tls13"}


@dataclass(frozen=True, slots=True)
class GroupsResult:
    version: str  # the protocol version the groups were enumerated with
    groups: tuple[str, ...]  # IANA names, in the server's order of choice
    error: str | None = None  # set when a probe failed after its retries: the list may be incomplete


def group_name(code: int) -> str:
    group = knowledge.tls_group_by_code(code)
    return group.name if group is not None else _NAMES.get(code, f"0x{code:04x}")


def enumerate_tls13(address: tuple[str, int], server_name: str | None, timeout: float, deadline: float) -> GroupsResult:
    remaining = list(TLS13_GROUPS)
    found: list[str] = []
    while remaining:
        message = hello.client_hello(
            server_name, versions=[0x0304], cipher_suites=hello.TLS13_SUITES, groups=remaining, key_shares=[]
        )
        try:
            reply, _ = hello.ask(address, message, timeout, deadline, attempts=ATTEMPTS)
        except hello.ProbeError as exc:
            return GroupsResult("TLSv1.3", tuple(found), f"groups probe (TLS 1.3) failed: {exc}")
        if reply.kind == "alert":
            break
        if reply.group is None or reply.group not in remaining:
            return GroupsResult(
                "TLSv1.3",
                tuple(found),
                f"groups probe (TLS 1.3): the server chose {reply.group!r}, which was not offered",
            )
        found.append(group_name(reply.group))
        remaining.remove(reply.group)
    return GroupsResult("TLSv1.3", tuple(found))


def _curve_of(server_key_exchange: bytes) -> int | None:
    """The named curve of an ECDHE ServerKeyExchange (RFC 8422 section 5.4): curve_type 3, then the code."""
    if len(server_key_exchange) >= 3 and server_key_exchange[0] == 3:
        return int(struct.unpack("!H", server_key_exchange[1:3])[0])
    return None


def enumerate_legacy(
    address: tuple[str, int], server_name: str | None, version: int, timeout: float, deadline: float
) -> GroupsResult:
    """TLS 1.2 and below. supported_groups there also names the curves the client can verify, so a
    server with an ECDSA certificate refuses once its certificate's curve is removed: after the
    first refusal the first curve found is offered again, last, to keep the certificate usable."""
    label = hello.VERSION_NAMES.get(version, hex(version))
    remaining = list(LEGACY_CURVES)
    found: list[int] = []
    keep: list[int] = []  # a curve found already, offered last once the server refused without it
    while remaining:
        message = hello.client_hello(
            server_name, versions=[version], cipher_suites=ECDHE_SUITES, groups=remaining + keep
        )
        try:
            reply, messages = hello.ask(address, message, timeout, deadline, flight=True, attempts=ATTEMPTS)
        except hello.ProbeError as exc:
            return GroupsResult(label, tuple(map(group_name, found)), f"groups probe ({label}) failed: {exc}")
        if reply.kind == "alert":
            if keep or not found:
                break
            keep = [found[0]]
            continue
        curve = _curve_of(messages.get(12, b""))
        if curve in keep:
            break  # the server prefers the kept curve over every one left: none of those is learnt
        if curve is None or curve not in remaining:
            return GroupsResult(
                label, tuple(map(group_name, found)), f"groups probe ({label}): no ECDHE curve in the server's answer"
            )
        found.append(curve)
        remaining.remove(curve)
    return GroupsResult(label, tuple(map(group_name, found)))
