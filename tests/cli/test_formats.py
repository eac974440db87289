"""--format NAME[=PATH]: any installed reporter, to stdout or to a file; JSON Lines for SIEMs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.scans import keysweep, mixed_tree


def test_jsonl_to_stdout_one_finding_per_line_with_scan_and_asset(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    report = tmp_path / "r.json"
    done = keysweep("scan", "--path", str(tmp_path / "tree"), "--no-store", "--format", "jsonl", "--json", str(report))
    assert done.returncode == 0, done.stderr
    full = json.loads(report.read_text())
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["id"] for line in lines] == [f["id"] for f in full["findings"]]
    assets = {a["id"]: a for a in full["assets"]}
    for line in lines:
        assert line["scan_id"] == full["scan"]["id"] and line["scan_host"] == full["scan"]["host"]
        assert line["asset_type"] == assets[line["asset_id"]]["type"]
        assert line["locations"] and line["severity"] in {"critical", "high", "medium", "low", "info"}


def test_format_with_path_and_the_table_to_a_file(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    table, sarif = tmp_path / "findings.txt", tmp_path / "r.sarif"
    done = keysweep(
        "scan",
        "--path",
        str(tmp_path / "tree"),
        "--no-store",
        "--format",
        f"table={table}",
        "--format",
        f"sarif={sarif}",
    )
    assert done.returncode == 0, done.stderr
    assert "HIGH (" in done.stdout  # stdout is free: the default table is still shown
    text = table.read_text()
    assert "HIGH (" in text and "\x1b" not in text and "… and" not in text  # a file gets every finding
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert f"table report written to {table}" in done.stderr


def test_format_json_to_stdout_replaces_the_table(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    done = keysweep("scan", "--path", str(tmp_path / "tree"), "--no-store", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["schema_version"] == "1"
