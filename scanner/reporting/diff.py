"""What changed between two scans: new, resolved and changed findings and assets.

Works on JSON reports (report files or history-store entries, which are the same bytes), matching
findings by their stable id (rule id + asset id) and assets by their content-derived id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scanner.inventory.model import Severity
from scanner.printable import printable

# facts that move every day by themselves; a change in them alone is not a change of the asset
_VOLATILE_PROPERTIES = frozenset({"age_days", "days_remaining"})
# what makes a finding "changed" while it stays open
_FINDING_FIELDS = ("severity", "title", "category", "waived", "deadline")


class DiffError(ValueError):
    """A report could not be found or read; the message names it."""


@dataclass(frozen=True, slots=True)
class ReportDiff:
    old_scan: dict[str, Any]
    new_scan: dict[str, Any]
    new_findings: tuple[dict[str, Any], ...]
    resolved_findings: tuple[dict[str, Any], ...]
    changed_findings: tuple[dict[str, Any], ...]
    new_assets: tuple[dict[str, Any], ...]
    removed_assets: tuple[dict[str, Any], ...]
    changed_assets: tuple[dict[str, Any], ...]

    def new_at_or_above(self, severity: Severity) -> list[dict[str, Any]]:
        """New open findings at or above ``severity`` (what `--fail-on-new` fails on)."""
        return [
            f for f in self.new_findings if f.get("waived") is None and Severity(f["severity"]).rank >= severity.rank
        ]


def _by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


def _asset_view(asset: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in asset.get("properties", {}).items() if k not in _VOLATILE_PROPERTIES}
    return {"type": asset.get("type"), "properties": props, "locations": asset.get("locations", [])}


def _severity_order(finding: dict[str, Any]) -> tuple[int, str, str]:
    return (-Severity(finding["severity"]).rank, finding["rule_id"], finding["asset_id"])


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> ReportDiff:
    old_f, new_f = _by_id(old["findings"]), _by_id(new["findings"])
    changed_f = []
    for fid in sorted(old_f.keys() & new_f.keys()):
        before, after = old_f[fid], new_f[fid]
        fields = [name for name in _FINDING_FIELDS if before.get(name) != after.get(name)]
        if fields:
            changed_f.append({"id": fid, "fields": fields, "before": before, "after": after})

    old_a, new_a = _by_id(old["assets"]), _by_id(new["assets"])
    changed_a = []
    for aid in sorted(old_a.keys() & new_a.keys()):
        before, after = _asset_view(old_a[aid]), _asset_view(new_a[aid])
        if before != after:
            props = sorted(
                k
                for k in before["properties"].keys() | after["properties"].keys()
                if before["properties"].get(k) != after["properties"].get(k)
            )
            fields = props + (["locations"] if before["locations"] != after["locations"] else [])
            changed_a.append({"id": aid, "type": after["type"], "fields": fields})

    return ReportDiff(
        old_scan=old.get("scan", {}),
        new_scan=new.get("scan", {}),
        new_findings=tuple(sorted((new_f[i] for i in new_f.keys() - old_f.keys()), key=_severity_order)),
        resolved_findings=tuple(sorted((old_f[i] for i in old_f.keys() - new_f.keys()), key=_severity_order)),
        changed_findings=tuple(changed_f),
        new_assets=tuple(sorted((new_a[i] for i in new_a.keys() - old_a.keys()), key=lambda a: a["id"])),
        removed_assets=tuple(sorted((old_a[i] for i in old_a.keys() - new_a.keys()), key=lambda a: a["id"])),
        changed_assets=tuple(changed_a),
    )


def _brief_asset(asset: dict[str, Any]) -> dict[str, Any]:
    return {"id": asset["id"], "type": asset["type"]}


def diff_dict(d: ReportDiff) -> dict[str, Any]:
    """The JSON form of a diff (``keysweep diff --format json``)."""
    return {
        "old_scan": {k: d.old_scan.get(k) for k in ("id", "finished_at", "targets")},
        "new_scan": {k: d.new_scan.get(k) for k in ("id", "finished_at", "targets")},
        "counts": {
            "new_findings": len(d.new_findings),
            "resolved_findings": len(d.resolved_findings),
            "changed_findings": len(d.changed_findings),
            "new_assets": len(d.new_assets),
            "removed_assets": len(d.removed_assets),
            "changed_assets": len(d.changed_assets),
        },
        "findings": {
            "new": list(d.new_findings),
            "resolved": list(d.resolved_findings),
            "changed": [
                {
                    "id": c["id"],
                    "rule_id": c["after"]["rule_id"],
                    "asset_id": c["after"]["asset_id"],
                    "fields": c["fields"],
                    "before": {k: c["before"].get(k) for k in c["fields"]},
                    "after": {k: c["after"].get(k) for k in c["fields"]},
                }
                for c in d.changed_findings
            ],
        },
        "assets": {
            "new": [_brief_asset(a) for a in d.new_assets],
            "removed": [_brief_asset(a) for a in d.removed_assets],
            "changed": list(d.changed_assets),
        },
    }


def diff_text(d: ReportDiff) -> str:
    """A short human summary, one line per change; every field from a report is escaped for the
    terminal (subjects, paths and config values come from the scanned material)."""
    p = printable
    lines = [
        f"keysweep diff: {p(d.old_scan.get('id', '?'))} ({p(d.old_scan.get('finished_at', '?'))})"
        f" -> {p(d.new_scan.get('id', '?'))} ({p(d.new_scan.get('finished_at', '?'))})",
        f"findings: {len(d.new_findings)} new, {len(d.resolved_findings)} resolved, {len(d.changed_findings)} changed;"
        f" assets: {len(d.new_assets)} new, {len(d.removed_assets)} removed, {len(d.changed_assets)} changed",
    ]
    for title, findings, mark in (
        ("New findings", d.new_findings, "+"),
        ("Resolved findings", d.resolved_findings, "-"),
    ):
        if findings:
            lines += ["", f"{title}:"]
            lines += [
                f"  {mark} [{p(f['severity'])}] {p(f['rule_id'])} on {p(f['asset_id'])}: {p(f['message'])}"
                for f in findings
            ]
    if d.changed_findings:
        lines += ["", "Changed findings:"]
        for c in d.changed_findings:
            what = ", ".join(f"{p(k)} {p(c['before'].get(k))} -> {p(c['after'].get(k))}" for k in c["fields"])
            lines.append(f"  ~ {p(c['after']['rule_id'])} on {p(c['after']['asset_id'])}: {what}")
    for title, assets, mark in (("New assets", d.new_assets, "+"), ("Removed assets", d.removed_assets, "-")):
        if assets:
            lines += ["", f"{title}:"]
            lines += [f"  {mark} {p(a['type'])} {p(a['id'])}" for a in assets]
    if d.changed_assets:
        lines += ["", "Changed assets:"]
        lines += [f"  ~ {p(a['type'])} {p(a['id'])}: {', '.join(p(f) for f in a['fields'])}" for a in d.changed_assets]
    return "\n".join(lines) + "\n"
