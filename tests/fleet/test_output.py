"""The streamed JSON writer of `fleet report` writes exactly the JSON reporter's bytes."""

from __future__ import annotations

from pathlib import Path

from scanner.fleet.output import write_json_report
from scanner.reporting.json_report import JsonReporter, report_dict
from tests.support.scans import mixed_tree, scan_paths


def test_streamed_json_is_the_json_report(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    result = scan_paths(tmp_path / "tree")
    assert result.assets and result.findings and result.relations
    write_json_report(tmp_path / "out" / "r.json", report_dict(result))
    assert (tmp_path / "out" / "r.json").read_bytes() == JsonReporter().render(result)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["r.json"]  # no temporary file left
