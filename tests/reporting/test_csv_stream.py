"""Issue 12: the findings CSV is written a piece at a time, the same bytes in any chunking."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from scanner.inventory.model import ScanResult
from scanner.reporting import csv_report
from scanner.reporting.csv_report import COLUMNS, CsvReporter
from tests.support.outputs import to_file_and_stdout
from tests.support.scans import mixed_tree, scan_paths


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    root = tmp_path_factory.mktemp("csv-stream")
    mixed_tree(root)
    return scan_paths(root)


@pytest.mark.parametrize("rows", [1, 2, 1000])
def test_any_chunking_gives_the_same_rows(result: ScanResult, rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = CsvReporter().render(result)
    monkeypatch.setattr(csv_report, "CHUNK_ROWS", rows)
    pieces = list(CsvReporter().chunks(result))
    assert b"".join(pieces) == whole
    assert whole.startswith("\ufeff".encode()) and whole.count("\ufeff".encode()) == 1
    table = list(csv.reader(io.StringIO(whole.decode("utf-8").removeprefix("\ufeff"))))
    assert table[0] == list(COLUMNS)
    assert [row[0] for row in table[1:]] == [f.id for f in result.findings]
    if rows == 1:  # a piece per row, and the last (empty once every row was taken)
        assert len(pieces) == len(result.findings) + 1


def test_written_to_a_file_and_stdout(
    result: ScanResult, tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    expected = CsvReporter().render(result)
    assert to_file_and_stdout(CsvReporter(), result, tmp_path / "findings.csv", capfdbinary) == (expected, expected)
