"""The JSON report written from the pieces a store's save reads (reporting/tee.py): the same bytes
as the JSON reporter's, written once by the first reader, and by the saving job when nobody read
them all (a save that fell back, failed, or whose reading process was killed half-way)."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from scanner.reporting.json_report import JsonReporter, ReportPieces
from scanner.reporting.tee import ReportTee
from scanner.store.backends import open_store
from tests.support.scans import keysweep, mixed_tree, scan_paths


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> object:
    tree = tmp_path_factory.mktemp("tree")
    mixed_tree(tree)
    return scan_paths(tree)


class Written:
    """The saving job's own writing of the report, counted."""

    def __init__(self, result: object, path: Path) -> None:
        self.result, self.path, self.calls = result, path, 0

    def __call__(self) -> str | None:
        self.calls += 1
        JsonReporter().write(self.result, str(self.path))  # type: ignore[arg-type]
        return None


def _tee(result: object, path: Path) -> tuple[ReportTee, Written]:
    written = Written(result, path)
    return ReportTee(str(path), written, lambda reason: f"json report not written: {reason}"), written


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_the_reader_writes_the_reporters_bytes_once(scanned: object, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    tee, written = _tee(scanned, out)
    pieces = ReportPieces(scanned, tee)  # type: ignore[arg-type]
    read = b"".join(data for data, _, _ in pieces.pieces())
    assert read == out.read_bytes() == JsonReporter().render(scanned)  # type: ignore[arg-type]
    # a second reader only reads (the store never reads twice, but nothing is written twice)
    out.unlink()
    assert b"".join(data for data, _, _ in pieces.pieces()) == read and not out.exists()
    tee.finish()
    assert tee.outcome() is None and written.calls == 0 and _leftovers(tmp_path) == []


def test_pieces_left_half_read_leave_nothing_and_the_job_writes_the_report(scanned: object, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("yesterday's report")
    tee, written = _tee(scanned, out)
    pieces = iter(ReportPieces(scanned, tee).pieces())  # type: ignore[arg-type]
    for _ in range(5):
        next(pieces)
    pieces.close()  # the store's read stopped (a report saved whole after all)
    assert out.read_text() == "yesterday's report" and _leftovers(tmp_path) == []
    assert tee.outcome() is not None  # not written yet
    tee.finish()
    assert written.calls == 1 and tee.outcome() is None
    assert out.read_bytes() == JsonReporter().render(scanned)  # type: ignore[arg-type]


def test_a_report_that_cannot_be_written_does_not_stop_the_read(scanned: object, tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    tee, written = _tee(scanned, gone / "report.json")
    gone.rmdir()  # after the scan's check of its outputs, before the report is written
    read = b"".join(data for data, _, _ in ReportPieces(scanned, tee).pieces())  # type: ignore[arg-type]
    assert read == JsonReporter().render(scanned)  # type: ignore[arg-type]
    tee.finish()  # said, not tried again
    message = tee.outcome()
    assert written.calls == 0 and message is not None
    assert message.startswith("json report not written: ") and str(gone) in message


def test_a_reading_process_killed_half_way_leaves_no_temporary_file(scanned: object, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    tee, written = _tee(scanned, out)
    pid = os.fork()
    if pid == 0:  # the reading process (as a save's read aside): killed with half the report read
        pieces = iter(ReportPieces(scanned, tee).pieces())  # type: ignore[arg-type]
        for _ in range(8):
            next(pieces)
        deadline = time.monotonic() + 10
        while not _leftovers(tmp_path) and time.monotonic() < deadline:  # the writing thread under way
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)
    assert len(_leftovers(tmp_path)) == 1 and not out.exists()  # what the killed process was writing
    tee.finish()
    assert _leftovers(tmp_path) == [] and written.calls == 1 and tee.outcome() is None
    assert out.read_bytes() == JsonReporter().render(scanned)  # type: ignore[arg-type]


def test_the_outcome_of_a_forked_reader_reaches_the_scan(scanned: object, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    tee, written = _tee(scanned, out)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for _ in ReportPieces(scanned, tee).pieces():  # type: ignore[arg-type]
                pass
        except BaseException:
            code = 1
        os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    tee.finish()  # in this process: the forked reader wrote it
    assert written.calls == 0 and tee.outcome() is None
    assert out.read_bytes() == JsonReporter().render(scanned)  # type: ignore[arg-type]


@pytest.mark.parametrize("workers", ["2", "1"])
def test_a_first_scan_saved_to_the_store_writes_the_report_the_store_holds(tmp_path: Path, workers: str) -> None:
    # --workers 2: the store reads the pieces aside and the JSON report is written there;
    # --workers 1: rendered once, whole, for both (no tee)
    mixed_tree(tmp_path / "tree")
    out, store = tmp_path / "report.json", tmp_path / "history.sqlite3"
    done = keysweep(
        "scan", "--path", str(tmp_path / "tree"), "--json", str(out), "--store", str(store), "--workers", workers, "-q"
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(store) as db:
        scan_id, digest = db.execute("SELECT id, content_digest FROM scans").fetchone()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
    with open_store(store) as history:
        assert history.load_bytes(scan_id) == out.read_bytes()
    assert _leftovers(tmp_path) == []


def test_a_temporary_file_is_named_to_the_tee_before_it_exists(tmp_path: Path) -> None:
    # a reading process killed between making its temporary file and naming it left the file for
    # ever (seen once in eight runs of the test above): the name is told first, then the file made
    from scanner.reporting.output import write_output_chunks

    told: list[tuple[str, bool]] = []
    out = tmp_path / "report.json"
    write_output_chunks(str(out), [b"{", b"}"], temporary=lambda path: told.append((path, os.path.exists(path))))
    [(path, existed)] = told
    assert not existed and Path(path).parent == tmp_path and Path(path).name.startswith(".report.json.")
    assert out.read_bytes() == b"{}" and _leftovers(tmp_path) == []
