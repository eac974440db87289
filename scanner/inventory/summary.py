"""Counts, the readiness figure, per-system roll-ups: shared by every reporter and by the store.

It lives below both (with the model) so that a store backend never depends on a reporter.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scanner.inventory.compliance import compliance_view
from scanner.inventory.model import CATEGORIES, Asset, AssetType, Finding, ScanMetadata, ScanResult, Severity
from scanner.inventory.pq_priority import pq_priority
from scanner.inventory.systems import UNASSIGNED, error_systems, system_members

SCORE_THRESHOLD = Severity.MEDIUM
READY_TARGET = 90  # green at or above; the target the page shows beside the figure
AMBER_FLOOR = 70  # amber from here up to the target, red below
# severities that fail an asset's readiness (members are strings: a set lookup, not a rank per finding)
_POLICY_SEVERITIES = frozenset(s for s in Severity if s.rank >= SCORE_THRESHOLD.rank)
# without rule metadata (reports from older versions): every type a built-in rule can fail
_DEFAULT_SCORED = frozenset(t.value for t in AssetType if t != AssetType.HSM_TOKEN)
SCORE_METHOD = (
    "Share (in percent, rounded down) of the assessed assets that are ready: an asset is assessed when a "
    "selected rule can fail its type (keys, certificates, endpoints, configurations, secrets, files, trust "
    "stores, tokens alike), and ready when it has no open finding of severity medium or above and no open "
    "post-quantum (pqc) finding of any severity; waived findings do not count against it. No figure "
    "('not assessed') when nothing was assessed or when collection errors outnumber the assessed assets. "
    f"Green at {READY_TARGET}% or more, amber from {AMBER_FLOOR}%, red below."
)


def is_projection(meta: ScanMetadata) -> bool:
    """Evaluated as of another day than the scan's: what would fail then, not a state of the estate."""
    return meta.projection or meta.as_of.date() != meta.started_at.date()


def scored_types(result: ScanResult) -> frozenset[str]:
    """Every asset type that a selected rule can fail."""
    types = {t for rule in result.rules for t in rule.applies_to}
    return frozenset(types) if types else _DEFAULT_SCORED


