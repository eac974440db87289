"""`keysweep scan --config scan.toml`: a saved scan definition, with the command line winning."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from scanner.compat import UTC
from tests.support.scans import keysweep, mixed_tree


def test_scan_runs_a_saved_definition(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    (tmp_path / "out").mkdir()  # an output's directory must exist: a typo in it is caught before the scan
    config = tmp_path / "scan.toml"
    config.write_text(
        """
[targets]
paths = ["tree", "gone"]

[policy]
policies = ["cms-km-handbook"]
fail_on = "high"

[outputs]
json = "out/scan-{date}.json"
html = "out/latest.html"
formats = ["jsonl=out/findings-{date}.jsonl"]

[store]
path = "history.sqlite3"
"""
    )
    done = keysweep("scan", "--config", str(config))
    assert done.returncode == 1, done.stderr  # the weak key and the expired certificate are high
    today = dt.datetime.now(UTC).strftime("%Y-%m-%d")
    report = json.loads((tmp_path / "out" / f"scan-{today}.json").read_text())
    # a missing path is an error entry; the rest is scanned
    assert report["scan"]["targets"] == [f"path:{tmp_path / 'tree'}", f"path:{tmp_path / 'gone'}"]
    assert {(e["target"], e["message"]) for e in report["errors"]} == {
        (str(tmp_path / "gone"), "no such file or directory")
    }
    assert f"keysweep: error: {tmp_path / 'gone'}: no such file or directory [files]" in done.stderr
    assert (tmp_path / "out" / "latest.html").is_file()
    lines = (tmp_path / "out" / f"findings-{today}.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [f["id"] for f in report["findings"]]
    assert report["scan"]["id"] in keysweep("history", "--store", str(tmp_path / "history.sqlite3")).stdout
    # the command line wins over the file
    assert keysweep("scan", "--config", str(config), "--fail-on", "critical").returncode == 0


def test_definition_whose_paths_are_all_missing_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "scan.toml"
    config.write_text('[targets]\npaths = ["gone", "also-gone"]\n')
    done = keysweep("scan", "--config", str(config), "--no-store")
    assert done.returncode == 2, done.stderr
    assert f"{tmp_path / 'gone'}: no such file or directory" in done.stderr
    assert f"{tmp_path / 'also-gone'}: no such file or directory" in done.stderr


def test_bad_definition_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "scan.toml"
    config.write_text('[targets]\npaths = ["."]\nhosts = ["x"]\n')
    done = keysweep("scan", "--config", str(config))
    assert done.returncode == 2
    assert f"{config}: unknown key 'hosts' in [targets]" in done.stderr
