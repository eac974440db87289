"""Issue 12: the SARIF log is written a piece at a time (bounded memory at estate scale), byte for byte
the json module's indent-1 text of the same document, through the output rules (file, stdout, FIFO)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from scanner.inventory.model import ScanResult
from scanner.reporting import sarif
from scanner.reporting.sarif import SarifReporter
from tests.support import pki
from tests.support.outputs import json_module_indent1, through_fifo, to_file_and_stdout
from tests.support.scans import awkward_names_tree, scan_paths


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    root = tmp_path_factory.mktemp("sarif-stream")
    awkward_names_tree(root)  # a non-UTF-8 file name among them (its URI names the byte)
    # one certificate in many files: its findings name every one of them
    for n in range(40):
        pki.write(root / "copies" / f"ca-{n:02d}.crt", (root / "ca.crt").read_bytes())
    return scan_paths(root)


@pytest.mark.parametrize(("results", "places"), [(1, 2000), (2, 2000), (500, 2000), (500, 10)])
def test_the_streamed_log_is_the_json_modules_text(
    result: ScanResult, results: int, places: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sarif, "CHUNK_RESULTS", results)
    monkeypatch.setattr(sarif, "CHUNK_LOCATIONS", places)
    assert len(result.findings) > 4
    pieces = list(SarifReporter(tmp_path).chunks(result))
    log = b"".join(pieces)
    assert log == json_module_indent1(json.loads(log))
    assert b"caf%E9.crt" in log  # the undecodable byte, as its file URI names it
    document = json.loads(log)
    assert [r["partialFingerprints"]["keysweepFindingId/v1"] for r in document["runs"][0]["results"]] == [
        f.id for f in result.findings
    ]
    if results == 1:  # the run's head, a piece per result, the results' close, the rest of the run
        assert len(pieces) == len(result.findings) + 3
    if places == 10:  # the findings of the copied certificate name 40 places: each ends a piece early
        widest = max(len(r["locations"]) for r in document["runs"][0]["results"])
        assert widest >= 40 and len(pieces) > len(result.findings) // 500 + 3


def test_chunking_never_changes_the_bytes(result: ScanResult, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    whole = SarifReporter(tmp_path).render(result)
    monkeypatch.setattr(sarif, "CHUNK_RESULTS", 3)
    assert SarifReporter(tmp_path).render(result) == whole


def test_no_findings(result: ScanResult, tmp_path: Path) -> None:
    empty = dataclasses.replace(result, findings=())
    log = SarifReporter(tmp_path).render(empty)
    assert log == json_module_indent1(json.loads(log)) and json.loads(log)["runs"][0]["results"] == []


def test_written_to_a_file_stdout_and_a_fifo(
    result: ScanResult, tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    reporter = SarifReporter(tmp_path)
    expected = reporter.render(result)
    assert to_file_and_stdout(reporter, result, tmp_path / "log.sarif", capfdbinary) == (expected, expected)
    assert through_fifo(reporter, result, tmp_path / "pipe") == [expected]
