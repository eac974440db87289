"""A JSON report read back as a ScanResult, so that a test can render the other formats of a scan
that ran in another process (the demo). Rule metadata is not in the JSON report: SARIF rules are
then built from the findings, as the SARIF reporter does for rules it was not given."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    Finding,
    Location,
    Relation,
    RelationType,
    ScanMetadata,
    ScanResult,
    Severity,
    Waiver,
    freeze,
)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def result_from_report(report: dict[str, Any]) -> ScanResult:
    scan = report["scan"]
    metadata = ScanMetadata(
        id=scan["id"],
        started_at=_time(scan["started_at"]),
        finished_at=_time(scan["finished_at"]),
        as_of=_time(scan["as_of"]),
        operator=scan["operator"],
        host=scan["host"],
        policies=tuple(scan["policies"]),
        targets=tuple(scan["targets"]),
    )
    assets = tuple(
        Asset(
            a["id"],
            AssetType(a["type"]),
            freeze(a["properties"]),
            tuple(Location(loc["kind"], loc["ref"], loc.get("detail", "")) for loc in a["locations"]),
        )
        for a in report["assets"]
    )
    relations = tuple(Relation(r["source"], r["target"], RelationType(r["type"])) for r in report["relations"])
    findings = tuple(
        Finding(
            id=f["id"],
            rule_id=f["rule_id"],
            title=f["title"],
            severity=Severity(f["severity"]),
            category=f["category"],
            asset_id=f["asset_id"],
            message=f["message"],
            evidence=freeze(f["evidence"]),
            references=tuple(f["references"]),
            policies=tuple(f["policies"]),
            remediation=f["remediation"],
            waived=None if f["waived"] is None else Waiver("", f["waived"]["reason"], f["waived"]["owner"]),
            deadline=f["deadline"],
            requirements=tuple(f.get("requirements", ())),
        )
        for f in report["findings"]
    )
    errors = tuple(CollectionError(e["target"], e["collector"], e["message"]) for e in report["errors"])
    return ScanResult(metadata, assets, relations, findings, errors)
