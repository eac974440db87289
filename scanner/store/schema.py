"""The store's schema, as numbered migrations every backend applies in order.

Version 1 is the history store of keysweep 0.1 (one row per scan holding the compressed report);
version 2 adds scopes, the hash chain and the rows (assets, locations, relations, findings) that
fleet questions are asked of. A migration's statements use ``BLOB`` and the backend translates
the few types that differ.

Version 3 shares rows between scans: each kind of row lives in content-addressed *row sets*
(``asset_sets`` ...; a set's id is the digest of its rows), a scan names its four sets, and views
with the old tables' names and columns (``assets`` ...: scan_id first) join them back, so readers
and users' own SQL see what version 2 showed. A re-scan that found what the last one did writes no
rows at all. The rows version 2 stored move into one set per scan and kind, named after the scan.

Version 4 shares report bodies the same way: a scan's ``report`` holds the compressed head of its
report (the bytes before the body, :func:`scanner.store.rows.body_start`) and ``report_body`` names
the compressed body in ``report_bodies`` (by the SHA-256 of its bytes), which scans with the same
body share. A report without a body marker stays whole in ``report`` (``report_body`` NULL). The
stored scans' reports are split in Python, inside the migration's transaction.

Version 5 splits each kind's rows into buckets (by a stable hash of the asset a row is about), each
bucket a content-addressed row set; a scan's ``*_set`` names a *manifest* (a row set with no rows of
its own, registered in ``row_sets``) whose buckets ``set_members`` lists, so one changed file writes
a few buckets, not every row again. The views join scan, manifest, members and rows. The sets stored
before are their own one member, so older scans keep their one-set form and read as before. A body
saved from version 5 on may be stored as content-defined chunks (:mod:`scanner.store.bodies`) in
``report_bodies`` itself: no table changes, and the bodies stored before stay whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner.store.rows import ROWS_FORM_ROWS


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]
    # the existing scans need their rows and chain links computed (done by the store in Python)
    backfill: bool = False
    # the existing scans' reports are split into head and shared body (done by the store in Python)
    split_reports: bool = False


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
    Migration(
        3,
        "row sets shared between scans (asset_sets ... finding_sets), views by the old tables' names",
        (
            # set_key: a small number the rows carry (a digest per row would make the store larger)
            """CREATE TABLE row_sets (
                set_key   SERIAL_KEY,
                set_id    TEXT NOT NULL UNIQUE,
                kind      TEXT NOT NULL,
                row_count INTEGER NOT NULL
            )""",
            f"ALTER TABLE scans ADD COLUMN rows_form INTEGER NOT NULL DEFAULT {ROWS_FORM_ROWS}",
            "ALTER TABLE scans ADD COLUMN body_digest TEXT",
            "ALTER TABLE scans ADD COLUMN assets_set TEXT",
            "ALTER TABLE scans ADD COLUMN locations_set TEXT",
            "ALTER TABLE scans ADD COLUMN relations_set TEXT",
            "ALTER TABLE scans ADD COLUMN findings_set TEXT",
            "CREATE INDEX scans_by_body ON scans (body_digest)",
            "UPDATE scans SET assets_set = 'assets:' || id",
            "INSERT INTO row_sets (set_id, kind, row_count) SELECT assets_set, 'assets', 0 FROM scans",
            """CREATE TABLE asset_sets (
                set_key INTEGER NOT NULL,
                asset_id TEXT NOT NULL,
                type TEXT NOT NULL,
                properties TEXT NOT NULL
            )""",
            "INSERT INTO asset_sets (set_key, asset_id, type, properties)"
            " SELECT k.set_key, r.asset_id, r.type, r.properties FROM assets r JOIN row_sets k ON k.set_id ="
            " 'assets:' || r.scan_id",
            "DROP TABLE assets",
            "CREATE INDEX asset_sets_by_set ON asset_sets (set_key)",
            "CREATE INDEX asset_sets_by_id ON asset_sets (asset_id)",
            "UPDATE row_sets SET row_count = (SELECT count(*) FROM asset_sets r WHERE r.set_key = row_sets.set_key)"
            " WHERE kind = 'assets'",
            "CREATE VIEW assets AS SELECT s.id AS scan_id, r.asset_id, r.type, r.properties"
            " FROM scans s JOIN row_sets k ON k.set_id = s.assets_set JOIN asset_sets r ON r.set_key = k.set_key",
            "UPDATE scans SET locations_set = 'locations:' || id",
            "INSERT INTO row_sets (set_id, kind, row_count) SELECT locations_set, 'locations', 0 FROM scans",
            """CREATE TABLE location_sets (
                set_key INTEGER NOT NULL,
                asset_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                ref TEXT NOT NULL,
                detail TEXT NOT NULL
            )""",
            "INSERT INTO location_sets (set_key, asset_id, kind, ref, detail)"
            " SELECT k.set_key, r.asset_id, r.kind, r.ref, r.detail FROM locations r JOIN row_sets k ON k.set_id ="
            " 'locations:' || r.scan_id",
            "DROP TABLE locations",
            "CREATE INDEX location_sets_by_set ON location_sets (set_key)",
            "CREATE INDEX location_sets_by_asset ON location_sets (asset_id)",
            "UPDATE row_sets SET row_count = (SELECT count(*) FROM location_sets r WHERE r.set_key = row_sets.set_key)"
            " WHERE kind = 'locations'",
            "CREATE VIEW locations AS SELECT s.id AS scan_id, r.asset_id, r.kind, r.ref, r.detail"
            " FROM scans s JOIN row_sets k ON k.set_id = s.locations_set JOIN location_sets r ON r.set_key = k.set_key",
            "UPDATE scans SET relations_set = 'relations:' || id",
            "INSERT INTO row_sets (set_id, kind, row_count) SELECT relations_set, 'relations', 0 FROM scans",
            """CREATE TABLE relation_sets (
                set_key INTEGER NOT NULL,
                source TEXT NOT NULL,
                target TEXT NOT NULL,
                type TEXT NOT NULL
            )""",
            "INSERT INTO relation_sets (set_key, source, target, type)"
            " SELECT k.set_key, r.source, r.target, r.type FROM relations r JOIN row_sets k ON k.set_id ="
            " 'relations:' || r.scan_id",
            "DROP TABLE relations",
            "CREATE INDEX relation_sets_by_set ON relation_sets (set_key)",
            "UPDATE row_sets SET row_count = (SELECT count(*) FROM relation_sets r WHERE r.set_key = row_sets.set_key)"
            " WHERE kind = 'relations'",
            "CREATE VIEW relations AS SELECT s.id AS scan_id, r.source, r.target, r.type"
            " FROM scans s JOIN row_sets k ON k.set_id = s.relations_set JOIN relation_sets r ON r.set_key = k.set_key",
            "UPDATE scans SET findings_set = 'findings:' || id",
            "INSERT INTO row_sets (set_id, kind, row_count) SELECT findings_set, 'findings', 0 FROM scans",
            """CREATE TABLE finding_sets (
                set_key INTEGER NOT NULL,
                finding_id TEXT NOT NULL,
                rule_id TEXT NOT NULL,
                severity TEXT NOT NULL,
                category TEXT NOT NULL,
                asset_id TEXT NOT NULL,
                waived INTEGER NOT NULL,
                deadline TEXT,
                data TEXT NOT NULL
            )""",
            "INSERT INTO finding_sets (set_key, finding_id, rule_id, severity, category, asset_id, waived,"
            " deadline, data)"
            " SELECT k.set_key, r.finding_id, r.rule_id, r.severity, r.category, r.asset_id, r.waived, r.deadline,"
            " r.data FROM findings r JOIN row_sets k ON k.set_id = 'findings:' || r.scan_id",
            "DROP TABLE findings",
            "CREATE INDEX finding_sets_by_set ON finding_sets (set_key)",
            "CREATE INDEX finding_sets_by_rule ON finding_sets (rule_id, waived)",
            "UPDATE row_sets SET row_count = (SELECT count(*) FROM finding_sets r WHERE r.set_key = row_sets.set_key)"
            " WHERE kind = 'findings'",
            "CREATE VIEW findings AS SELECT s.id AS scan_id, r.finding_id, r.rule_id, r.severity, r.category,"
            " r.asset_id, r.waived, r.deadline, r.data"
            " FROM scans s JOIN row_sets k ON k.set_id = s.findings_set JOIN finding_sets r ON r.set_key = k.set_key",
        ),
    ),
    Migration(
        4,
        "report bodies shared between scans (report_bodies); a scan's report holds its head",
        (
            """CREATE TABLE report_bodies (
                body_digest TEXT PRIMARY KEY,
                body        BLOB NOT NULL
            )""",
            "ALTER TABLE scans ADD COLUMN report_body TEXT",
        ),
        split_reports=True,
    ),
    Migration(
        5,
        "rows in buckets: a scan's set names a manifest of bucket row sets (set_members)",
        (
            # the keys of row_sets (BIGINT on PostgreSQL; INTEGER and BIGINT are one type in SQLite)
            """CREATE TABLE set_members (
                manifest_key BIGINT NOT NULL,
                bucket_key   BIGINT NOT NULL,
                PRIMARY KEY (manifest_key, bucket_key)
            )""",
            # every set stored so far is a manifest of itself: the scans naming it read as before
            "INSERT INTO set_members (manifest_key, bucket_key) SELECT set_key, set_key FROM row_sets",
            "DROP VIEW assets",
            "CREATE VIEW assets AS SELECT s.id AS scan_id, r.asset_id, r.type, r.properties"
            " FROM scans s JOIN row_sets k ON k.set_id = s.assets_set"
            " JOIN set_members m ON m.manifest_key = k.set_key JOIN asset_sets r ON r.set_key = m.bucket_key",
            "DROP VIEW locations",
            "CREATE VIEW locations AS SELECT s.id AS scan_id, r.asset_id, r.kind, r.ref, r.detail"
            " FROM scans s JOIN row_sets k ON k.set_id = s.locations_set"
            " JOIN set_members m ON m.manifest_key = k.set_key JOIN location_sets r ON r.set_key = m.bucket_key",
            "DROP VIEW relations",
            "CREATE VIEW relations AS SELECT s.id AS scan_id, r.source, r.target, r.type"
            " FROM scans s JOIN row_sets k ON k.set_id = s.relations_set"
            " JOIN set_members m ON m.manifest_key = k.set_key JOIN relation_sets r ON r.set_key = m.bucket_key",
            "DROP VIEW findings",
            "CREATE VIEW findings AS SELECT s.id AS scan_id, r.finding_id, r.rule_id, r.severity, r.category,"
            " r.asset_id, r.waived, r.deadline, r.data FROM scans s JOIN row_sets k ON k.set_id = s.findings_set"
            " JOIN set_members m ON m.manifest_key = k.set_key JOIN finding_sets r ON r.set_key = m.bucket_key",
        ),
    ),
)

LATEST = MIGRATIONS[-1].version
# the first version whose scans keep their report's body in report_bodies
BODIES_VERSION = 4
# the first version whose scans name manifests of buckets (rows_form 5)
BUCKETS_VERSION = 5
# the first version whose report bodies may be stored as chunks (scanner/store/bodies.py)
CHUNKS_VERSION = 5
