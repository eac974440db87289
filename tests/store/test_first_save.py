"""A first save's rows: on PostgreSQL a writer thread writes each kind's while the next kind's are
derived (the server doing the work), on SQLite they are written in line. Either way the store holds
the same rows and digests; a report found wrong half-way, or a scan id another scan holds, leaves
nothing behind; a body's chunks are cut where its marks fall, found in one pass."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from scanner.inventory import jsonio
from scanner.store import bodies
from scanner.store import rows as R
from scanner.store import sql as S
from scanner.store.backends import open_store
from scanner.store.interface import SaveStatus, StoreError
from scanner.store.postgres import PostgresStore
from scanner.store.sqlite import SqliteStore
from tests.store.helpers import execute, variant

SETS = ("asset_sets", "location_sets", "relation_sets", "finding_sets")


def stored(url: str) -> list[Any]:
    """Every row the store holds, set keys read as the set ids they stand for; not stored_at (the
    time of the save, the one column that differs between two saves of one report)."""
    ids = dict(execute(url, "SELECT set_key, set_id FROM row_sets"))
    scans = execute(
        url,
        f"SELECT {', '.join(R.SCAN_FIELDS)}, content_digest, rows_digest, prev_digest, chain_digest, rows_form,"
        " body_digest, assets_set, locations_set, relations_set, findings_set, report, report_body"
        " FROM scans ORDER BY id",
    )
    found: list[Any] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in scans]
    found += sorted(execute(url, "SELECT * FROM scopes"))
    found += sorted(execute(url, "SELECT set_id, kind, row_count FROM row_sets"))
    for table in SETS:
        found += sorted((table, ids[row[0]], *row[1:]) for row in execute(url, f"SELECT * FROM {table}"))
    found += sorted((ids[m], ids[b]) for m, b in execute(url, "SELECT * FROM set_members"))
    found += sorted((d, bytes(b)) for d, b in execute(url, "SELECT body_digest, body FROM report_bodies"))
    return found


def reports(report_json: bytes) -> list[bytes]:
    """Scans of two scopes, the second of each changed a little (one asset more noted, one finding less)."""
    first = variant(report_json, "web-1", 0, scan_id="00000000-0000-4000-8000-000000000001")
    changed = json.loads(variant(report_json, "web-1", 1, scan_id="00000000-0000-4000-8000-000000000002"))
    changed["assets"][0]["properties"]["note"] = "changed"
    changed["findings"] = changed["findings"][1:]
    other = variant(report_json, "web-2", 2, scan_id="00000000-0000-4000-8000-000000000003")
    return [first, jsonio.dumps(changed), other]


def test_rows_written_aside_are_the_rows_written_in_line(
    postgres_server: Any, report_json: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    aside, in_line = postgres_server.new_database(), postgres_server.new_database()
    for url, writes_aside in ((aside, True), (in_line, False)):
        monkeypatch.setattr(PostgresStore, "writes_aside", writes_aside)
        with open_store(url) as store:
            assert [store.save(raw).status for raw in reports(report_json)] == [SaveStatus.STORED] * 3
            assert store.verify().ok
    assert stored(aside) == stored(in_line)
    assert len(execute(aside, "SELECT * FROM asset_sets")) > 0


def test_a_kind_is_written_while_the_next_is_derived(
    postgres_server: Any, report_json: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The findings' buckets are derived only once the assets' are written (by another thread):
    were the rows written after the last kind is derived, the wait would time out."""
    url = postgres_server.new_database()
    assets_written = threading.Event()
    write, manifest = S.SqlStore._write_manifests, R.manifest

    def writing(self: S.SqlStore, manifests: Any) -> None:
        write(self, manifests)
        if manifests[0].kind == "assets":
            assets_written.set()

    def deriving(kind: str, *args: Any) -> R.RowSet:
        if kind == "findings":
            assert assets_written.wait(30), "the assets were not written while the findings were derived"
        return manifest(kind, *args)

    monkeypatch.setattr(S.SqlStore, "_write_manifests", writing)
    monkeypatch.setattr(R, "manifest", deriving)
    with open_store(url) as store:
        assert store.save(reports(report_json)[0]).status == SaveStatus.STORED
        assert store.verify().ok


def test_a_report_found_wrong_half_way_leaves_nothing_behind(store_url: str, report_json: bytes) -> None:
    """The head and the summary read (on PostgreSQL the writer has begun: the scope's lock, the
    body), a finding without its rule: the save fails as before and its transaction rolls back."""
    broken = json.loads(reports(report_json)[0])
    del broken["findings"][-1]["rule_id"]
    with open_store(store_url) as store:
        with pytest.raises(StoreError, match="not a keysweep JSON report: KeyError: 'rule_id'"):
            store.save(jsonio.dumps(broken))
        for table in ("scans", "scopes", "row_sets", "report_bodies", *SETS):
            assert execute(store_url, f"SELECT count(*) FROM {table}") == [(0,)], table
        assert store.save(reports(report_json)[0]).status == SaveStatus.STORED
        assert store.verify().ok


