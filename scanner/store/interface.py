"""The store extension point: where scans are kept, whatever the database.

A backend is one module implementing :class:`Store`, registered in the entry-point group
``keysweep.stores`` under the URL scheme it serves (``sqlite``, ``postgresql``). Every backend keeps
the same rows (scans, assets, locations, relations, findings), the same hash chain per scope and
the same versioned schema, so that the same test-suite runs against each.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from scanner.compat import StrEnum
from scanner.inventory.model import TrendPoint

if TYPE_CHECKING:  # streamed reads rows, which raises this module's StoreError
    from scanner.store.streamed import ReportSource


class StoreError(RuntimeError):
    """The store cannot be opened, read or written; the message names the store (never a password)."""


class StoreUnreachable(StoreError):
    """The database server could not be reached (down, refused, timed out)."""


class SchemaError(StoreError):
    """The store's schema is older (run ``keysweep store upgrade``) or newer than this keysweep."""


class DamagedScan(StoreError):
    """One stored scan cannot be read; the rest of the store stays usable."""


@dataclass(frozen=True, slots=True)
class StoredScan:
    id: str
    started_at: str
    finished_at: str
    targets: tuple[str, ...]
    assets: int
    findings: int
    open_findings: int
    readiness: int | None  # None: that scan was not assessed
    by_severity: dict[str, int]
    scope: str = ""
    host: str = ""


@dataclass(frozen=True, slots=True)
class Damaged:
    """A scan row that could not be read: listed, skipped, never fatal."""

    id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Listing:
    scans: tuple[StoredScan, ...]
    damaged: tuple[Damaged, ...] = ()


class SaveStatus(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # the same scan (id and content) was stored before: nothing written


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    scan_id: str
    scope: str
    status: SaveStatus


@dataclass(frozen=True, slots=True)
class ChainProblem:
    scope: str
    scan_id: str
    problem: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    scope: str
    scans: int
    digest: str


@dataclass(frozen=True, slots=True)
class Verification:
    scopes: tuple[ChainHead, ...]
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class AssetRow:
    scan_id: str
    asset_id: str
    type: str
    properties: str  # JSON text: the reader parses it, so one damaged row costs that row only


@dataclass(frozen=True, slots=True)
class LocationRow:
    scan_id: str
    asset_id: str
    kind: str
    ref: str
    detail: str


@dataclass(frozen=True, slots=True)
class RelationRow:
    scan_id: str
    source: str
    target: str
    type: str


class Store(ABC):
    """One store of scans. Writes are one transaction each; reads never need write access."""

    #: where the store is, for messages (a URL without its password)
    display: str

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None: ...

    # -- schema ---------------------------------------------------------------------------------
    @abstractmethod
    def schema_version(self) -> int:
        """The version the store is at (0: empty)."""

    @abstractmethod
    def upgrade(self) -> tuple[int, int]:
        """Apply the pending migrations in order; returns (from, to)."""

    # -- writing --------------------------------------------------------------------------------
    @abstractmethod
    def save(self, report_json: bytes, report: Mapping[str, Any] | None = None) -> SaveOutcome:
        """Store one JSON report (the exact bytes ``--json`` writes), its rows and its chain link.

        ``report`` is what the bytes were rendered from, or read from them: the SQL stores take it
        for the parse when it holds only what reads back from the bytes as it is (``rows.derive``)."""

    def save_report(self, source: ReportSource) -> SaveOutcome:
        """:meth:`save` for a report its renderer hands over in pieces (scanner.store.streamed); a
        store that cannot read it so saves it whole."""
        return self.save(*source.whole())

    # -- reading --------------------------------------------------------------------------------
    @abstractmethod
    def listing(
        self, limit: int | None = None, targets: Sequence[str] | None = None, scope: str | None = None
    ) -> Listing:
        """Scans newest first, and the rows that could not be read."""

    def scans(
        self, limit: int | None = None, targets: Sequence[str] | None = None, scope: str | None = None
    ) -> list[StoredScan]:
        return list(self.listing(limit, targets, scope).scans)

    @abstractmethod
    def resolve(self, ref: str) -> str:
        """A full scan id, from the id or a unique prefix of it."""

    @abstractmethod
    def load_bytes(self, ref: str) -> bytes: ...

    def load(self, ref: str) -> dict[str, Any]:
        import json

        data = self.load_bytes(ref)
        try:
            report: dict[str, Any] = json.loads(data)
        except ValueError as exc:
            raise DamagedScan(f"scan {ref} in {self.display} is damaged: {exc}") from None
        return report

    @abstractmethod
    def trend(self, targets: Sequence[str], limit: int = 12, exclude: str | None = None) -> tuple[TrendPoint, ...]:
        """The last ``limit`` readable scans of these targets, oldest first."""

    @abstractmethod
    def latest_per_scope(self) -> list[StoredScan]:
        """The latest scan of every scope: each scope's current state."""

    @abstractmethod
    def verify(self) -> Verification:
        """Walk every scope's hash chain: altered, deleted or reordered scans are problems."""

    @abstractmethod
    def asset_rows(self, scan_ids: Sequence[str]) -> Iterator[AssetRow]: ...

    @abstractmethod
    def location_rows(self, scan_ids: Sequence[str]) -> Iterator[LocationRow]: ...

    @abstractmethod
    def relation_rows(self, scan_ids: Sequence[str]) -> Iterator[RelationRow]: ...
