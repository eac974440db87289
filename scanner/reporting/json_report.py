"""The JSON report (schema_version "1"), the contract that scripts and `keysweep diff` read."""

from __future__ import annotations

from typing import Any, ClassVar

from scanner import __version__
from scanner.inventory import jsonio
from scanner.inventory.model import Asset, Finding, ScanResult, iso_time
from scanner.inventory.summary import is_projection, summarize

SCHEMA_VERSION = "1"


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "rule_id": f.rule_id,
        "title": f.title,
        "severity": f.severity,
        "category": f.category,
        "asset_id": f.asset_id,
        "message": f.message,
        "evidence": f.evidence,
        "references": list(f.references),
        "policies": list(f.policies),
        "requirements": list(f.requirements),
        "remediation": f.remediation,
        "waived": None
        if f.waived is None
        else {"reason": f.waived.reason, "owner": f.waived.owner, "expires": f.waived.expires},
        "deadline": f.deadline,
    }


def _asset(a: Asset, result: ScanResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": a.id,
        "type": a.type,
        "properties": a.properties,
        "locations": [loc.as_dict() for loc in a.locations],
    }
    membership = result.membership
    if membership is not None:
        # declared systems only; properties are collected, `attested` holds what the systems file says
        out["systems"] = list(membership.systems.get(a.id, ()))
        if a.id in membership.facts:
            out["attested"] = membership.facts[a.id]
    return out


def report_dict(result: ScanResult) -> dict[str, Any]:
    meta = result.metadata
    report = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "keysweep", "version": __version__},
        "scan": {
            "id": meta.id,
            "started_at": iso_time(meta.started_at),
            "finished_at": iso_time(meta.finished_at),
            "as_of": iso_time(meta.as_of),
            "operator": meta.operator,
            "host": meta.host,
            "policies": list(meta.policies),
            "targets": list(meta.targets),
            "projection": is_projection(meta),
            "scope": meta.scope or meta.host,
        },
        # asset properties and enum members are dict and str subclasses: serialised as they are, uncopied
        "assets": [_asset(a, result) for a in result.assets],
        "relations": [{"source": r.source, "target": r.target, "type": r.type} for r in result.relations],
        "findings": [finding_dict(f) for f in result.findings],
        "errors": [{"target": e.target, "collector": e.collector, "message": e.message} for e in result.errors],
        # the file sweep's counts sit beside the rest of the summary: examined = recognised + skipped + failed
        "summary": {**summarize(result), "files": result.sweep.as_dict()},
    }
    if result.scopes:  # a fleet report: every scope's latest scan, merged or left out as stale
        report["scopes"] = [{name: getattr(s, name) for name in s.__dataclass_fields__} for s in result.scopes]
    return report


def encode_json_text(text: str) -> bytes:
    """UTF-8 JSON text; a lone surrogate (an undecodable file-name byte, PEP 383) becomes a \\udcXX escape.

    UTF-8 encodes every other character, so only those are escaped: JSON allows the escape,
    ``json.loads`` gives the same str back, and ``os.fsencode`` of it the exact bytes of the name
    (the convention is in docs/reports.md).
    """
    return text.encode("utf-8", "backslashreplace")


class JsonReporter:
    format: ClassVar[str] = "json"

    def render(self, result: ScanResult) -> bytes:
        # compact: with indent, json falls back to its pure-Python encoder (5x slower on big scans);
        # orjson writes the same bytes about five times faster, without a str copy of the report
        return jsonio.dumps(report_dict(result))
