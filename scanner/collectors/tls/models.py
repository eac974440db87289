"""Values passed between the TLS collector's steps: reachability, sslyze's findings, the PQ probe."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanner.targets import format_endpoint


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int

    @property
    def display(self) -> str:
        return format_endpoint(self.host, self.port)

    @property
    def asset_id(self) -> str:
        return f"tls:{self.display}"


@dataclass(frozen=True, slots=True)
class Reachability:
    """The reachability check: the address that answered and the version it chose, or why it failed."""

    endpoint: Endpoint
    ip: str | None = None
    version: str | None = None  # what the server chose when offered TLS 1.0 to 1.3
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SslyzeOutcome:
    """What sslyze's scan commands found on one endpoint, as plain values."""

    properties: Mapping[str, Any] = field(default_factory=dict)
    # each certificate deployment the server presents, leaf first, as DER (it crosses a process)
    chains: tuple[tuple[bytes, ...], ...] = ()
    errors: tuple[str, ...] = ()  # scan commands that failed, one message each
    fatal: str | None = None  # sslyze could not scan the endpoint at all


PROTOCOL_ORDER = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def suite_properties(
    by_protocol: Mapping[str, Sequence[str]], ephemeral: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The tls-endpoint properties derived from the accepted suites per version and their ephemeral keys."""
    accepted = {p: sorted(set(s)) for p, s in by_protocol.items() if s}
    return {
        "protocols": [p for p in PROTOCOL_ORDER if p in accepted],
        "cipher_suites": sorted({name for names in accepted.values() for name in names}),
        "cipher_suites_by_protocol": accepted,
        "ephemeral_keys": {k: dict(v) for k, v in ephemeral.items()},
        "dh_key_sizes": sorted({int(k["bits"]) for k in ephemeral.values() if k.get("type") == "DH"}),
    }
