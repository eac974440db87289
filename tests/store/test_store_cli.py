"""The store through the command line: upgrade of an old store, read-only history, a store that is down."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from scanner.store.backends import open_store
from scanner.store.interface import SchemaError
from scanner.store.schema import LATEST
from tests.store.helpers import v1_scan_row, variant
from tests.support.scans import keysweep, mixed_tree

# the schema of keysweep 0.1's history store, as it was created (version 1)
_V1 = """
CREATE TABLE scans (id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
  targets_key TEXT NOT NULL, targets TEXT NOT NULL, assets INTEGER NOT NULL, findings INTEGER NOT NULL,
  open_findings INTEGER NOT NULL, readiness INTEGER NOT NULL, by_severity TEXT NOT NULL, report BLOB NOT NULL);
CREATE INDEX scans_by_targets ON scans (targets_key, finished_at);
PRAGMA user_version=1;
"""


def _v1_store(path: Path, reports: list[bytes]) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(_V1)
    for raw in reports:
        db.execute("INSERT INTO scans VALUES (?,?,?,?,?,?,?,?,?,?,?)", v1_scan_row(raw))
    db.close()


def test_old_store_needs_upgrade_and_upgrade_backfills_rows_and_chain(tmp_path: Path, report_json: bytes) -> None:
    db = tmp_path / "old.sqlite3"
    old = [variant(report_json, "host-a", n) for n in range(2)] + [variant(report_json, "host-b", 5)]
    _v1_store(db, old)
    with pytest.raises(SchemaError, match="store upgrade"):
        open_store(db, create=False)  # a reader never migrates
    refused = keysweep("history", "--store", str(db))
    assert refused.returncode == 2 and "keysweep store upgrade" in refused.stderr
    done = keysweep("store", "upgrade", "--store", str(db))
    assert done.returncode == 0, done.stderr
    assert f"from schema version 1 to {LATEST}" in done.stderr
    with open_store(db) as store:
        assert store.verify().ok
        assert {s.scope for s in store.latest_per_scope()} == {"host-a", "host-b"}
        assert store.load_bytes(json.loads(old[0])["scan"]["id"]) == old[0]
    again = keysweep("store", "upgrade", "--store", str(db))
    assert again.returncode == 0 and "nothing to do" in again.stderr
    assert keysweep("history", "--store", str(db), "--verify").returncode == 0


def test_history_on_a_store_nobody_may_write(report_json: bytes) -> None:
    """history opens the store read-only: it works as a user who cannot write the file or its directory."""
    root = Path(tempfile.mkdtemp(prefix="keysweep-ro-", dir="/tmp"))
    try:
        db = root / "history.sqlite3"
        with open_store(db) as store:
            ids = [store.save(variant(report_json, "web-1", n)).scan_id for n in range(2)]
        os.chmod(root, 0o555)
        os.chmod(db, 0o444)
        for extra in root.glob("history.sqlite3-*"):
            os.chmod(extra, 0o444)
        argv = [sys.executable, "-m", "scanner", "history", "--store", str(db), "--json"]
        if os.geteuid() == 0:  # root writes anything: run as an unprivileged user instead
            nobody = pwd.getpwnam("nobody")
            argv = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", *argv]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=120, cwd="/", env={**os.environ, "HOME": "/"}
        )
        assert done.returncode == 0, done.stderr
        assert [s["id"] for s in json.loads(done.stdout)] == ids[::-1]
        verified = subprocess.run([*argv[:-1], "--verify"], capture_output=True, text=True, timeout=120, cwd="/")
        assert verified.returncode == 0, verified.stderr
    finally:
        os.chmod(root, 0o755)
        shutil.rmtree(root)


def test_damaged_scan_never_blocks_history_diff_or_a_new_scan(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    db = tmp_path / "h.sqlite3"
    for _ in range(2):
        assert keysweep("scan", "--path", str(tmp_path / "tree"), "--store", str(db)).returncode == 0
    with open_store(db) as store:
        first, second = (s.id for s in reversed(store.scans()))
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("UPDATE scans SET report = X'0badc0de' WHERE id = ?", (first,))
    raw.close()
    listing = keysweep("history", "--store", str(db))
    assert listing.returncode == 0 and second in listing.stdout and first in listing.stdout
    diff = keysweep("diff", first, second, "--store", str(db))
    assert diff.returncode == 2 and f"scan {first}" in diff.stderr and "damaged" in diff.stderr
    assert "Traceback" not in diff.stderr
    later = keysweep("scan", "--path", str(tmp_path / "tree"), "--store", str(db))
    assert later.returncode == 0, later.stderr
    verify = keysweep("history", "--store", str(db), "--verify")
    assert verify.returncode == 1 and first in verify.stderr


def test_scan_with_the_database_down_writes_its_reports_and_exits_2(
    tmp_path: Path,
    postgres_server,
    report_json: bytes,  # type: ignore[no-untyped-def]
) -> None:
    url = postgres_server.new_database()
    mixed_tree(tmp_path / "tree")
    postgres_server.stop()
    try:
        done = keysweep(
            "scan",
            "--path",
            str(tmp_path / "tree"),
            "--store",
            url,
            "--json",
            str(tmp_path / "r.json"),
            "--html",
            str(tmp_path / "r.html"),
        )
    finally:
        postgres_server.restart()
    assert done.returncode == 2, done.stderr
    assert "unreachable" in done.stderr and "Traceback" not in done.stderr
    assert postgres_server.password not in done.stderr + done.stdout
    assert json.loads((tmp_path / "r.json").read_bytes())["assets"]
    assert (tmp_path / "r.html").stat().st_size > 0
    with open_store(url) as store:
        assert store.scans() == []  # nothing half-written


def test_a_scan_migrates_an_old_sqlite_store_itself(tmp_path: Path, report_json: bytes) -> None:
    """The embedded store is the user's own file: a scheduled scan after an upgrade of keysweep saves
    its scan, migrating the store, instead of failing until someone runs `keysweep store upgrade`."""
    db = tmp_path / "old.sqlite3"
    old = [variant(report_json, "host-a", 0)]
    _v1_store(db, old)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "empty.txt").write_text("nothing cryptographic\n")
    done = keysweep("scan", "--path", str(tree), "--store", str(db), "--scope", "host-a")
    assert done.returncode == 0, done.stderr
    with open_store(db, create=False) as store:
        assert store.schema_version() == LATEST
        assert store.verify().ok
        assert len(store.listing(limit=10).scans) == 2  # the migrated scan and the new one
