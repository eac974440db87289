"""The history store: round trip, trend, history listing, and what a kill mid-way leaves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from scanner.reporting.json_report import JsonReporter
from scanner.store.history import HistoryStore, default_store_path, record
from tests.support import pki
from tests.support.scans import keysweep, mixed_tree, scan_paths


def test_store_entry_is_the_json_report(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    result = scan_paths(tmp_path / "tree")
    report = JsonReporter().render(result)
    db = tmp_path / "h.sqlite3"
    first = record(result, report, db)
    assert first.history == ()
    with HistoryStore(db) as store:
        assert store.load_bytes(result.metadata.id) == report
        assert store.load(result.metadata.id[:8]) == json.loads(report)
    second_result = scan_paths(tmp_path / "tree")
    second = record(second_result, JsonReporter().render(second_result), db)
    # the second scan of the same targets sees the first as its trend
    assert [p.scan_id for p in second.history] == [result.metadata.id]
    assert second.history[0].open_findings == sum(1 for f in result.findings if f.waived is None)
    # a scan of other targets starts its own trend
    other = scan_paths(tmp_path / "tree" / "old")
    assert record(other, JsonReporter().render(other), db).history == ()


def test_default_store_honours_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KEYSWEEP_STORE", str(tmp_path / "x.sqlite3"))
    assert default_store_path() == tmp_path / "x.sqlite3"
    monkeypatch.delenv("KEYSWEEP_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_store_path() == tmp_path / "data" / "keysweep" / "history.sqlite3"


def test_scan_history_and_no_store(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    db = tmp_path / "h.sqlite3"
    for _ in range(2):
        done = keysweep("scan", "--path", str(tmp_path / "tree"), "--store", str(db))
        assert done.returncode == 0, done.stderr
    assert keysweep("scan", "--path", str(tmp_path / "tree"), "--store", str(db), "--no-store").returncode == 0
    listing = keysweep("history", "--store", str(db), "--json")
    scans = json.loads(listing.stdout)
    assert len(scans) == 2  # --no-store saved nothing
    text = keysweep("history", "--store", str(db)).stdout
    assert all(s["id"] in text for s in scans)


def _big_tree(root: Path, count: int) -> None:
    data = pki.pem(pki.certificate(pki.rsa_key(), "bulk.test"))
    root.mkdir(parents=True)
    for i in range(count):
        (root / f"{i:05d}.pem").write_bytes(data)


def _family(pid: int) -> list[int]:
    """The process and its descendants (the file collector may fork workers for big trees)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(c) for c in children.read_text().split()]
            except OSError:
                continue
    return found


def _reading_under(pid: int, root: Path) -> bool:
    for member in _family(pid):
        try:
            if any(os.readlink(fd).startswith(str(root)) for fd in Path(f"/proc/{member}/fd").iterdir()):
                return True
        except OSError:  # the process or a descriptor went away while we looked
            continue
    return False


def test_sigterm_mid_scan_leaves_earlier_scans_readable(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    db = tmp_path / "h.sqlite3"
    reports = []
    for n in range(2):
        out = tmp_path / f"r{n}.json"
        assert (
            keysweep("scan", "--path", str(tmp_path / "tree"), "--store", str(db), "--json", str(out)).returncode == 0
        )
        reports.append(out.read_bytes())
    _big_tree(tmp_path / "big", 6000)

    process = subprocess.Popen(
        [sys.executable, "-m", "scanner", "scan", "--path", str(tmp_path / "big"), "--store", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the signal reaches any workers too, as systemd's would
    )
    try:
        deadline = time.monotonic() + 60
        while not _reading_under(process.pid, tmp_path / "big"):
            assert process.poll() is None, "the scan ended before it was seen reading the tree"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        os.killpg(process.pid, signal.SIGTERM)  # half-way: it is reading the files
        assert process.wait(timeout=30) == -signal.SIGTERM
    finally:  # a failed assertion above must not leave the scan running
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    with HistoryStore(db, create=False) as store:
        assert store.integrity_ok()
        scans = store.scans()
        assert len(scans) == 2
        assert sorted(store.load_bytes(s.id) for s in scans) == sorted(reports)


_WRITER = """
import sys, json
from scanner.store.history import HistoryStore
report = json.loads(open(sys.argv[2], "rb").read())
report["assets"] = report["assets"] * 400  # a large report, so that each write takes a while
with HistoryStore(__import__("pathlib").Path(sys.argv[1])) as store:
    for n in range(10_000):
        report["scan"]["id"] = f"bulk-{n:05d}"
        store.save(json.dumps(report).encode())
"""


def test_sigterm_mid_write_keeps_the_store_consistent(tmp_path: Path) -> None:
    """Killed while writing scan after scan: every scan it lists loads whole; none is half there."""
    mixed_tree(tmp_path / "tree")
    db, sample = tmp_path / "h.sqlite3", tmp_path / "r.json"
    assert keysweep("scan", "--path", str(tmp_path / "tree"), "--store", str(db), "--json", str(sample)).returncode == 0
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(db), str(sample)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            with HistoryStore(db, create=False) as store:
                if len(store.scans()) >= 4:
                    break
            assert writer.poll() is None, writer.stderr.read() if writer.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.01)
        writer.send_signal(signal.SIGTERM)
        assert writer.wait(timeout=30) == -signal.SIGTERM
    finally:  # a failed assertion above must not leave the writer filling the disk
        if writer.poll() is None:
            writer.kill()
            writer.wait()

    with HistoryStore(db, create=False) as store:
        assert store.integrity_ok()
        scans = store.scans()
        assert len(scans) >= 4
        for s in scans:
            report = store.load(s.id)
            assert report["scan"]["id"] == s.id and len(report["assets"]) == s.assets
