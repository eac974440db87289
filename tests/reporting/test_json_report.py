"""The JSON report validates against reports/report.schema.json and keeps DESIGN.md's contract."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from scanner import resources
from tests.conftest import RunKeysweep
from tests.support import pki


def _schema() -> dict[str, object]:
    return json.loads((resources.reports_dir() / "report.schema.json").read_text())


def test_report_of_a_mixed_directory_validates(tmp_path: Path, run_keysweep: RunKeysweep) -> None:
    key = pki.rsa_key(2048)
    pki.write(tmp_path / "server.pem", pki.pem(pki.certificate(key, "server.example")) + pki.key_pem(key), 0o644)
    roots = b"".join(pki.pem(pki.certificate(pki.ec_key(), f"Root {i}", ca=True)) for i in range(2))
    pki.write(tmp_path / "ca-bundle.crt", roots)
    pki.write(tmp_path / "broken.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")

    run = run_keysweep(["--path", str(tmp_path)])
    assert run.report is not None
    jsonschema.validate(run.report, _schema())
    types = {a["type"] for a in run.assets()}
    assert types == {"certificate", "key", "file", "trust-store"}
    assert {r["type"] for r in run.report["relations"]} == {"certifies", "stored-in", "trusts"}
    summary = run.report["summary"]
    assert sum(summary["by_severity"].values()) == len(run.report["findings"])
    assert 0 <= summary["readiness"]["score"] <= 100 and "medium" in summary["readiness"]["method"]
    pq = summary["post_quantum"]
    keys = [a for a in run.assets("key") if a["properties"].get("quantum_vulnerable") is not None]
    assert (pq["endpoints"], pq["public_keys"]) == (0, len(keys)) and len(keys) == 3
    assert [step["date"] for step in pq["timeline"]][:2] == ["2030-12-31", "2035-12-31"]
    assert run.report["scan"]["targets"] == [f"path:{tmp_path}"]
    assert run.report["scan"]["policies"] == ["cms-km-handbook"] or "cms-km-handbook" in run.report["scan"]["policies"]


def test_schema_rejects_a_report_that_breaks_the_contract(tmp_path: Path, run_keysweep: RunKeysweep) -> None:
    pki.write(tmp_path / "c.pem", pki.pem(pki.certificate(pki.rsa_key(1024), "weak.example")))
    report = run_keysweep(["--path", str(tmp_path)]).report
    assert report is not None and report["findings"]
    report["findings"][0]["category"] = "not-a-category"
    try:
        jsonschema.validate(report, _schema())
    except jsonschema.ValidationError as exc:
        assert "not-a-category" in str(exc)
    else:
        raise AssertionError("the schema accepted an unknown category")


def test_finding_ids_are_stable_across_scans(tmp_path: Path, run_keysweep: RunKeysweep) -> None:
    pki.write(tmp_path / "c.pem", pki.pem(pki.certificate(pki.rsa_key(1024), "weak.example")))
    first = {f["id"] for f in run_keysweep(["--path", str(tmp_path)]).findings()}
    second = {f["id"] for f in run_keysweep(["--path", str(tmp_path)]).findings()}
    assert first == second and len(first) >= 2
