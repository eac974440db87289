"""Issue 12 items 2 and 5: the JSON report is written a chunk at a time, byte for byte the report
that JsonReporter.render gives, through the output rules (atomic file, stdout, FIFO)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from scanner.inventory.model import ScanResult, ScopeSummary
from scanner.reporting import json_report
from scanner.reporting.json_report import JsonReporter, iter_report
from tests.support.outputs import over_a_failed_write, through_fifo, to_file_and_stdout
from tests.support.scans import awkward_names_tree, keysweep, mixed_tree, scan_paths


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    root = tmp_path_factory.mktemp("stream")
    awkward_names_tree(root)
    return scan_paths(root)


@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_the_streamed_report_is_the_rendered_report(
    result: ScanResult, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_report, "CHUNK_ITEMS", chunk)
    assert len(result.assets) > 2 and len(result.findings) > 2 and len(result.relations) > 2
    pieces = list(iter_report(result))
    assert b"".join(pieces) == JsonReporter().render(result)
    assert b"\\udce9" in b"".join(pieces)  # the undecodable byte, escaped as documented
    if chunk == 1:  # one piece per item: nothing was encoded as a whole list
        assert len(pieces) > len(result.assets) + len(result.findings)


def test_empty_lists_and_a_fleet_report_stream_the_same(result: ScanResult) -> None:
    empty = dataclasses.replace(result, assets=(), relations=(), findings=(), errors=())
    assert b"".join(iter_report(empty)) == JsonReporter().render(empty)
    scope = ScopeSummary("web", "s1", "h1", "2026-11-01T00:00:00Z", 3, 2, 1, 50, False)
    fleet = dataclasses.replace(result, scopes=(scope,))
    streamed = b"".join(iter_report(fleet))
    assert streamed == JsonReporter().render(fleet) and b'"scopes":[{"scope":"web"' in streamed


def test_written_to_a_file_stdout_and_a_fifo(
    result: ScanResult, tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    expected = JsonReporter().render(result)
    assert to_file_and_stdout(JsonReporter(), result, tmp_path / "report.json", capfdbinary) == (expected, expected)
    assert through_fifo(JsonReporter(), result, tmp_path / "pipe") == [expected]


def test_a_failure_mid_stream_keeps_the_old_report(
    result: ScanResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_report, "CHUNK_ITEMS", 1)
    calls = []

    def failing(f: object) -> dict[str, object]:
        calls.append(f)
        if len(calls) > 1:
            raise RuntimeError("broken finding")
        return {}

    monkeypatch.setattr(json_report, "finding_dict", failing)
    # never half a report, and no temporary file left
    left = over_a_failed_write(JsonReporter(), result, tmp_path / "report.json", "broken finding")
    assert left == (b"the previous report", ["report.json"])


def test_the_cli_streams_the_same_report(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    mixed_tree(tree)
    run = keysweep("scan", "--path", str(tree), "--no-store", "--json", str(tmp_path / "r.json"), "-q")
    assert run.returncode in (0, 1), run.stderr
    streamed = json.loads((tmp_path / "r.json").read_bytes())
    assert streamed["schema_version"] == "1" and len(streamed["assets"]) == len(scan_paths(tree).assets)
