"""SARIF 2.1.0 and CSV: rules, levels, locations, and formula-safe cells."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

from scanner.inventory.model import Asset, AssetType, Finding, Location, Severity, freeze
from scanner.reporting.csv_report import COLUMNS, CsvReporter
from scanner.reporting.sarif import SarifReporter
from tests.support.scans import mixed_tree, scan_paths


def _endpoint_finding(result):  # type: ignore[no-untyped-def]
    endpoint = Asset("tls:127.0.0.1:8443", AssetType.TLS_ENDPOINT, freeze({"host": "127.0.0.1", "port": 8443}))
    config = Asset(
        "config:nginx:/etc/nginx/nginx.conf",
        AssetType.CONFIG,
        freeze({"kind": "nginx", "path": "/etc/nginx/nginx.conf"}),
        (Location("config", "/etc/nginx/nginx.conf", "line 14"),),
    )
    findings = (
        Finding(
            id="f-endpoint",
            rule_id="test.tls.old-protocol",
            title="TLS 1.0 offered",
            severity=Severity.CRITICAL,
            category="protocol",
            asset_id=endpoint.id,
            message='=HYPERLINK("x") TLS 1.0 is offered',
            evidence=freeze({"protocols": ["TLSv1.0"]}),
            references=("NIST SP 800-52r2 Section 3.1",),
            policies=("test",),
            remediation="Turn off TLS 1.0 and 1.1.",
        ),
        Finding(
            id="f-config",
            rule_id="test.config.ciphers",
            title="Weak ciphers configured",
            severity=Severity.MEDIUM,
            category="configuration",
            asset_id=config.id,
            message="ssl_ciphers allows 3DES",
            evidence=freeze({}),
            references=(),
            policies=("test",),
            remediation="Remove 3DES.",
        ),
    )
    return dataclasses.replace(
        result, assets=(*result.assets, endpoint, config), findings=(*result.findings, *findings)
    )


def test_sarif_rules_results_and_locations(tmp_path: Path) -> None:
    files = mixed_tree(tmp_path)
    result = _endpoint_finding(scan_paths(tmp_path))
    sarif = json.loads(SarifReporter().render(result))
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    rule_ids = [r["id"] for r in rules]
    # one rule per keysweep rule (the pack's, and those only findings name), each with help text
    assert set(rule_ids) == {r.id for r in result.rules} | {"test.tls.old-protocol", "test.config.ciphers"}
    assert len(rule_ids) == len(set(rule_ids))
    expired_rule = rules[rule_ids.index("cms.cert.expired")]
    assert "Remediation:" in expired_rule["help"]["text"] and expired_rule["help"]["markdown"]
    assert expired_rule["defaultConfiguration"]["level"] == "error"

    results = {r["partialFingerprints"]["keysweepFindingId/v1"]: r for r in run["results"]}
    assert len(results) == len(result.findings)
    for r in run["results"]:
        assert rule_ids[r["ruleIndex"]] == r["ruleId"]
    levels = {f.id: f.severity for f in result.findings}
    expected_level = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
    assert all(results[fid]["level"] == expected_level[sev.value] for fid, sev in levels.items())

    # a file finding points at the file, a config finding at its line, an endpoint at a logical place
    expired = next(f for f in result.findings if f.rule_id == "cms.cert.expired")
    uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in results[expired.id]["locations"]]
    assert uris == [files["expired"].as_uri()]
    config_loc = results["f-config"]["locations"][0]["physicalLocation"]
    assert config_loc == {"artifactLocation": {"uri": "file:///etc/nginx/nginx.conf"}, "region": {"startLine": 14}}
    logical = results["f-endpoint"]["locations"][0]["logicalLocations"][0]
    assert logical["fullyQualifiedName"] == "tls-endpoint:tls:127.0.0.1:8443" and logical["kind"] == "resource"


def test_csv_one_row_per_finding_and_no_formulas(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    result = _endpoint_finding(scan_paths(tmp_path))
    text = CsvReporter().render(result).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0].keys()) == list(COLUMNS)
    assert sorted(r["finding_id"] for r in rows) == sorted(f.id for f in result.findings)
    endpoint_row = next(r for r in rows if r["finding_id"] == "f-endpoint")
    assert endpoint_row["message"].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it
    assert endpoint_row["location"] == "tls:127.0.0.1:8443"
    config_row = next(r for r in rows if r["finding_id"] == "f-config")
    assert config_row["location"] == "/etc/nginx/nginx.conf:14"
