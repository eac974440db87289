"""Counts and the readiness score, shared by every reporter that shows a summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

from scanner.inventory.model import CATEGORIES, AssetType, ScanResult, Severity

# the assets a readiness score is about: what an organisation must fix or migrate
SCORED_TYPES = (AssetType.KEY, AssetType.CERTIFICATE, AssetType.TLS_ENDPOINT, AssetType.CONFIG)
SCORE_THRESHOLD = Severity.MEDIUM
SCORE_METHOD = (
    "Share of inventoried keys, certificates, TLS endpoints and configurations (in percent, rounded down) "
    "that have no open finding of severity medium or above; waived findings do not count against it."
)


def summarize(result: ScanResult) -> dict[str, Any]:
    open_findings = [f for f in result.findings if f.waived is None]
    by_severity = Counter(f.severity.value for f in open_findings)
    by_category = Counter(f.category for f in open_findings)
    scored = [a.id for a in result.assets if a.type in SCORED_TYPES]
    failing = {f.asset_id for f in open_findings if f.severity.rank >= SCORE_THRESHOLD.rank}
    passing = sum(1 for asset_id in scored if asset_id not in failing)
    score = (100 * passing // len(scored)) if scored else 100
    return {
        "assets": dict(sorted(Counter(a.type.value for a in result.assets).items())),
        "findings": len(result.findings),
        "waived": len(result.findings) - len(open_findings),
        "errors": len(result.errors),
        "by_severity": {s.value: by_severity.get(s.value, 0) for s in Severity},
        "by_category": {c: by_category.get(c, 0) for c in sorted(CATEGORIES)},
        "readiness": {
            "score": score,
            "scored_assets": len(scored),
            "passing_assets": passing,
            "method": SCORE_METHOD,
        },
        # for leadership and scripts alike: what the HTML's post-quantum panel shows
        "post_quantum": post_quantum_readiness(result),
    }


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
    endpoints = [a for a in result.assets if a.type == AssetType.TLS_ENDPOINT]
    pq_endpoints = sum(1 for a in endpoints if a.properties.get("pq_key_exchange"))
    keys = [a for a in result.assets if a.type == AssetType.KEY and a.properties.get("quantum_vulnerable") is not None]
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
    return {
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
