"""SARIF 2.1.0 and CSV: rules, levels, locations, and formula-safe cells."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import jsonschema

from scanner.inventory.model import Asset, AssetType, Finding, Location, Relation, RelationType, Severity, freeze
from scanner.reporting.csv_report import COLUMNS, CsvReporter
from scanner.reporting.sarif import SarifReporter
from tests.support import sarif_multitool
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
    sarif = json.loads(SarifReporter(root=tmp_path).render(result))
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

    # a file finding points at the file (relative to the root) and at the PEM block's line
    expired = next(f for f in result.findings if f.rule_id == "cms.cert.expired")
    physical = [loc["physicalLocation"] for loc in results[expired.id]["locations"]]
    relative = files["expired"].relative_to(tmp_path).as_posix()
    assert [p["artifactLocation"] for p in physical] == [{"uri": relative, "uriBaseId": "SRCROOT"}]
    assert physical[0]["region"] == {"startLine": 1}
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == tmp_path.as_uri() + "/"
    # a config outside the root: relative to the file-system root, at its line
    config_loc = results["f-config"]["locations"][0]["physicalLocation"]
    assert config_loc == {
        "artifactLocation": {"uri": "etc/nginx/nginx.conf", "uriBaseId": "FSROOT"},
        "region": {"startLine": 14},
    }
    # an endpoint nothing configures: a synthetic artifact, and its id (once prefixed) as logical place
    endpoint = results["f-endpoint"]["locations"][0]
    assert endpoint["physicalLocation"]["artifactLocation"] == {"uri": "tls/127.0.0.1/8443", "uriBaseId": "KEYSWEEP"}
    assert endpoint["logicalLocations"][0]["fullyQualifiedName"] == "tls:127.0.0.1:8443"
    assert "tls:tls:" not in json.dumps(sarif)
    # GitHub rejects an upload where any result lacks an artifact location
    for r in run["results"]:
        assert r["locations"] and all(loc["physicalLocation"]["artifactLocation"]["uri"] for loc in r["locations"])
        assert all("region" in loc["physicalLocation"] for loc in r["locations"])
    driver = run["tool"]["driver"]
    assert driver["informationUri"].startswith("https://")
    assert all(r["helpUri"].startswith(driver["informationUri"]) for r in rules)
    assert all(
        float(r["properties"]["security-severity"]) >= 0 and "security" in r["properties"]["tags"] for r in rules
    )
    assert run["automationDetails"]["id"] == f"keysweep/{result.metadata.host}/{result.metadata.id}"


def test_sarif_endpoint_configured_by_a_config_points_at_the_config(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    result = _endpoint_finding(scan_paths(tmp_path))
    result = dataclasses.replace(
        result,
        relations=(
            *result.relations,
            Relation("config:nginx:/etc/nginx/nginx.conf", "tls:127.0.0.1:8443", RelationType.CONFIGURES),
        ),
    )
    run = json.loads(SarifReporter(root=tmp_path).render(result))["runs"][0]
    endpoint = next(r for r in run["results"] if r["partialFingerprints"]["keysweepFindingId/v1"] == "f-endpoint")
    assert endpoint["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "etc/nginx/nginx.conf", "uriBaseId": "FSROOT"},
        "region": {"startLine": 14},
    }


def test_sarif_fingerprints_are_stable_across_scans(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    first = json.loads(SarifReporter(root=tmp_path).render(scan_paths(tmp_path)))["runs"][0]["results"]
    second = json.loads(SarifReporter(root=tmp_path).render(scan_paths(tmp_path)))["runs"][0]["results"]
    assert sorted(r["partialFingerprints"]["keysweepFindingId/v1"] for r in first) == sorted(
        r["partialFingerprints"]["keysweepFindingId/v1"] for r in second
    )


def test_sarif_passes_the_schema_and_the_multitool_with_github_rules(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    result = _endpoint_finding(scan_paths(tmp_path))
    path = tmp_path / "scan.sarif"
    path.write_bytes(SarifReporter(root=tmp_path).render(result))
    schema = json.loads(sarif_multitool.SCHEMA.read_text(encoding="utf-8-sig"))
    jsonschema.validate(json.loads(path.read_text()), schema)
    assert sarif_multitool.validate(path, tmp_path) == []


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
