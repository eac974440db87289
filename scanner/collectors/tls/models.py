"""Values passed between the TLS collector's steps: reachability, sslyze's findings, the PQ probe."""

from __future__ import annotations

from collections.abc import Mapping
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
