"""The store's schema, as numbered migrations every backend applies in order.

Version 1 is the history store of keysweep 0.1 (one row per scan holding the compressed report);
version 2 adds scopes, the hash chain and the rows (assets, locations, relations, findings) that
fleet questions are asked of. A migration's statements use ``BLOB`` and the backend translates
the few types that differ.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]
    # the existing scans need their rows and chain links computed (done by the store in Python)
    backfill: bool = False


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "scans: one row per scan with its compressed JSON report",
        (
            """CREATE TABLE IF NOT EXISTS scans (
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
            )""",
            "CREATE INDEX IF NOT EXISTS scans_by_targets ON scans (targets_key, finished_at)",
        ),
    ),
    Migration(
        2,
        "scopes, a hash chain per scope, and assets/locations/relations/findings as rows",
        (
            "ALTER TABLE scans ADD COLUMN scope TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE scans ADD COLUMN scope_seq INTEGER",
            "ALTER TABLE scans ADD COLUMN host TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE scans ADD COLUMN stored_at TEXT",
            "ALTER TABLE scans ADD COLUMN content_digest TEXT",
            "ALTER TABLE scans ADD COLUMN rows_digest TEXT",
            "ALTER TABLE scans ADD COLUMN prev_digest TEXT",
            "ALTER TABLE scans ADD COLUMN chain_digest TEXT",
            "CREATE UNIQUE INDEX IF NOT EXISTS scans_chain ON scans (scope, scope_seq)",
            "CREATE INDEX IF NOT EXISTS scans_by_scope ON scans (scope, finished_at)",
            """CREATE TABLE IF NOT EXISTS scopes (
                scope       TEXT PRIMARY KEY,
                head_seq    INTEGER NOT NULL,
                head_digest TEXT NOT NULL
            )""",
            """CREATE TABLE IF NOT EXISTS assets (
                scan_id    TEXT NOT NULL,
                asset_id   TEXT NOT NULL,
                type       TEXT NOT NULL,
                properties TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS assets_by_scan ON assets (scan_id)",
            "CREATE INDEX IF NOT EXISTS assets_by_id ON assets (asset_id)",
            """CREATE TABLE IF NOT EXISTS locations (
                scan_id  TEXT NOT NULL,
                asset_id TEXT NOT NULL,
                kind     TEXT NOT NULL,
                ref      TEXT NOT NULL,
                detail   TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS locations_by_scan ON locations (scan_id)",
            "CREATE INDEX IF NOT EXISTS locations_by_asset ON locations (asset_id)",
            """CREATE TABLE IF NOT EXISTS relations (
                scan_id TEXT NOT NULL,
                source  TEXT NOT NULL,
                target  TEXT NOT NULL,
                type    TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS relations_by_scan ON relations (scan_id)",
            """CREATE TABLE IF NOT EXISTS findings (
                scan_id    TEXT NOT NULL,
                finding_id TEXT NOT NULL,
                rule_id    TEXT NOT NULL,
                severity   TEXT NOT NULL,
                category   TEXT NOT NULL,
                asset_id   TEXT NOT NULL,
                waived     INTEGER NOT NULL,
                deadline   TEXT,
                data       TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS findings_by_scan ON findings (scan_id)",
            "CREATE INDEX IF NOT EXISTS findings_by_rule ON findings (rule_id, waived)",
        ),
        backfill=True,
    ),
)

LATEST = MIGRATIONS[-1].version
