"""`keysweep demo` end to end: sample-targets started, scanned, reported, stopped."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from scanner.demo import read_plan, sample_targets_dir
from scanner.reporting.cbom import CbomReporter
from tests.support import sarif_multitool
from tests.support.cbom_checks import check_references
from tests.support.reports import result_from_report
from tests.support.scans import keysweep


def test_demo_scans_the_sample_targets(tmp_path: Path) -> None:
    done = keysweep("demo", "--store", str(tmp_path / "h.sqlite3"), timeout=900)
    assert done.returncode == 0, done.stderr
    html = Path(done.stdout.strip().splitlines()[-1])
    generated = sample_targets_dir() / "generated"
    assert html == generated / "report.html" and html.is_file()
    report = json.loads((generated / "report.json").read_text())
    subjects = {a["properties"].get("subject") for a in report["assets"] if a["type"] == "certificate"}
    # the PKCS#12 file opened with the password that scan-env gave the scan's environment
    assert "CN=payments.demo.internal,O=keysweep demo" in subjects
    assert "CN=pq-signing.demo.internal" in subjects  # the ML-DSA-65 certificate
    assert "demo-files-passphrase" not in done.stdout + done.stderr + (generated / "report.json").read_text()

    cbom = (generated / "report.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cbom) is None
    check_references(json.loads(cbom))
    # the same scan as CycloneDX 1.7, rendered from the demo's JSON report
    result = result_from_report(report)
    cbom_17 = CbomReporter(version="1.7").render(result).decode()
    assert JsonStrictValidator(SchemaVersion.V1_7).validate_str(cbom_17) is None
    check_references(json.loads(cbom_17))

    # SARIF: the schema, Microsoft's multitool with GitHub's rules (no error, no warning), and
    # an artifact location on every result (GitHub rejects an upload without)
    sarif_path = generated / "report.sarif"
    sarif = json.loads(sarif_path.read_text())
    jsonschema.validate(sarif, json.loads(sarif_multitool.SCHEMA.read_text(encoding="utf-8-sig")))
    assert sarif_multitool.validate(sarif_path, tmp_path) == []
    results = sarif["runs"][0]["results"]
    assert len(results) == len(report["findings"])
    for r in results:
        assert r["locations"] and all(loc["physicalLocation"]["artifactLocation"]["uri"] for loc in r["locations"])
    assert "tls:tls:" not in sarif_path.read_text() and "pkcs11:pkcs11:" not in cbom
    types = {c["cryptoProperties"]["assetType"] for c in json.loads(cbom)["components"] if "cryptoProperties" in c}
    expected = {"certificate", "algorithm", "related-crypto-material"}
    if any(a["type"] == "tls-endpoint" for a in report["assets"]):
        expected.add("protocol")  # once the TLS part of sample-targets is there
    assert types == expected
    assert (tmp_path / "h.sqlite3").is_file()


def test_scan_env_is_read_as_names_and_values(tmp_path: Path) -> None:
    part = tmp_path / "hsm"
    part.mkdir()
    (part / "scan-args").write_text("--pkcs11-module\n/usr/lib/softhsm/libsofthsm2.so\n\n")
    (part / "scan-env").write_text("# the demo token's PIN\nKEYSWEEP_PKCS11_PIN=1234=5\n")
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "scan-args").write_text("--path\n/tmp/x\n")
    plan = read_plan(tmp_path)
    assert plan.parts == ("files", "hsm")
    assert plan.args == ("--path", "/tmp/x", "--pkcs11-module", "/usr/lib/softhsm/libsofthsm2.so")
    assert plan.env == {"KEYSWEEP_PKCS11_PIN": "1234=5"}
