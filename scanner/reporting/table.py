"""The findings table a terminal shows: grouped by severity, one line per finding.

Every field comes from scanned material, so every field is escaped (``scanner.printable``) before
it reaches the terminal. Colour is added only when the caller asks (a TTY without ``NO_COLOR``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from operator import attrgetter
from typing import ClassVar

from scanner.inventory.model import Asset, AssetType, Finding, ScanResult, Severity
from scanner.plurals import noun
from scanner.printable import printable
from scanner.reporting.locations import first_place

# findings shown per severity before "and N more" (a whole /etc sweep stays readable)
DEFAULT_LIMIT = 15
_MESSAGE_WIDTH = 90
_ASSET_WIDTH = 48

_COLOURS = {
    Severity.CRITICAL: "\x1b[1;31m",
    Severity.HIGH: "\x1b[31m",
    Severity.MEDIUM: "\x1b[33m",
    Severity.LOW: "\x1b[36m",
    Severity.INFO: "\x1b[2m",
}
_RESET = "\x1b[0m"


def asset_name(asset: Asset | None, asset_id: str) -> str:
    """A short human name: a certificate's subject, an endpoint, else where the asset was seen."""
    if asset is not None:
        if asset.type is AssetType.CERTIFICATE and asset.properties.get("subject"):
            return str(asset.properties["subject"])
        if asset.type is AssetType.TLS_ENDPOINT:
            return asset_id.removeprefix("tls:")
    return str(first_place(asset, asset_id))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(result: ScanResult, *, colour: bool = False, limit: int | None = DEFAULT_LIMIT) -> str:
    """The table as text; ``limit`` findings per severity (None: all)."""
    # shaped for the largest sweeps (~90,000 findings at 100,000 files): the findings are grouped in
    # one pass, only the lines shown are sorted out of each group (nsmallest: the same lines in the
    # same order as a stable sort cut to ``limit``), and only their assets are looked up
    by_severity: dict[Severity, list[Finding]] = {}
    waived = 0
    for f in result.findings:
        if f.waived is None:
            by_severity.setdefault(f.severity, []).append(f)
        else:
            waived += 1
    order = attrgetter("rule_id", "asset_id")
    shown_by_severity = {
        severity: sorted(group, key=order) if limit is None else heapq.nsmallest(limit, group, key=order)
        for severity, group in by_severity.items()
    }
    needed = {f.asset_id for shown in shown_by_severity.values() for f in shown}
    assets = {a.id: a for a in result.assets if a.id in needed}
    lines: list[str] = []
    for severity in Severity:
        group = by_severity.get(severity)
        if not group:
            continue
        head = f"{severity.value.upper()} ({len(group)})"
        lines.append(f"{_COLOURS[severity]}{head}{_RESET}" if colour else head)
        shown = shown_by_severity[severity]
        lines.extend(_rows(shown, assets))
        hidden = len(group) - len(shown)
        if hidden:
            lines.append(f"  … and {hidden} more {severity.value} {noun(hidden, 'finding')}")
    if not by_severity:
        lines.append("No open findings.")
    if waived:
        lines.append(f"({waived} waived {noun(waived, 'finding')} not shown)")
    return "\n".join(lines) + "\n"


def _rows(findings: Iterable[Finding], assets: dict[str, Asset]) -> list[str]:
    rows = [
        (
            printable(f.rule_id),
            _clip(printable(asset_name(assets.get(f.asset_id), f.asset_id)), _ASSET_WIDTH),
            _clip(printable(f.message), _MESSAGE_WIDTH),
        )
        for f in findings
    ]
    rule_width = max((len(r[0]) for r in rows), default=0)
    asset_width = max((len(r[1]) for r in rows), default=0)
    return [f"  {rule:<{rule_width}}  {asset:<{asset_width}}  {message}".rstrip() for rule, asset, message in rows]


class TableReporter:
    """``--format table``: the terminal table as a plain-text report (no colour)."""

    format: ClassVar[str] = "table"

    def render(self, result: ScanResult) -> bytes:
        return render_table(result, limit=None).encode()

    def render_terminal(self, result: ScanResult, colour: bool, limit: int | None) -> bytes:
        return render_table(result, colour=colour, limit=limit).encode()
