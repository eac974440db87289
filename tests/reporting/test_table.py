"""The terminal's findings table (issue 12: shaped for the largest sweeps) says what it always said."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from scanner.inventory.model import Asset, Finding, ScanResult, Severity, Waiver
from scanner.plurals import noun
from scanner.reporting import table
from scanner.reporting.table import render_table
from tests.support.scans import mixed_tree, scan_paths


def reference_table(result: ScanResult, *, colour: bool = False, limit: int | None = table.DEFAULT_LIMIT) -> str:
    """The table as written before issue 12's change: every group sorted whole, every asset indexed."""
    assets = {a.id: a for a in result.assets}
    open_findings = [f for f in result.findings if f.waived is None]
    waived = len(result.findings) - len(open_findings)
    lines: list[str] = []
    for severity in Severity:
        group = sorted((f for f in open_findings if f.severity is severity), key=lambda f: (f.rule_id, f.asset_id))
        if not group:
            continue
        head = f"{severity.value.upper()} ({len(group)})"
        lines.append(f"{table._COLOURS[severity]}{head}{table._RESET}" if colour else head)
        shown = group if limit is None else group[:limit]
        lines.extend(table._rows(shown, assets))
        hidden = len(group) - len(shown)
        if hidden:
            lines.append(f"  … and {hidden} more {severity.value} {noun(hidden, 'finding')}")
    if not open_findings:
        lines.append("No open findings.")
    if waived:
        lines.append(f"({waived} waived {noun(waived, 'finding')} not shown)")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    root = tmp_path_factory.mktemp("table")
    mixed_tree(root)
    return scan_paths(root)


def crowded(result: ScanResult, seed: int) -> ScanResult:
    """The scan's findings many times over, shuffled: equal (rule, asset) keys in every group (the
    order among them is the order found), assets never seen, some findings waived."""
    rng = random.Random(seed)
    assets = list(result.assets)
    ids = [a.id for a in assets] + ["file:/gone/never-seen.pem"]
    findings: list[Finding] = []
    for n in range(400):
        base = rng.choice(result.findings)
        findings.append(
            dataclasses.replace(
                base,
                id=f"{n:04d}",
                rule_id=rng.choice([base.rule_id, "a.rule", "z.rule"]),
                severity=rng.choice(list(Severity)),
                asset_id=rng.choice(ids),
                message=f"finding {n}",
                waived=Waiver(base.rule_id, "accepted", "ops") if n % 9 == 0 else None,
            )
        )
    rng.shuffle(assets)
    return dataclasses.replace(result, assets=tuple(assets), findings=tuple(findings))


@pytest.mark.parametrize("limit", [None, table.DEFAULT_LIMIT, 1, 2, 1000])
@pytest.mark.parametrize("colour", [False, True])
def test_the_same_table_as_before(scanned: ScanResult, limit: int | None, colour: bool) -> None:
    assert scanned.findings  # the scan found something to show
    for result in (scanned, crowded(scanned, 1), crowded(scanned, 2)):
        assert render_table(result, colour=colour, limit=limit) == reference_table(result, colour=colour, limit=limit)


def test_a_cut_group_shows_the_first_lines_and_counts_the_rest(scanned: ScanResult) -> None:
    result = crowded(scanned, 3)
    text = render_table(result, limit=2)
    open_by_severity = {s: [f for f in result.findings if f.waived is None and f.severity is s] for s in Severity}
    for severity, group in open_by_severity.items():
        if len(group) > 2:
            assert f"… and {len(group) - 2} more {severity.value}" in text
    assert f"({sum(f.waived is not None for f in result.findings)} waived findings not shown)" in text


def test_no_open_findings(scanned: ScanResult, tmp_path: Path) -> None:
    waived = tuple(dataclasses.replace(f, waived=Waiver(f.rule_id, "accepted", "ops")) for f in scanned.findings)
    everything_waived = dataclasses.replace(scanned, findings=waived)
    assert render_table(everything_waived) == reference_table(everything_waived)
    assert render_table(everything_waived).startswith("No open findings.\n")
    nothing = dataclasses.replace(scanned, findings=(), assets=(Asset("file:/x", scanned.assets[0].type),))
    assert render_table(nothing) == "No open findings.\n"
