"""`keysweep diff`: one certificate replaced between two scans gives exactly its findings."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import pki
from tests.support.scans import keysweep, mixed_tree


def test_replaced_certificate_is_exactly_the_diff(tmp_path: Path) -> None:
    tree, db = tmp_path / "tree", tmp_path / "h.sqlite3"
    mixed_tree(tree)
    key = pki.ec_key()
    # before: a five-year certificate (too long for the rotation policy, medium)
    pki.write(tree / "svc.crt", pki.pem(pki.certificate(key, "svc.test", days=5 * 365)))
    first = keysweep("scan", "--path", str(tree), "--store", str(db), "--json", str(tmp_path / "old.json"))
    assert first.returncode == 0, first.stderr
    # after: the same key in an expired certificate (high)
    pki.write(tree / "svc.crt", pki.pem(pki.certificate(key, "svc.test", not_before=pki.NOW - 100 * pki.DAY, days=30)))
    second = keysweep("scan", "--path", str(tree), "--store", str(db), "--json", str(tmp_path / "new.json"))
    assert second.returncode == 0, second.stderr

    old = json.loads((tmp_path / "old.json").read_text())
    new = json.loads((tmp_path / "new.json").read_text())

    def svc_cert(report: dict) -> str:  # type: ignore[type-arg]
        return next(
            a["id"] for a in report["assets"] if a["type"] == "certificate" and "svc.test" in a["properties"]["subject"]
        )

    old_cert, new_cert = svc_cert(old), svc_cert(new)
    old_findings = {f["id"] for f in old["findings"] if f["asset_id"] == old_cert}
    new_findings = {f["id"] for f in new["findings"] if f["asset_id"] == new_cert}
    assert {f["rule_id"] for f in old["findings"] if f["id"] in old_findings} == {"cms.cert.validity-exceeds-rotation"}
    assert {f["rule_id"] for f in new["findings"] if f["id"] in new_findings} == {"cms.cert.expired"}

    done = keysweep("diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--format", "json")
    assert done.returncode == 0, done.stderr
    diff = json.loads(done.stdout)
    assert {f["id"] for f in diff["findings"]["new"]} == new_findings
    assert {f["id"] for f in diff["findings"]["resolved"]} == old_findings
    assert diff["findings"]["changed"] == []
    assert [a["id"] for a in diff["assets"]["new"]] == [new_cert]
    assert [a["id"] for a in diff["assets"]["removed"]] == [old_cert]
    # at most the file holding it changed (its size); nothing else moved
    assert {a["id"] for a in diff["assets"]["changed"]} <= {f"file:{tree / 'svc.crt'}"}

    # the same diff from the store, by scan ids; and the CI gate
    ids = [s["id"] for s in json.loads(keysweep("history", "--store", str(db), "--json").stdout)]
    new_id, old_id = ids
    assert old_id == old["scan"]["id"] and new_id == new["scan"]["id"]
    gate = keysweep("diff", old_id, new_id[:8], "--store", str(db), "--fail-on-new", "high")
    assert gate.returncode == 1, gate.stderr
    assert "+ [high] cms.cert.expired on " + new_cert in gate.stdout
    assert "- [medium] cms.cert.validity-exceeds-rotation on " + old_cert in gate.stdout
    assert keysweep("diff", old_id, new_id, "--store", str(db), "--fail-on-new", "critical").returncode == 0
    # nothing new at all the other way round at high: the expired certificate is resolved there
    assert keysweep("diff", new_id, old_id, "--store", str(db), "--fail-on-new", "high").returncode == 0


def test_diff_of_unknown_reports_is_a_usage_error(tmp_path: Path) -> None:
    done = keysweep("diff", str(tmp_path / "nope.json"), "also-nope", "--store", str(tmp_path / "none.sqlite3"))
    assert done.returncode == 2
    assert "nope.json" in done.stderr and "does not exist" in done.stderr
