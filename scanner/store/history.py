"""The history store: one SQLite file, one row per scan holding that scan's JSON report.

Each scan is written in one transaction (WAL journal, synchronous=FULL): a process killed while
writing leaves the previous scans intact and the half-written one absent. A stored report is
byte for byte what ``--json`` writes, so ``diff`` reads a store entry and a report file alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from scanner.inventory.model import ScanResult, TrendPoint, freeze, iso_time
from scanner.inventory.summary import is_projection, summarize

STORE_ENV = "KEYSWEEP_STORE"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    id            TEXT PRIMARY KEY,
    started_at    TEXT NOT NULL,
    finished_at   TEXT NOT NULL,
    targets_key   TEXT NOT NULL,
    targets       TEXT NOT NULL,
    assets        INTEGER NOT NULL,
    findings      INTEGER NOT NULL,
    open_findings INTEGER NOT NULL,
    readiness     INTEGER NOT NULL,
    by_severity   TEXT NOT NULL,
    report        BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS scans_by_targets ON scans (targets_key, finished_at);
"""


class StoreError(RuntimeError):
    """The store cannot be opened, read or written; the message names the file."""


def default_store_path() -> Path:
    """$KEYSWEEP_STORE, else the platform's user data directory ($XDG_DATA_HOME or ~/.local/share)."""
    explicit = os.environ.get(STORE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "keysweep" / "history.sqlite3"


# the column predates "not assessed"; this value stands for a scan without a readiness figure
_NOT_ASSESSED = -1


def targets_key(targets: Iterable[str], projection: bool = False) -> str:
    """Scans of the same set of targets (in any order) share a key: that is what a trend compares.

    A projection (evaluated as of another day) gets a key of its own, so that it is never a point
    in the trend of real scans, even when it was saved on purpose.
    """
    text = "\n".join(sorted(set(targets)))
    return hashlib.sha256((("projection\n" + text) if projection else text).encode("utf-8", "surrogateescape")).hexdigest()


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


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class HistoryStore:
    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path.expanduser()
        if not create and not self.path.is_file():
            raise StoreError(f"history store {self.path} does not exist")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit mode: every write below opens its own explicit transaction
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"history store {self.path} has schema version {version}; this keysweep knows {SCHEMA_VERSION}"
                )
            if version < SCHEMA_VERSION:
                # one script, one transaction: the tables and the version appear together or not at all
                self._db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open history store {self.path}: {exc}") from None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # -- writing --------------------------------------------------------------------------------
    def save(self, report_json: bytes, report: Mapping[str, Any] | None = None) -> str:
        """Store one JSON report (the bytes ``--json`` writes); returns the scan id.

        ``report`` is that report already parsed, or any mapping with its `scan` and `summary` and
        sized `assets` and `findings`: a caller that has the scan in memory saves re-reading it.
        """
        if report is None:
            report = json.loads(report_json)
        scan, summary = report["scan"], report["summary"]
        by_severity = summary["by_severity"]
        row = (
            scan["id"],
            scan["started_at"],
            scan["finished_at"],
            targets_key(scan["targets"], bool(scan.get("projection"))),
            json.dumps(scan["targets"]),
            len(report["assets"]),
            len(report["findings"]),
            sum(by_severity.values()),
            _NOT_ASSESSED if summary["readiness"]["score"] is None else summary["readiness"]["score"],
            json.dumps(by_severity),
            # level 1: reports are repetitive JSON (about 8x smaller) and large scans stay quick to save
            zlib.compress(report_json, 1),
        )
        try:
            with self._transaction():
                self._db.execute("INSERT OR REPLACE INTO scans VALUES (?,?,?,?,?,?,?,?,?,?,?)", row)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to history store {self.path}: {exc}") from None
        return str(scan["id"])

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    # -- reading --------------------------------------------------------------------------------
    def scans(self, limit: int | None = None, targets: Sequence[str] | None = None) -> list[StoredScan]:
        """Newest first; only scans of exactly these targets when ``targets`` is given."""
        query = (
            "SELECT id, started_at, finished_at, targets, assets, findings, open_findings, readiness, by_severity"
            " FROM scans"
        )
        params: list[Any] = []
        if targets is not None:
            query += " WHERE targets_key = ?"
            params.append(targets_key(targets))
        query += " ORDER BY finished_at DESC, rowid DESC"
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        try:
            rows = self._db.execute(query, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read history store {self.path}: {exc}") from None
        return [
            StoredScan(
                id=r[0],
                started_at=r[1],
                finished_at=r[2],
                targets=tuple(json.loads(r[3])),
                assets=r[4],
                findings=r[5],
                open_findings=r[6],
                readiness=None if r[7] == _NOT_ASSESSED else r[7],
                by_severity=json.loads(r[8]),
            )
            for r in rows
        ]

    def resolve(self, ref: str) -> str:
        """A full scan id, from the id or a unique prefix of it."""
        try:
            rows = self._db.execute(
                "SELECT id FROM scans WHERE id = ? OR id LIKE ? ESCAPE '\\' LIMIT 2",
                (ref, ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"),
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read history store {self.path}: {exc}") from None
        ids = {str(r[0]) for r in rows}
        if ref in ids:
            return ref
        if not ids:
            raise StoreError(f"no scan {ref!r} in history store {self.path}")
        if len(ids) > 1:
            raise StoreError(f"scan id prefix {ref!r} is ambiguous in history store {self.path}")
        return ids.pop()

    def load_bytes(self, ref: str) -> bytes:
        scan_id = self.resolve(ref)
        row = self._db.execute("SELECT report FROM scans WHERE id = ?", (scan_id,)).fetchone()
        return zlib.decompress(row[0])

    def load(self, ref: str) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.load_bytes(ref))
        return report

    def trend(self, targets: Sequence[str], limit: int = 12, exclude: str | None = None) -> tuple[TrendPoint, ...]:
        """The last ``limit`` scans of these targets, oldest first (for the HTML report's trend)."""
        points = [
            TrendPoint(
                scan_id=s.id,
                finished_at=_parse_time(s.finished_at),
                readiness=s.readiness,
                assets=s.assets,
                open_findings=s.open_findings,
                by_severity=freeze(s.by_severity),
            )
            for s in self.scans(limit=limit + 1, targets=targets)
            if s.id != exclude
        ]
        return tuple(reversed(points[:limit]))

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (also KeyboardInterrupt)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def record(result: ScanResult, report_json: bytes, path: Path, trend_length: int = 12) -> ScanResult:
    """Save a scan and return it with the earlier scans of the same targets as its trend."""
    with HistoryStore(path) as store:
        history = store.trend(result.metadata.targets, limit=trend_length, exclude=result.metadata.id)
        meta = result.metadata
        header = {
            "scan": {
                "id": meta.id,
                "started_at": iso_time(meta.started_at),
                "finished_at": iso_time(meta.finished_at),
                "targets": list(meta.targets),
                "projection": is_projection(meta),
            },
            "summary": summarize(result),
            "assets": result.assets,
            "findings": result.findings,
        }
        store.save(report_json, header)
    return replace(result, history=history)
