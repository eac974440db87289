"""The exports for the people who file them: M-23-02 (CSV and JSON), OSCAL AR and POA&M, the
per-requirement compliance view, on real scans of real files."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.poam import PlanOfActionAndMilestones

from scanner.collectors.base import Target
from scanner.compat import UTC
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.model import ScanResult
from scanner.inventory.summary import summarize
from scanner.inventory.systems import parse_systems
from scanner.reporting.base import load_reporter
from scanner.scan import ScanRequest, run_scan
from tests.support.scans import keysweep, mixed_tree


def _scan(root: Path, as_of: datetime | None = None) -> ScanResult:
    mixed_tree(root)
    systems = parse_systems(
        {
            "system": [
                {
                    "id": "pki",
                    "name": '=HYPERLINK("http://x")',  # a name a spreadsheet would run
                    "impact": "high",
                    "data_ttl_years": 15,
                    "match": {"paths": [str(root / "ca.crt"), str(root / "good.crt")]},
                },
                {"id": "legacy", "impact": "low", "data_ttl_years": 1, "match": {"paths": [str(root / "old")]}},
            ],
            "asset": [{"match": {"paths": [str(root / "old")]}, "facts": {"cannot_migrate": "vendor appliance"}}],
        },
        "inline",
    )
    packs = select_packs(discover_packs(()), ())
    return run_scan(ScanRequest((Target("path", str(root)),), tuple(packs), as_of=as_of, systems=systems))


def _rows(result: ScanResult) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(load_reporter("m2302").render(result).decode())))


def test_m2302_csv_and_json_carry_the_same_rows_with_their_sources(tmp_path: Path) -> None:
    result = _scan(tmp_path)
    rows = _rows(result)
    document = json.loads(load_reporter("m2302-json").render(result))
    assert len(rows) == len(document["rows"]) > 0
    # every key of the scan that is quantum-vulnerable appears in exactly one row of each of its systems
    vulnerable = {a.id for a in result.assets if a.properties.get("quantum_vulnerable")}
    listed = {i for r in document["rows"] for i in r["asset_ids"]["value"]}
    assert vulnerable <= listed
    systems = {r["system_id"] for r in rows}
    assert systems <= {"pki", "legacy", "unassigned"} and {"pki", "legacy"} <= systems
    for row in document["rows"]:
        assert row["algorithm"]["source"] == "collected"
        assert row["impact"]["source"] == ("attested" if row["system_id"]["value"] != "unassigned" else "collected")
    legacy = [r for r in rows if r["system_id"] == "legacy"]
    assert legacy and all("vendor appliance" in r["attested_facts"] for r in legacy)
    # the hostile system name reaches the CSV as text, never as a formula
    pki_rows = [r for r in rows if r["system_id"] == "pki"]
    assert pki_rows and all(r["system_name"].startswith("'=") for r in pki_rows)


def test_oscal_documents_validate_against_the_oscal_models(tmp_path: Path) -> None:
    result = _scan(tmp_path / "tree")
    (tmp_path / "ar.json").write_bytes(load_reporter("oscal-ar").render(result))
    (tmp_path / "poam.json").write_bytes(load_reporter("oscal-poam").render(result))
    # oscal_read parses with trestle's pydantic models, generated from NIST's OSCAL schema (extra fields forbidden)
    ar = AssessmentResults.oscal_read(tmp_path / "ar.json")
    poam = PlanOfActionAndMilestones.oscal_read(tmp_path / "poam.json")
    assert ar is not None and poam is not None
    assert isinstance(ar, AssessmentResults) and isinstance(poam, PlanOfActionAndMilestones)
    found = ar.results[0]
    controls = {f.target.target_id: f.target.status.state.value for f in found.findings or []}
    assert set(controls) == {"sc-8_obj", "sc-12_obj", "sc-13_obj", "sc-17_obj", "sc-28_obj", "ia-5.2_obj", "ia-7_obj"}
    open_medium = [f for f in result.findings if f.waived is None and f.severity.rank >= 2]
    assert open_medium and "not-satisfied" in controls.values()
    assert len(found.observations or []) == len(result.findings)
    assert len(found.risks or []) == len(open_medium)
    systems_in_poam = {p.value for item in poam.poam_items for p in item.props or [] if p.name == "system"}
    assert systems_in_poam and systems_in_poam <= {"pki", "legacy", "unassigned"}


def test_oscal_labels_a_projection(tmp_path: Path) -> None:
    result = _scan(tmp_path, as_of=datetime(2031, 1, 1, tzinfo=UTC))
    document: dict[str, Any] = json.loads(load_reporter("oscal-ar").render(result))["assessment-results"]
    assert "projection as of 2031-01-01" in document["results"][0]["title"]
    assert {"name": "projection-as-of", "value": "2031-01-01"}.items() <= {
        k: v for p in document["metadata"]["props"] if p["name"] == "projection-as-of" for k, v in p.items()
    }.items()


def test_compliance_view_per_requirement_and_system(tmp_path: Path) -> None:
    result = _scan(tmp_path)
    view = summarize(result)["compliance"]
    assert {row["id"] for row in view} == {r.id for r in result.requirements}
    statuses = {row["status"] for row in view}
    assert statuses <= {"pass", "fail", "not-assessed"} and "fail" in statuses and "not-assessed" in statuses
    for row in view:
        assert set(row["systems"]) == {"pki", "legacy", "unassigned"}
        failing = {f.asset_id for f in result.findings if f.waived is None and row["id"] in f.requirements}
        assert (row["status"] == "fail") == bool(failing)
    text = load_reporter("compliance").render(result).decode()
    lines = list(csv.DictReader(io.StringIO(text)))
    assert len(lines) == len(view) * 4  # overall and three systems
    # a requirement whose rules no scanned asset type can meet is not assessed, with the reason
    none = [row for row in view if row["status"] == "not-assessed"]
    assert all(row["reason"] for row in none)


def test_scan_writes_the_exports_and_a_bad_systems_file_is_a_usage_error(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    systems = tmp_path / "systems.toml"
    systems.write_text('[[system]]\nid = "all"\nimpact = "moderate"\n[system.match]\npaths = ["/"]\n')
    out = {name: tmp_path / name for name in ("m.json", "m.csv", "ar.json", "poam.json", "c.csv")}
    done = keysweep(
        "scan",
        "--path",
        str(tmp_path / "tree"),
        "--no-store",
        "--systems",
        str(systems),
        "--m2302",
        str(out["m.json"]),
        "--oscal-ar",
        str(out["ar.json"]),
        "--oscal-poam",
        str(out["poam.json"]),
        "--compliance-csv",
        str(out["c.csv"]),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out["m.json"].read_text())["rows"][0]["system_id"]["value"] == "all"
    assert (
        out["ar.json"].is_file() and out["poam.json"].is_file() and out["c.csv"].read_text().startswith("requirement,")
    )
    systems.write_text('[[system]]\nid = "all"\nimpact = "extreme"\n')
    bad = keysweep("scan", "--path", str(tmp_path / "tree"), "--no-store", "--systems", str(systems))
    assert bad.returncode == 2 and str(systems) in bad.stderr and "impact must be one of" in bad.stderr


def test_reports_without_a_systems_file_have_no_systems(tmp_path: Path) -> None:
    result = dataclasses.replace(_scan(tmp_path), systems=None, membership=None)
    summary = summarize(result)
    assert summary["systems"] == []
    assert {r["system_id"] for r in _rows(result)} == {"unassigned"}


def test_a_scan_definition_names_the_systems_file_and_the_exports(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    (tmp_path / "systems.toml").write_text('[[system]]\nid = "tree"\n[system.match]\npaths = ["*/tree"]\n')
    (tmp_path / "out").mkdir()  # an output's directory must exist before the scan (docs/reports.md)
    (tmp_path / "scan.toml").write_text(
        '[targets]\npaths = ["tree"]\n[policy]\nsystems = "systems.toml"\n'
        '[outputs]\njson = "out/r.json"\nm2302 = "out/m.csv"\ncompliance_csv = "out/c.csv"\n[store]\nenabled = false\n'
    )
    done = keysweep("scan", "--config", str(tmp_path / "scan.toml"))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "r.json").read_text())
    assert {s["id"] for s in report["summary"]["systems"]} == {"tree", "unassigned"}
    assert all(a["systems"] == ["tree"] for a in report["assets"])
    rows = list(csv.DictReader((tmp_path / "out" / "m.csv").open(newline="")))
    assert rows and {r["system_id"] for r in rows} == {"tree"}
    assert (tmp_path / "out" / "c.csv").read_text().startswith("requirement,")
