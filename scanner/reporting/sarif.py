"""SARIF 2.1.0: one rule per keysweep rule, one result per finding, for code-scanning dashboards.

Files and configs get a physical location (with a line where the collector knew it); endpoints,
tokens and other places that are not files get a logical location.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from scanner import __version__
from scanner.inventory.model import Finding, RuleInfo, ScanResult, Severity
from scanner.reporting.locations import Place, places

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning ranks security results by this CVSS-like number
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _rule(info: RuleInfo) -> dict[str, Any]:
    references = "\n".join(f"- {r}" for r in info.references)
    text = f"{info.rationale}\n\nRemediation: {info.remediation}\n\nReferences:\n{references}".strip()
    markdown = (f"{info.rationale}\n\n**Remediation:** {info.remediation}\n\n**References:**\n\n{references}").strip()
    return {
        "id": info.id,
        "name": info.id.replace(".", "_").replace("-", "_"),
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.rationale or info.title},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": LEVELS[info.severity]},
        "properties": {
            "category": info.category,
            "pack": info.pack,
            "tags": ["security", "cryptography", info.category],
            "security-severity": SECURITY_SEVERITY[info.severity],
        },
    }


def _rule_from_finding(f: Finding) -> RuleInfo:
    return RuleInfo(f.rule_id, f.title, f.category, f.severity, ",".join(f.policies), "", f.remediation, f.references)


def _location(place: Place, asset_id: str) -> dict[str, Any]:
    if place.path:
        physical: dict[str, Any] = {"artifactLocation": {"uri": Path(place.path).as_uri()}}
        if place.line:
            physical["region"] = {"startLine": place.line}
        location: dict[str, Any] = {"physicalLocation": physical}
        if place.detail:
            location["message"] = {"text": place.detail}
        return location
    return {
        "logicalLocations": [
            {
                "name": place.logical or asset_id,
                "fullyQualifiedName": f"{place.kind}:{place.logical}" if place.kind else (place.logical or asset_id),
                "kind": "resource",
            }
        ]
    }


class SarifReporter:
    format: ClassVar[str] = "sarif"

    def render(self, result: ScanResult) -> bytes:
        rules = {r.id: r for r in result.rules}
        for f in result.findings:
            rules.setdefault(f.rule_id, _rule_from_finding(f))
        order = sorted(rules)
        index = {rule_id: i for i, rule_id in enumerate(order)}
        assets = {a.id: a for a in result.assets}
        results = []
        for f in result.findings:
            entry: dict[str, Any] = {
                "ruleId": f.rule_id,
                "ruleIndex": index[f.rule_id],
                "level": LEVELS[f.severity],
                "message": {"text": f"{f.message} (asset {f.asset_id})"},
                "locations": [_location(p, f.asset_id) for p in places(assets.get(f.asset_id), f.asset_id)],
                "partialFingerprints": {"keysweepFindingId/v1": f.id},
                "properties": {
                    "severity": f.severity.value,
                    "category": f.category,
                    "asset_id": f.asset_id,
                    "evidence": dict(f.evidence),
                    "policies": list(f.policies),
                    **({"deadline": f.deadline} if f.deadline else {}),
                },
            }
            if f.waived is not None:
                entry["suppressions"] = [{"kind": "external", "justification": f.waived.reason}]
            results.append(entry)
        meta = result.metadata
        sarif = {
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "keysweep",
                            "version": __version__,
                            "semanticVersion": __version__,
                            "rules": [_rule(rules[rule_id]) for rule_id in order],
                        }
                    },
                    "automationDetails": {"id": f"keysweep/{meta.id}"},
                    "invocations": [
                        {
                            "executionSuccessful": True,
                            "startTimeUtc": meta.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "endTimeUtc": meta.finished_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "toolExecutionNotifications": [
                                {"level": "warning", "message": {"text": f"{e.collector}: {e.target}: {e.message}"}}
                                for e in result.errors
                            ],
                        }
                    ],
                    "results": results,
                }
            ],
        }
        # backslashreplace: a non-UTF-8 file name's surrogates become JSON \udcXX escapes, as in the JSON report
        return json.dumps(sarif, indent=1, ensure_ascii=False, default=str).encode("utf-8", "backslashreplace")
