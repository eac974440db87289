"""What changed between two scans: new, resolved and changed findings and assets.

Works on JSON reports (report files or history-store entries, which are the same bytes), matching
findings by their stable id (rule id + asset id) and assets by their content-derived id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.inventory.model import Severity
from scanner.store.backends import open_store
from scanner.store.interface import StoreError

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


def load_report(ref: str, store_path: str | Path | None) -> dict[str, Any]:
    """A report file's path, or a scan id (or unique id prefix) in the history store."""
    path = Path(ref).expanduser()
    if path.is_file():
        try:
            report: dict[str, Any] = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise DiffError(f"cannot read report {path}: {exc}") from None
        if not isinstance(report, dict) or "findings" not in report or "assets" not in report:
            raise DiffError(f"{path} is not a keysweep JSON report")
        return report
    if store_path is None:
        raise DiffError(f"{ref!r} is not a report file, and no history store is in use")
    try:
        with open_store(store_path, create=False, read_only=True) as store:
            return store.load(ref)
    except StoreError as exc:
        raise DiffError(f"{ref!r} is not a report file, and {exc}") from None


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
    """A short human summary, one line per change."""
    lines = [
        f"keysweep diff: {d.old_scan.get('id', '?')} ({d.old_scan.get('finished_at', '?')})"
        f" -> {d.new_scan.get('id', '?')} ({d.new_scan.get('finished_at', '?')})",
        f"findings: {len(d.new_findings)} new, {len(d.resolved_findings)} resolved, {len(d.changed_findings)} changed;"
        f" assets: {len(d.new_assets)} new, {len(d.removed_assets)} removed, {len(d.changed_assets)} changed",
    ]
    for title, findings, mark in (
        ("New findings", d.new_findings, "+"),
        ("Resolved findings", d.resolved_findings, "-"),
    ):
        if findings:
            lines += ["", f"{title}:"]
            lines += [f"  {mark} [{f['severity']}] {f['rule_id']} on {f['asset_id']}: {f['message']}" for f in findings]
    if d.changed_findings:
        lines += ["", "Changed findings:"]
        for c in d.changed_findings:
            what = ", ".join(f"{k} {c['before'].get(k)!s} -> {c['after'].get(k)!s}" for k in c["fields"])
            lines.append(f"  ~ {c['after']['rule_id']} on {c['after']['asset_id']}: {what}")
    for title, assets, mark in (("New assets", d.new_assets, "+"), ("Removed assets", d.removed_assets, "-")):
        if assets:
            lines += ["", f"{title}:"]
            lines += [f"  {mark} {a['type']} {a['id']}" for a in assets]
    if d.changed_assets:
        lines += ["", "Changed assets:"]
        lines += [f"  ~ {a['type']} {a['id']}: {', '.join(a['fields'])}" for a in d.changed_assets]
    return "\n".join(lines) + "\n"
