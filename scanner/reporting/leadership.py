"""The first screen of the HTML report: a verdict in one sentence, a status per system, and the
charts people would rather look at than read (algorithm mix, quantum-vulnerable share by system,
certificate expiry, deadline burndown per system). Pure data for the template; no markup here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from scanner.inventory.model import AssetType, ScanResult
from scanner.inventory.pq_priority import Use, quantum_vulnerable_uses
from scanner.inventory.systems import UNASSIGNED, system_members
from scanner.plurals import plural

STATUS_WORDS = {
    "green": "on target",
    "amber": "below target",
    "red": "well below target",
    "not-assessed": "not assessed",
}
EXPIRY_BUCKETS = (
    ("expired", None, 0),
    ("30 days", 0, 30),
    ("90 days", 30, 90),
    ("1 year", 90, 365),
    ("2 years", 365, 730),
    ("5 years", 730, 1826),
    ("later", 1826, None),
)


def _percent(value: int | None) -> str:
    return "not assessed" if value is None else f"{value}%"


def overdue_items(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Deadlines before the as-of date that still have keys or findings against them."""
    return [e for e in summary["post_quantum"]["timeline"] if e.get("overdue")]


def verdict(result: ScanResult, summary: Mapping[str, Any]) -> dict[str, Any]:
    """Are we ready, what is late, who owns it: one sentence, and its status."""
    readiness = summary["readiness"]
    status = readiness["status"]
    parts: list[str] = []
    if status == "not-assessed":
        parts.append(f"Not assessed: {readiness['reason']}.")
    else:
        head = "Ready" if status == "green" else "Not ready"
        parts.append(
            f"{head}: {readiness['score']}% of {readiness['scored_assets']} assessed assets are ready "
            f"(target {readiness['target']}%)."
        )
    late = overdue_items(summary)
    if late:
        count = sum(e["due_keys"] + e["findings"] for e in late)
        parts.append(f"{plural(count, 'item')} overdue since {late[0]['date']}.")
    else:
        parts.append("Nothing is overdue.")
    systems = [s for s in summary["systems"] if s["id"] != UNASSIGNED]
    worst = _most_urgent(systems)
    if worst is not None:
        owner = worst.get("owner", {}).get("name") or "no owner named"
        priority = (worst.get("pq_priority") or {}).get("priority", "")
        parts.append(
            f"Most urgent: {worst['name']} ({owner}), readiness {_percent(worst['readiness']['score'])}"
            + (f", post-quantum priority {priority}." if priority and priority != "none" else ".")
        )
    if summary.get("projection"):
        parts.insert(0, f"Projection as of {result.metadata.as_of.date()}, not the state today.")
    return {"status": status, "word": STATUS_WORDS[status], "sentence": " ".join(parts)}


_PRIORITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "none": 0, "": 0}


