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
    }
