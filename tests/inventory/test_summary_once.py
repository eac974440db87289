"""The summary's faster paths (assets indexed by type once) say what the plain walks said.

The oracles below are the earlier algorithms, kept literally: one walk of every asset per
requirement and per system, the enum's ``.value`` compared as text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scanner.collectors.base import Target
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.compliance import compliance_view
from scanner.inventory.model import Asset, Finding, ScanResult, Waiver
from scanner.inventory.summary import (
    open_by_asset,
    post_quantum_readiness,
    readiness,
    scored_types,
    summarize,
    system_rollups,
)
from scanner.inventory.systems import error_systems, parse_systems, system_members
from scanner.plurals import plural
from scanner.scan import ScanRequest, run_scan
from tests.support.scans import mixed_tree


def _old_status(
    naming: Sequence[Finding], rules: Sequence[str], types: set[str], assets: Sequence[Asset], errors: int
) -> dict[str, Any]:
    in_scope = {a.id for a in assets if a.type.value in types}
    failing = [f for f in naming if f.asset_id in in_scope]
    open_failing = [f for f in failing if f.waived is None]
    if not rules:
        status, reason = "not-assessed", "no selected rule checks it"
    elif not in_scope:
        status, reason = "not-assessed", f"no scanned asset of the types its rules check ({', '.join(sorted(types))})"
    elif open_failing:
        status, reason = "fail", ""
    elif errors > len(in_scope):
        status, reason = (
            "not-assessed",
            f"{plural(errors, 'collection error')} outnumber the {plural(len(in_scope), 'asset')} in scope",
        )
    else:
        status, reason = "pass", ""
    return {
        "status": status,
        "reason": reason,
        "assets_in_scope": len(in_scope),
        "failing_assets": len({f.asset_id for f in open_failing}),
        "open_findings": len(open_failing),
        "waived_findings": len(failing) - len(open_failing),
    }


def _old_compliance_view(result: ScanResult) -> list[dict[str, Any]]:
    applies = {r.id: set(r.applies_to) for r in result.rules}
    groups = system_members(result)
    system_errors: dict[str, int] = {}
    if result.systems is not None:
        for error in result.errors:
            for system_id in error_systems(result.systems, error.target):
                system_errors[system_id] = system_errors.get(system_id, 0) + 1
    rows = []
    for req in result.requirements:
        named = [f for f in result.findings if req.id in f.requirements]
        types: set[str] = set().union(*(applies.get(r, set()) for r in req.rules)) if req.rules else set()
        row: dict[str, Any] = {
            "id": req.id,
            "pack": req.pack,
            "title": req.title,
            "section": req.section,
            "rules": list(req.rules),
            **_old_status(named, req.rules, types, result.assets, len(result.errors)),
        }
        row["systems"] = {
            system_id: _old_status(named, req.rules, types, assets, system_errors.get(system_id, 0))
            for system_id, assets in groups.items()
        }
        rows.append(row)
    return rows


def _old_readiness(
    assets: Sequence[Asset], open_findings: dict[str, list[Finding]], errors: int, types: frozenset[str]
) -> tuple[int, int, int, int]:
    scored = [a for a in assets if a.type.value in types]
    failing = quantum = passing = 0
    for asset in scored:
        found = open_findings.get(asset.id, [])
        bad_policy = any(f.severity.rank >= 2 for f in found)
        bad_quantum = any(f.category == "pqc" for f in found)
        failing += bad_policy
        quantum += bad_quantum
        passing += not (bad_policy or bad_quantum)
    return len(scored), passing, failing, quantum


def _scan(root: Path, systems_root: Path) -> ScanResult:
    systems = parse_systems(
        {
            "system": [
                {"id": "pki", "impact": "high", "match": {"paths": [str(systems_root / "ca.crt")]}},
                {"id": "legacy", "impact": "low", "match": {"paths": [str(systems_root / "old")]}},
            ]
        },
        "inline",
    )
    packs = select_packs(discover_packs(()), ())
    return run_scan(ScanRequest((Target("path", str(root)),), tuple(packs), systems=systems))


def _with_waivers(result: ScanResult) -> ScanResult:
    """Every third finding waived: waived findings count beside a status, never against it."""
    waiver = Waiver("any", "accepted", "team")
    findings = tuple(dataclasses.replace(f, waived=waiver) if n % 3 == 0 else f for n, f in enumerate(result.findings))
    return dataclasses.replace(result, findings=findings)


def _check_same(result: ScanResult) -> None:
    assert result.requirements and result.findings
    view = compliance_view(result)
    assert view == _old_compliance_view(result)
    by_asset = open_by_asset(result.findings)
    types = scored_types(result)
    overall = readiness(result.assets, by_asset, len(result.errors), types)
    got = tuple(overall[k] for k in ("scored_assets", "passing_assets", "failing_policy", "quantum_vulnerable"))
    assert got == _old_readiness(result.assets, by_asset, len(result.errors), types)
    assert overall["scored_assets"] > overall["failing_policy"] > 0
    for row in system_rollups(result, by_asset, types):
        members = system_members(result)[row["id"]]
        old = _old_readiness(members, by_asset, 0, types)
        figure = row["readiness"]
        assert (figure["scored_assets"], figure["passing_assets"]) == old[:2]
    pq = post_quantum_readiness(result)
    keys = [a for a in result.assets if a.type == "key" and a.properties.get("quantum_vulnerable") is not None]
    assert pq["public_keys"] == len(keys) > 0
    assert pq["quantum_vulnerable_keys"] == sum(1 for a in keys if a.properties["quantum_vulnerable"]) > 0
    assert pq["endpoints"] == sum(1 for a in result.assets if a.type == "tls-endpoint")
    assert overall["quantum_vulnerable"] > 0
    counts = summarize(result)["assets"]
    assert counts == {t: sum(1 for a in result.assets if a.type.value == t) for t in sorted(counts)}
    assert all(type(name) is str for name in counts)


def test_compliance_and_readiness_equal_the_plain_walks_on_a_mixed_tree(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    result = _scan(tmp_path, tmp_path)
    assert {row["status"] for row in compliance_view(result)} == {"pass", "fail", "not-assessed"}
    _check_same(result)
    _check_same(_with_waivers(result))