def _most_urgent(systems: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    if not systems:
        return None

    def urgency(s: Mapping[str, Any]) -> tuple[int, int]:
        priority = (s.get("pq_priority") or {}).get("priority", "")
        score = s["readiness"]["score"]
        return (_PRIORITY_RANK.get(priority, 0), -(score if score is not None else 101))

    return max(systems, key=urgency)


def system_status(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per system for the first screen's status table, the most urgent first."""
    rows = []
    for s in summary["systems"]:
        priority = s.get("pq_priority") or {}
        overdue = bool(priority.get("earliest_deadline")) and any("overdue" in r for r in priority.get("reasons", []))
        rows.append(
            {
                "id": s["id"],
                "name": s["name"],
                "owner": (s.get("owner") or {}).get("name", ""),
                "email": (s.get("owner") or {}).get("email", ""),
                "impact": s.get("impact", ""),
                "hva": s.get("high_value_asset", False),
                "assets": s["assets"],
                "score": s["readiness"]["score"],
                "status": s["readiness"]["status"],
                "word": STATUS_WORDS[s["readiness"]["status"]],
                "priority": priority.get("priority", ""),
                "reasons": priority.get("reasons", []),
                "deadline": priority.get("earliest_deadline") or "",
                "overdue": overdue,
                "open_high": s["open_by_severity"]["critical"] + s["open_by_severity"]["high"],
            }
        )
    rows.sort(key=lambda r: (-_PRIORITY_RANK.get(r["priority"], 0), r["score"] if r["score"] is not None else 101))
    return rows


# -- charts ----------------------------------------------------------------------------------------
def _bars(items: Sequence[tuple[str, int]], total: int | None = None) -> list[dict[str, Any]]:
    top = max((n for _, n in items), default=0) or 1
    return [
        {"label": label, "count": n, "width": round(100 * n / top), "share": round(100 * n / total) if total else None}
        for label, n in items
    ]


def algorithm_mix(result: ScanResult, limit: int = 8) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    for a in result.assets:
        if a.type == AssetType.KEY:
            p = a.properties
            size = p.get("curve") or p.get("key_size") or ""
            counts[f"{p.get('algorithm') or 'unknown'} {size}".strip()] += 1
    ranked = counts.most_common()
    items = ranked[:limit]
    rest = sum(n for _, n in ranked[limit:])
    if rest:
        items.append((f"{len(ranked) - limit} others", rest))
    return _bars(items, sum(counts.values()))


def quantum_share_by_system(result: ScanResult, uses: Sequence[Use] | None = None) -> list[dict[str, Any]]:
    """Per system: the share of its public keys and endpoints that are quantum-vulnerable."""
    groups = system_members(result)
    if not groups:
        return []
    vulnerable = {u.asset_id for u in (quantum_vulnerable_uses(result) if uses is None else uses)}
    rows = []
    for system_id, assets in groups.items():
        relevant = [
            a
            for a in assets
            if (a.type == AssetType.KEY and a.properties.get("quantum_vulnerable") is not None)
            or a.id.startswith(("tls:", "ssh:"))
        ]
        bad = sum(1 for a in relevant if a.id in vulnerable)
        share = round(100 * bad / len(relevant)) if relevant else None
        rows.append({"label": system_id, "count": bad, "of": len(relevant), "share": share, "width": share or 0})
    return rows


def expiry_histogram(result: ScanResult) -> list[dict[str, Any]]:
    as_of = result.metadata.as_of
    counts: Counter[str] = Counter()
    for a in result.assets:
        if a.type != AssetType.CERTIFICATE or not a.properties.get("not_after"):
            continue
        try:
            end = datetime.fromisoformat(str(a.properties["not_after"]).replace("Z", "+00:00"))
        except ValueError:
            continue
        days = (end - as_of).days if end.tzinfo else (end - as_of.replace(tzinfo=None)).days
        for label, low, high in EXPIRY_BUCKETS:
            if (low is None or days >= low) and (high is None or days < high):
                counts[label] += 1
                break
    items = [(label, counts.get(label, 0)) for label, _, _ in EXPIRY_BUCKETS]
    bars = _bars(items, sum(counts.values()))
    for bar in bars:
        bar["bad"] = bar["label"] in ("expired", "30 days")
    return bars


def burndown(
    result: ScanResult, uses: Sequence[Use] | None = None, width: int = 560, height: int = 200, pad: int = 44
) -> dict[str, Any]:
    """Per system: its quantum-vulnerable uses today, and the straight line to none by the
    binding deadline (the earliest one its uses have): the pace the deadline requires."""
    groups = system_members(result) or {"all": list(result.assets)}
    if uses is None:
        uses = quantum_vulnerable_uses(result)
    by_asset: dict[str, list[Use]] = {}
    for u in uses:
        by_asset.setdefault(u.asset_id, []).append(u)
    as_of = result.metadata.as_of.date()
    lines: list[dict[str, Any]] = []
    for system_id, assets in groups.items():
        mine = [u for a in assets for u in by_asset.get(a.id, [])]
        if not mine:
            continue
        deadline = min(d for u in mine for d, _ in u.deadlines)
        lines.append({"system": system_id, "uses": len(mine), "deadline": deadline})
    if not lines:
        return {"lines": [], "width": width, "height": height}
    last = max(date.fromisoformat(line["deadline"]) for line in lines)
    start_year, end_year = as_of.year, max(last.year + 1, as_of.year + 1)
    top = int(max(line["uses"] for line in lines))

    def x(day: date) -> float:
        span = (date(end_year, 1, 1) - date(start_year, 1, 1)).days or 1
        return round(pad + (width - 2 * pad) * (day - date(start_year, 1, 1)).days / span, 1)

    def y(value: float) -> float:
        return round(height - pad - (height - 2 * pad) * value / top, 1)

    for i, line in enumerate(lines):
        due = date.fromisoformat(line["deadline"])
        years = max((due - as_of).days / 365.25, 0.0)
        line["overdue"] = due < as_of
        line["pace"] = round(line["uses"] / years, 1) if years else None
        line["points"] = f"{x(as_of)},{y(line['uses'])} {x(max(due, as_of))},{y(0)}"
        line["x0"], line["y0"] = x(as_of), y(line["uses"])
        line["colour"] = i % 6
    ticks = [{"x": x(date(year, 1, 1)), "label": str(year)} for year in range(start_year, end_year + 1)]
    y_ticks = [{"y": y(v), "label": str(v)} for v in sorted({0, top // 2, top})]
    return {"lines": lines, "width": width, "height": height, "pad": pad, "ticks": ticks, "y_ticks": y_ticks}


def timeline(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The post-quantum milestones in date order with "as of this scan" where it falls: a date
    already passed comes before it and, with anything still against it, reads as overdue."""
    pq = summary["post_quantum"]
    entries: list[dict[str, Any]] = []
    for m in pq["timeline"]:
        what = []
        if m["due_keys"]:
            what.append(plural(m["due_keys"], "key"))
        if m["findings"]:
            what.append(plural(m["findings"], "finding"))
        if m.get("overdue"):
            text = f"overdue: {' and '.join(what)}"
        elif m.get("past"):
            text = "passed, nothing outstanding"
        else:
            text = f"{' and '.join(what)} due" if what else "nothing due"
        entries.append(
            {"date": m["date"], "label": m["label"], "text": text, "now": False, "overdue": bool(m.get("overdue"))}
        )
    now = {"date": pq["as_of"], "label": "as of this scan", "text": "", "now": True, "overdue": False}
    position = sum(1 for e in entries if str(e["date"]) < pq["as_of"])
    entries.insert(position, now)
    return entries
