"""One convention across commands (issue 10 part 6): --format on every command, examples in --help,
impact reading the history store and matching a subject, honest store messages, plurals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes

from scanner.cli import main
from tests.support import pki
from tests.support.scans import keysweep, mixed_tree


@pytest.mark.parametrize("command", ["scan", "diff", "history", "impact", "rules", "precommit"])
def test_help_has_examples(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_top_level_help_documents_exit_codes_and_environment() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "3 internal error; 130 interrupted" in result.output
    assert "KEYSWEEP_" in result.output


def test_impact_reads_the_latest_scan_in_the_store_and_matches_a_subject(tmp_path: Path) -> None:
    ca_key, leaf_key = pki.rsa_key(2048), pki.ec_key()
    ca = pki.certificate(ca_key, "Impact CA", days=3650, ca=True)
    pki.write(tmp_path / "tree" / "ca.crt", pki.pem(ca))
    pki.write(tmp_path / "tree" / "ca.key", pki.key_pem(ca_key))
    leaf = pki.certificate(leaf_key, "shop.test", issuer_key=ca_key, issuer_name="Impact CA", san=["shop.test"])
    pki.write(tmp_path / "tree" / "shop.crt", pki.pem(leaf))
    store = tmp_path / "history.sqlite3"
    assert keysweep("scan", "--path", str(tmp_path / "tree"), "--store", str(store)).returncode == 0
    by_san = keysweep("impact", "shop.test", "--store", str(store), "--format", "json")
    assert by_san.returncode == 0, by_san.stderr
    assert json.loads(by_san.stdout)["asset"]["id"] == f"cert:sha256:{leaf.fingerprint(hashes.SHA256()).hex()}"
    by_subject = keysweep("impact", "CN=Impact CA", "--store", str(store))
    assert by_subject.returncode == 0, by_subject.stderr
    assert "CN=shop.test" in by_subject.stdout  # the CA's blast radius holds the leaf it signed
    empty = keysweep("impact", "x", "--store", str(tmp_path / "none.sqlite3"))
    assert empty.returncode == 2 and "no history store at" in empty.stderr


def test_history_formats_and_no_pointless_no_store(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    store = tmp_path / "h.sqlite3"
    keysweep("scan", "--path", str(tmp_path / "tree"), "--store", str(store))
    listed = keysweep("history", "--store", str(store), "--format", "json")
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 1
    assert "--no-store" not in CliRunner().invoke(main, ["history", "--help"]).output


def test_unwritable_store_is_not_reported_as_saved(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    (tmp_path / "file").write_text("")
    done = keysweep("scan", "--path", str(tmp_path / "tree"), "--store", str(tmp_path / "file" / "h.sqlite3"))
    # the reports are written, and the exit code says the store failed (as for a database that is down)
    assert done.returncode == 2
    assert "scan not saved to the store" in done.stderr
    assert "saved to" not in done.stderr.replace("not saved to the store", "")


def test_demo_says_what_it_needs_outside_a_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Faked: a pip-installed keysweep is simulated by pointing the bundled resources elsewhere.
    monkeypatch.setattr("scanner.resources.reports_dir", lambda: tmp_path / "reports")
    result = CliRunner().invoke(main, ["demo", "--no-store"])
    assert result.exit_code == 2
    assert "needs a keysweep source checkout" in result.stderr and "pip-installed" in result.stderr
