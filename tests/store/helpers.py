"""What the store tests share: a real scan's report, variants of it per scope, raw SQL on a store."""

from __future__ import annotations

import json
import sqlite3
import uuid
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

from scanner.inventory import jsonio
from scanner.reporting.json_report import JsonReporter
from tests.support.scans import mixed_tree, scan_paths


def real_report(root: Path) -> bytes:
    """The JSON report of a real scan of a small mixed tree (keys, certificates, a CA)."""
    mixed_tree(root)
    return JsonReporter().render(scan_paths(root))


def variant(report_json: bytes, scope: str, minute: int = 0, scan_id: str | None = None) -> bytes:
    """The same content as another scope's scan at another time (what a second host would send)."""
    report = json.loads(report_json)
    report["scan"]["id"] = scan_id or str(uuid.uuid4())
    report["scan"]["scope"] = scope
    report["scan"]["host"] = scope
    report["scan"]["finished_at"] = f"2026-01-01T10:{minute:02d}:00Z"
    return json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode()


def trimmed(report_json: bytes, key: str, scope: str, minute: int) -> bytes:
    """:func:`variant` with the first of the report's ``key`` (assets, relations, findings) left out:
    a scan that found a little less, written as keysweep writes reports."""
    report = json.loads(variant(report_json, scope, minute))
    report[key] = report[key][1:]
    return jsonio.dumps(report)


def noted(report_json: bytes, scope: str, minute: int, asset: int, note: str) -> bytes:
    """:func:`variant` in which one asset was found otherwise (a note in its properties), as a
    changed file changes it: the scans share every bucket but that asset's."""
    report = json.loads(variant(report_json, scope, minute))
    report["assets"][asset]["properties"]["note"] = note
    return jsonio.dumps(report)


def execute(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run SQL straight on the store's database, as an operator (or an attacker) with access would."""
    if url.startswith("postgresql://"):
        import os

        import psycopg

        with psycopg.connect(url, password=os.environ["PGPASSWORD"], autocommit=True) as db:
            cursor = db.execute(sql.replace("?", "%s"), params)
            return list(cursor.fetchall()) if cursor.description else []
    db = sqlite3.connect(url, isolation_level=None)
    try:
        return list(db.execute(sql, params).fetchall())
    finally:
        db.close()


def v1_scan_row(raw: bytes) -> tuple[Any, ...]:
    """A report as schema 1 stored it (the columns of its scans table, in order): for migration tests."""
    r = json.loads(raw)
    return (
        r["scan"]["id"],
        r["scan"]["started_at"],
        r["scan"]["finished_at"],
        "k",
        json.dumps(r["scan"]["targets"]),
        len(r["assets"]),
        len(r["findings"]),
        0,
        r["summary"]["readiness"]["score"],
        json.dumps(r["summary"]["by_severity"]),
        zlib.compress(raw),
    )


@contextmanager
def schema_at(version: int) -> Iterator[None]:
    """Stores opened inside are created (and written) at an older schema version: as that keysweep
    left them, for migration tests and for the bench's comparison with the older layout."""
    from scanner.store import sql
    from scanner.store.schema import MIGRATIONS

    with mock.patch.multiple(sql, MIGRATIONS=MIGRATIONS[:version], LATEST=version):
        yield


class Pieces:
    """A report's values as a store reads them in pieces (scanner.store.streamed.ReportSource), as
    the JSON writer streams a scan's report, a few items per piece; ``whole`` counts its calls."""

    KEYS: ClassVar[dict[str, str]] = {"assets": "id", "relations": "source", "findings": "asset_id"}

    def __init__(self, report_json: bytes, per_piece: int = 2) -> None:
        self.report = json.loads(report_json)
        self.per_piece = per_piece
        self.wholes = 0
        self.largest_run = 0  # the most items asked for at once
        assert b"".join(data for data, _, _ in self.pieces()) == jsonio.dumps(self.report)

    def pieces(self) -> Iterator[tuple[bytes, object, bool]]:
        yield b"{", None, False
        for n, (name, value) in enumerate(self.report.items()):
            yield (b"," if n else b"") + jsonio.dumps(name) + b":", None, False
            if name not in self.KEYS:
                yield jsonio.dumps(value), value, False
                continue
            yield b"[", None, False
            for start in range(0, len(value), self.per_piece):
                run = value[start : start + self.per_piece]
                yield (b"," if start else b"") + jsonio.dumps(run)[1:-1], run, True
            yield b"]", None, False
        yield b"}", None, False

    def member(self, name: str) -> Any:
        return self.report[name]

    def keys(self, items: str) -> list[str]:
        return [item[self.KEYS[items]] for item in self.report[items]]

    def items(self, items: str, indices: Sequence[int]) -> list[Any]:
        self.largest_run = max(self.largest_run, len(indices))
        return [self.report[items][i] for i in indices]

    def objects(self, items: str, indices: Sequence[int]) -> None:
        return None  # values only: the rows are read from them

    def whole(self) -> tuple[bytes, Any]:
        self.wholes += 1
        return jsonio.dumps(self.report), self.report