def test_another_scan_with_the_id_is_refused_and_nothing_is_written(store_url: str, report_json: bytes) -> None:
    first, changed, _ = reports(report_json)
    taken = changed.replace(b"00000000-0000-4000-8000-000000000002", b"00000000-0000-4000-8000-000000000001")
    with open_store(store_url) as store:
        assert store.save(first).status == SaveStatus.STORED
        before = stored(store_url)
        with pytest.raises(StoreError, match="already holds a different scan with id"):
            store.save(taken)
        assert store.save(first).status == SaveStatus.DUPLICATE
        assert stored(store_url) == before
        assert store.verify().ok


def cuts_mark_by_mark(report_json: bytes, start: int) -> list[int]:
    """The cuts as each mark's occurrences give them, searched one mark after the other."""
    cuts = {start}
    for mark in bodies._CUTS:
        at = report_json.find(mark, start)
        while at >= 0:
            cuts.add(at + 2)
            at = report_json.find(mark, at + len(mark))
    return sorted(cuts)


@pytest.mark.parametrize(
    "marks",
    [
        bodies._CUTS,
        (b'","type":"', b'","target":"', b'","rule_id":"'),  # every id: marks that may overlap themselves
        (b'"type":"', b'e":"', b'"'),  # no first bytes in common
    ],
)
def test_chunk_cuts_found_in_one_pass_are_each_marks_own(
    report_json: bytes, monkeypatch: pytest.MonkeyPatch, marks: tuple[bytes, ...]
) -> None:
    monkeypatch.setattr(bodies, "_CUTS", marks)
    cut = 0
    for raw in (report_json, b',"assets":[{"id":"a00","type":"k"}],"x":"","type":"","type":"","type":"'):
        start = R.body_start(raw)
        assert bodies.chunk_bounds(raw, start) == cuts_mark_by_mark(raw, start)
        cut += len(cuts_mark_by_mark(raw, start)) - 1
    assert cut > 0


def _indexes(path: str) -> list[tuple[str, str]]:
    return sorted(execute(path, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))


def _statements(store: SqliteStore) -> list[str]:
    """What the SQLite store's connection runs from now on (the sqlite3 trace callback)."""
    seen: list[str] = []
    store._db.set_trace_callback(seen.append)
    return seen


def test_a_first_save_builds_the_row_indexes_after_its_rows_and_the_rest_update_them(
    tmp_path: Path, report_json: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tables that hold no row yet get their indexes built once over the first save's rows; a save
    into tables holding rows updates the indexes as it writes. The store ends as one written without
    the shortcut: the same rows, the same index definitions, integrity ok."""
    path, plain = str(tmp_path / "store.sqlite3"), str(tmp_path / "plain.sqlite3")
    with open_store(path) as store:
        defined = _indexes(path)
        first, *rest = reports(report_json)
        seen = _statements(store)
        assert store.save(first).status == SaveStatus.STORED
        dropped = sorted(s.split('"')[1] for s in seen if s.startswith("DROP INDEX"))
        assert dropped == sorted(name for name, sql in defined if any(f" ON {t} " in sql for t in SETS))
        assert _indexes(path) == defined
        seen.clear()
        for raw in rest:
            assert store.save(raw).status == SaveStatus.STORED
        assert not [s for s in seen if "INDEX" in s]
        assert store.verify().ok and store.integrity_ok()
    with monkeypatch.context() as patched, open_store(plain) as store:
        patched.setattr(SqliteStore, "_indexes_if_empty", lambda self, kind: [])
        seen = _statements(store)
        for raw in reports(report_json):
            assert store.save(raw).status == SaveStatus.STORED
        assert not [s for s in seen if "INDEX" in s]
    assert stored(path) == stored(plain)


def test_a_first_save_that_fails_after_its_indexes_were_dropped_leaves_them_as_they_were(
    tmp_path: Path, report_json: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "store.sqlite3")
    with open_store(path) as store:
        defined = _indexes(path)
        write = S.SqlStore._write_manifests

        def failing(self: S.SqlStore, manifests: Any) -> None:
            write(self, manifests)
            raise KeyboardInterrupt  # the operator's Ctrl-C after the rows were written

        monkeypatch.setattr(S.SqlStore, "_write_manifests", failing)
        with pytest.raises(KeyboardInterrupt):
            store.save(reports(report_json)[0])
        assert _indexes(path) == defined
        for table in ("scans", "row_sets", *SETS):
            assert execute(path, f"SELECT count(*) FROM {table}") == [(0,)], table
        monkeypatch.setattr(S.SqlStore, "_write_manifests", write)
        assert store.save(reports(report_json)[0]).status == SaveStatus.STORED
        assert store.verify().ok and store.integrity_ok()
