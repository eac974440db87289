"""`keysweep demo` end to end: sample-targets started, scanned, reported, stopped."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

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
    _check_systems_and_exports(report, generated)


# The M-23-02 rows the sample systems must give: (system, function, algorithm, key length,
# implementation, assets). TLS key exchange is listed by its groups, which the servers' OpenSSL
# chooses: those rows are matched on their first group.
EXPECTED_M2302 = [
    ("payments", "key-establishment", "RSA", "2048", "hardware", "1"),
    ("payments", "key-establishment", "RSA", "3072", "hardware", "1"),
    ("payments", "key-establishment", "x25519", "", "software", "1"),
    ("payments", "key-establishment", "x25519", "", "software", "1"),
    ("payments", "signature", "EC secp256r1", "256", "hardware", "1"),
    ("payments", "signature", "EC secp256r1", "256", "software", "1"),
    ("payments", "signature", "EC secp256r1", "256", "software", "2"),
    ("payments", "signature", "EC secp384r1", "384", "hardware", "1"),
    ("payments", "signature", "EC secp384r1", "384", "software", "1"),
    ("payments", "signature", "EC secp384r1", "384", "software", "1"),
    ("payments", "signature", "RSA", "1024", "hardware", "1"),
    ("payments", "signature", "RSA", "1024", "software", "1"),
    ("payments", "signature", "RSA", "2048", "hardware", "1"),
    ("intranet", "other", "RSA", "1024", "software", "1"),
    ("intranet", "signature", "EC secp256r1", "256", "software", "1"),
    ("intranet", "signature", "Ed25519", "256", "software", "1"),
    ("intranet", "signature", "RSA", "1024", "software", "1"),
    ("records-archive", "signature", "DSA", "2048", "software", "1"),
    ("records-archive", "signature", "EC secp256r1", "256", "software", "1"),
    ("records-archive", "signature", "RSA", "1024", "software", "1"),
    ("records-archive", "signature", "RSA", "2048", "software", "3"),
    ("records-archive", "signature", "RSA", "3072", "software", "3"),
]


def _check_systems_and_exports(report: dict[str, Any], generated: Path) -> None:
    systems = {s["id"]: s for s in report["summary"]["systems"]}
    assert list(systems) == ["payments", "intranet", "records-archive", "unassigned"]
    assert {systems[s]["impact"] for s in ("payments", "intranet", "records-archive")} == {"high", "moderate", "low"}
    # the one file no system claims: the ML-DSA certificate, its key and the file itself
    unassigned = [a["id"] for a in report["assets"] if not a["systems"]]
    assert systems["unassigned"]["assets"] == len(unassigned) == 3
    assert all(
        a["properties"].get("path", "").endswith("pq/ml-dsa-65.crt") or a["type"] != "file"
        for a in report["assets"]
        if not a["systems"]
    )
    assert systems["payments"]["pq_priority"]["priority"] == "critical"
    assert systems["payments"]["pq_priority"]["harvest_now_decrypt_later"] is True

    with (generated / "m2302.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    got = [
        (
            r["system_id"],
            r["function"],
            r["algorithm"].split(",")[0] if r["platform"].startswith("TLS endpoint") else r["algorithm"],
            r["key_length"],
            r["implementation"],
            r["assets"],
        )
        for r in rows
    ]
    assert sorted(got) == sorted(EXPECTED_M2302)
    hsm = next(r for r in rows if r["implementation"] == "hardware")
    assert hsm["vendor"] == "SoftHSM project" and hsm["product"] and hsm["version"]  # the token's own answer
    legacy = [r for r in rows if "cannot_migrate" in r["attested_facts"]]
    assert legacy and all(
        r["system_id"] == "records-archive" and r["attested_facts_source"] == "attested" for r in legacy
    )
    assert all(r["algorithm_source"] == "collected" and r["impact_source"] == "attested" for r in rows)

    from trestle.oscal.assessment_results import AssessmentResults
    from trestle.oscal.poam import PlanOfActionAndMilestones

    assert AssessmentResults.oscal_read(generated / "oscal-ar.json") is not None
    assert PlanOfActionAndMilestones.oscal_read(generated / "oscal-poam.json") is not None
    compliance = (generated / "compliance.csv").read_text()
    assert ",payments,fail," in compliance and ",(all)," in compliance


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