def open_by_asset(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        if f.waived is None:
            out.setdefault(f.asset_id, []).append(f)
    return out


def readiness(
    assets: Iterable[Asset], open_findings: Mapping[str, Sequence[Finding]], errors: int, types: frozenset[str]
) -> dict[str, Any]:
    """The readiness figure of a set of assets (a whole scan or one system), with its status."""
    # a member is a str equal to its value: `a.type in types` is `a.type.value in types`, without
    # the enum's value descriptor (~0.1 s per 40,000 assets)
    scored = [a for a in assets if a.type in types]
    failing_policy = 0
    quantum = 0
    passing = 0
    for asset in scored:
        found = open_findings.get(asset.id)
        if not found:  # most assets: nothing open, so ready
            passing += 1
            continue
        bad_policy = bad_quantum = False
        for f in found:  # one plain loop, not two generators per asset
            if f.severity in _POLICY_SEVERITIES:
                bad_policy = True
            if f.category == "pqc":
                bad_quantum = True
        failing_policy += bad_policy
        quantum += bad_quantum
        passing += not (bad_policy or bad_quantum)
    reason = ""
    if not scored:
        reason = "nothing was assessed: no scanned asset is of a type the selected rules check"
    elif errors > len(scored):
        reason = f"{errors} collection errors outnumber the {len(scored)} assessed assets"
    score = None if reason else 100 * passing // len(scored)
    if score is None:
        status = "not-assessed"
    else:
        status = "green" if score >= READY_TARGET else "amber" if score >= AMBER_FLOOR else "red"
    return {
        "score": score,
        "status": status,
        "target": READY_TARGET,
        "scored_assets": len(scored),
        "passing_assets": passing,
        "failing_policy": failing_policy,
        "quantum_vulnerable": quantum,
        "errors": errors,
        "reason": reason,
        "asset_types": sorted(types),
        "method": SCORE_METHOD,
    }


class _SameScan:
    """A scan result by the identity of what the summary reads: a ``dataclasses.replace`` that adds
    history (the store does) keeps these tuples, so it is still the same scan to summarise."""

    __slots__ = ("parts", "result")

    def __init__(self, result: ScanResult) -> None:
        self.result = result
        self.parts: tuple[object, ...] = (
            *(result.metadata, result.assets, result.relations, result.findings, result.errors),
            *(result.rules, result.requirements, result.systems, result.membership, result.scopes),
        )

    def __hash__(self) -> int:
        return hash(tuple(map(id, self.parts)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SameScan) and all(a is b for a, b in zip(self.parts, other.parts, strict=True))


def summarize(result: ScanResult) -> dict[str, Any]:
    """The summary of a scan, computed once however many reports ask (JSON, HTML, the terminal)."""
    return dict(_summary_of(_SameScan(result)))


@functools.lru_cache(maxsize=2)
def _summary_of(scan: _SameScan) -> dict[str, Any]:
    return _summarize(scan.result)


def _summarize(result: ScanResult) -> dict[str, Any]:
    open_findings = [f for f in result.findings if f.waived is None]
    by_severity = Counter(f.severity for f in open_findings)  # members: no `.value` per finding
    by_category = Counter(f.category for f in open_findings)
    types = scored_types(result)
    by_asset = open_by_asset(result.findings)
    overall = readiness(result.assets, by_asset, len(result.errors), types)
    summary: dict[str, Any] = {
        "assets": {t.value: n for t, n in sorted(Counter(a.type for a in result.assets).items())},
        "findings": len(result.findings),
        "waived": len(result.findings) - len(open_findings),
        "errors": len(result.errors),
        "by_severity": {s.value: by_severity.get(s, 0) for s in Severity},
        "by_category": {c: by_category.get(c, 0) for c in sorted(CATEGORIES)},
        "readiness": overall,
        "projection": is_projection(result.metadata),
        # for leadership and scripts alike: what the HTML's post-quantum panel shows
        "post_quantum": post_quantum_readiness(result),
        "systems": system_rollups(result, by_asset, types),
        "compliance": compliance_view(result),
    }
    return summary


def system_rollups(
    result: ScanResult, by_asset: Mapping[str, Sequence[Finding]], types: frozenset[str]
) -> list[dict[str, Any]]:
    """Per declared system (and ``unassigned``): owner, impact, readiness, open findings, PQ priority."""
    groups = system_members(result)
    if not groups or result.systems is None:
        return []
    errors: Counter[str] = Counter()
    for error in result.errors:
        for system_id in error_systems(result.systems, error.target):
            errors[system_id] += 1
    priorities = {p["system"]: p for p in pq_priority(result)}
    rows = []
    declared = {s.id: s for s in result.systems.systems}
    for system_id, assets in groups.items():
        system = declared.get(system_id)
        severities = Counter(f.severity.value for a in assets for f in by_asset.get(a.id, ()))
        row: dict[str, Any] = system.as_dict() if system else {"id": UNASSIGNED, "name": "Unassigned"}
        row.update(
            {
                "assets": len(assets),
                "open_by_severity": {s.value: severities.get(s.value, 0) for s in Severity},
                "readiness": readiness(assets, by_asset, errors.get(system_id, 0), types),
                "pq_priority": priorities.get(system_id),
            }
        )
        row["readiness"].pop("method")  # the same text as the overall figure's
        rows.append(row)
    return rows


# -- post-quantum readiness --------------------------------------------------------------------
# NIST IR 8547 ipd (Tables 2 and 4): quantum-vulnerable public-key algorithms at 112 bits of
# security are deprecated after 2030, and every quantum-vulnerable algorithm is disallowed after 2035.
PQ_MILESTONES = (
    ("2030-12-31", "Quantum-vulnerable keys below 128 bits deprecated (NIST IR 8547)", 128),
    ("2035-12-31", "All quantum-vulnerable keys disallowed (NIST IR 8547)", None),
)


def _share(part: int, whole: int) -> int | None:
    return None if whole == 0 else round(100 * part / whole)


def post_quantum_readiness(result: ScanResult) -> dict[str, Any]:
    """Share of endpoints with PQ key exchange, share of quantum-vulnerable keys, what is due when."""
    endpoints: list[Asset] = []
    keys: list[Asset] = []
    for a in result.assets:  # one walk of the assets for both kinds
        if a.type == AssetType.TLS_ENDPOINT:
            endpoints.append(a)
        elif a.type == AssetType.KEY and a.properties.get("quantum_vulnerable") is not None:
            keys.append(a)
    pq_endpoints = sum(1 for a in endpoints if a.properties.get("pq_key_exchange"))
    vulnerable = [a for a in keys if a.properties.get("quantum_vulnerable")]
    timeline: list[dict[str, Any]] = []
    for date, label, below_bits in PQ_MILESTONES:
        due = [a for a in vulnerable if below_bits is None or (a.properties.get("security_bits") or 0) < below_bits]
        timeline.append({"date": date, "label": label, "due_keys": len(due), "findings": 0})
    # dated findings from the policy packs join the timeline at their own dates
    dated = Counter(f.deadline for f in result.findings if f.waived is None and f.deadline)
    by_date = {entry["date"]: entry for entry in timeline}
    for date, count in dated.items():
        entry = by_date.get(date)
        if entry is None:
            entry = {"date": date, "label": "Policy deadline", "due_keys": 0, "findings": 0}
            by_date[date] = entry
            timeline.append(entry)
        entry["findings"] += count
    as_of = result.metadata.as_of.date().isoformat()
    for entry in timeline:
        # a deadline before the as-of date is not ahead of the scan: it is overdue
        entry["overdue"] = str(entry["date"]) < as_of and bool(entry["due_keys"] or entry["findings"])
        entry["past"] = str(entry["date"]) < as_of
    return {
        "as_of": as_of,
        "endpoints": len(endpoints),
        "pq_endpoints": pq_endpoints,
        "pq_endpoint_share": _share(pq_endpoints, len(endpoints)),
        "public_keys": len(keys),
        "quantum_vulnerable_keys": len(vulnerable),
        "quantum_vulnerable_share": _share(len(vulnerable), len(keys)),
        "timeline": sorted(timeline, key=lambda e: str(e["date"])),
    }


def top_risks(result: ScanResult, limit: int = 10) -> list[dict[str, Any]]:
    """Open findings grouped by rule: the worst severity first, then the most assets affected."""
    groups: dict[str, dict[str, Any]] = {}
    for f in result.findings:
        if f.waived is not None:
            continue
        group = groups.setdefault(
            f.rule_id,
            {
                "rule_id": f.rule_id,
                "title": f.title,
                "severity": f.severity,
                "category": f.category,
                "remediation": f.remediation,
                "deadline": f.deadline,
                "assets": set(),
            },
        )
        if f.severity.rank > group["severity"].rank:
            group["severity"] = f.severity
        group["assets"].add(f.asset_id)
    ranked = sorted(groups.values(), key=lambda g: (-g["severity"].rank, -len(g["assets"]), g["rule_id"]))
    return [
        {**g, "severity": g["severity"].value, "assets": len(g["assets"])}
        for g in ranked[:limit]
        if g["severity"].rank >= Severity.LOW.rank
    ]


# -- systems: what an application team owns ---------------------------------------------------------


def _path_roots(result: ScanResult) -> list[str]:
    roots = [t.split(":", 1)[1] for t in result.metadata.targets if t.startswith("path:")]
    return sorted(roots, key=len, reverse=True)


def _host_of_endpoint(ref: str) -> str:
    text = ref.removeprefix("tls:")
    host = text.rsplit(":", 1)[0] if text.count(":") >= 1 and not text.endswith("]") else text
    return host.strip("[]")


def _tree_of(path: str, roots: list[str]) -> str:
    for root in roots:
        if path == root or path.startswith(root.rstrip("/") + "/"):
            return root
    return path.rsplit("/", 1)[0] or "/"


def asset_systems(result: ScanResult) -> dict[str, list[str]]:
    """For each asset, the systems it belongs to: ``host <name>``, ``token <label>``, ``files <root>``.

    A key seen in a file and on an endpoint belongs to both; the file tree is the scanned path
    that holds the file.
    """
    roots = _path_roots(result)
    tokens = {a.id: str(a.properties.get("label") or a.id) for a in result.assets if a.type == AssetType.HSM_TOKEN}
    out: dict[str, list[str]] = {}
    for asset in result.assets:
        found: list[str] = []
        if asset.type == AssetType.TLS_ENDPOINT:
            found.append(f"host {asset.properties.get('host') or _host_of_endpoint(asset.id)}")
        elif asset.type == AssetType.HSM_TOKEN:
            found.append(f"token {tokens[asset.id]}")
        elif asset.type in (AssetType.FILE, AssetType.CONFIG, AssetType.TRUST_STORE):
            path = asset.properties.get("path") or asset.id.rsplit(":", 1)[-1]
            found.append(f"files {_tree_of(str(path), roots)}")
        for loc in asset.locations:
            if loc.kind == "tls":
                found.append(f"host {_host_of_endpoint(loc.ref)}")
            elif loc.kind == "pkcs11":
                found.append(f"token {tokens.get(loc.ref, loc.ref)}")
            elif loc.ref.startswith("/"):
                found.append(f"files {_tree_of(loc.ref, roots)}")
        out[asset.id] = list(dict.fromkeys(found)) or ["other"]
    return out
