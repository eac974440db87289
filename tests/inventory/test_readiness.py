"""The readiness figure on real scans: 'not assessed' when there is nothing to judge, every rule-able
asset type counted, projections labelled and kept out of the default store and the trend."""

from __future__ import annotations

import json
import socket
import sqlite3
from datetime import datetime
from pathlib import Path

from scanner.collectors.base import Target
from scanner.compat import UTC
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.summary import summarize
from scanner.reporting.html import HtmlReporter
from scanner.scan import ScanRequest, run_scan
from tests.support import pki
from tests.support.scans import keysweep, mixed_tree, scan_paths


def _closed_port() -> int:
    # bound then released: nothing listens there, so a connection is refused at once
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_empty_scan_is_not_assessed(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    readiness = summarize(scan_paths(tmp_path / "empty"))["readiness"]
    assert readiness["score"] is None and readiness["status"] == "not-assessed"
    assert readiness["scored_assets"] == 0 and "nothing was assessed" in readiness["reason"]


def test_a_scan_of_only_errors_is_not_assessed(tmp_path: Path) -> None:
    packs = select_packs(discover_packs(()), ())
    targets = tuple(Target("tls", f"127.0.0.1:{_closed_port()}") for _ in range(3))
    result = run_scan(ScanRequest(targets=targets, packs=tuple(packs), timeout=5))
    assert len(result.errors) >= 3 and not result.assets
    readiness = summarize(result)["readiness"]
    assert readiness["score"] is None and readiness["status"] == "not-assessed"


def test_errors_outnumbering_the_assessed_assets_give_no_figure(tmp_path: Path) -> None:
    key = pki.ec_key()
    pki.write(tmp_path / "one.crt", pki.pem(pki.certificate(key, "one.test", days=30)))
    packs = select_packs(discover_packs(()), ())
    closed = [Target("tls", f"127.0.0.1:{_closed_port()}") for _ in range(8)]
    result = run_scan(ScanRequest(targets=(Target("path", str(tmp_path)), *closed), packs=tuple(packs), timeout=5))
    readiness = summarize(result)["readiness"]
    assert 0 < readiness["scored_assets"] < len(result.errors)
    assert readiness["score"] is None and "outnumber" in readiness["reason"]


def test_a_scan_with_only_secret_findings_is_below_100(tmp_path: Path) -> None:
    tree = tmp_path / "app"
    tree.mkdir()
    (tree / "settings.env").write_text("GITHUB_TOKEN=ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2 + "\n")
    done = keysweep(
        "scan", "--path", str(tree), "--policy", "server-config", "--no-store", "--json", str(tmp_path / "r.json")
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert {f["category"] for f in report["findings"]} == {"secret-exposure"}
    readiness = report["summary"]["readiness"]
    assert "secret" in readiness["asset_types"]
    assert readiness["score"] is not None and readiness["score"] < 100 and readiness["status"] == "red"


def test_quantum_vulnerable_keys_are_not_ready(tmp_path: Path) -> None:
    # every key classical: whatever else passes, none of these keys is ready for the PQ deadlines
    mixed_tree(tmp_path)
    summary = summarize(scan_paths(tmp_path))
    readiness = summary["readiness"]
    assert readiness["quantum_vulnerable"] >= summary["post_quantum"]["quantum_vulnerable_keys"] > 0
    assert readiness["score"] is not None and readiness["score"] < 100
    assert readiness["passing_assets"] <= readiness["scored_assets"] - readiness["quantum_vulnerable"]


def test_a_projection_is_labelled_and_not_saved_to_the_default_store(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    default_store = tmp_path / "default.sqlite3"
    env = {"KEYSWEEP_STORE": str(default_store)}
    real = keysweep("scan", "--path", str(tmp_path / "tree"), env=env)
    assert real.returncode == 0, real.stderr
    projected = keysweep(
        "scan", "--path", str(tmp_path / "tree"), "--as-of", "2031-01-01", "--json", str(tmp_path / "p.json"), env=env
    )
    assert projected.returncode == 0, projected.stderr
    assert "projection as of 2031-01-01 not saved" in projected.stderr
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["scan"]["projection"] is True and report["summary"]["projection"] is True
    with sqlite3.connect(default_store) as db:
        assert db.execute("SELECT count(*) FROM scans").fetchone()[0] == 1  # the real scan only

    # named on purpose, the store keeps it, but it never becomes a point of the real trend
    explicit = tmp_path / "explicit.sqlite3"
    for args in ((), ("--as-of", "2031-01-01"), ()):
        done = keysweep(
            "scan",
            "--path",
            str(tmp_path / "tree"),
            "--store",
            str(explicit),
            *args,
            "--html",
            str(tmp_path / "r.html"),
        )
        assert done.returncode == 0, done.stderr
    with sqlite3.connect(explicit) as db:
        assert db.execute("SELECT count(*) FROM scans").fetchone()[0] == 3
    html = (tmp_path / "r.html").read_text()
    assert html.count('class="score-dot') == 2  # the first real scan and this one, not the projection


def test_the_json_report_says_whether_it_is_a_projection(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    now = scan_paths(tmp_path)
    later = scan_paths(tmp_path, as_of=datetime(2031, 1, 1, tzinfo=UTC))
    assert summarize(now)["projection"] is False and summarize(later)["projection"] is True
    page = HtmlReporter().render(later).decode()
    assert "Projection as of 2031-01-01, not the state today." in page and 'class="projection"' in page
    assert "Projection" not in HtmlReporter().render(now).decode()
