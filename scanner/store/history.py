"""The scan history: where the default store is, and recording a finished scan in it.

The store itself is behind :mod:`scanner.store.interface` (SQLite file or PostgreSQL by URL). A
stored report is byte for byte what ``--json`` writes, so ``diff`` reads a store entry and a report
file alike.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from scanner.inventory.model import ScanResult
from scanner.store.backends import open_store
from scanner.store.interface import DamagedScan, StoredScan, StoreError, StoreUnreachable
from scanner.store.rows import targets_key
from scanner.store.sqlite import SqliteStore
from scanner.store.streamed import ReportSource

STORE_ENV = "KEYSWEEP_STORE"

# the SQLite store under its former name, for callers written before the store had backends
HistoryStore = SqliteStore

__all__ = [
    "STORE_ENV",
    "DamagedScan",
    "HistoryStore",
    "StoreError",
    "StoreUnreachable",
    "StoredScan",
    "default_store",
    "default_store_path",
    "record",
    "save",
    "save_report",
    "targets_key",
    "with_history",
]


def default_store() -> str:
    """$KEYSWEEP_STORE (a path or a URL), else the SQLite file in the user's data directory."""
    explicit = os.environ.get(STORE_ENV)
    if explicit:
        return explicit
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "keysweep" / "history.sqlite3")


def default_store_path() -> Path:
    """The default store as a path (a URL in $KEYSWEEP_STORE comes back as given)."""
    return Path(default_store()).expanduser()


def with_history(result: ScanResult, store: str | Path, trend_length: int = 12) -> ScanResult:
    """The scan with the earlier scans of the same targets as its trend, read before it is saved
    (the reports written beside the save show it). Damaged earlier scans are left out: an old
    damaged row never fails a new scan."""
    with open_store(store) as opened:
        history = opened.trend(result.metadata.targets, limit=trend_length, exclude=result.metadata.id)
    return replace(result, history=history)


def save(report_json: bytes, store: str | Path, report: Mapping[str, Any] | None = None) -> None:
    """Save a scan's JSON report. ``report`` is what ``report_json`` was rendered from, when the
    caller has it: the store then need not parse the bytes (see ``rows.derive``)."""
    with open_store(store) as opened:
        opened.save(report_json, report)


def save_report(source: ReportSource, store: str | Path) -> None:
    """Save a scan's JSON report, read in pieces from what renders it (scanner.store.streamed)."""
    with open_store(store) as opened:
        opened.save_report(source)


def record(result: ScanResult, report_json: bytes, store: str | Path, trend_length: int = 12) -> ScanResult:
    """Save a scan and return it with its trend (:func:`with_history`, then :func:`save`)."""
    result = with_history(result, store, trend_length)
    save(report_json, store)
    return result
