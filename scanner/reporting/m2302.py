"""The OMB M-23-02 inventory: one row per system and quantum-vulnerable algorithm use.

A row groups the uses of one system that share function, algorithm, key length and
implementation (the same RSA-2048 signature key on three certificates is one use with three
assets). Every field says where it comes from: ``collected`` (seen by the scan), ``attested``
(written in systems.toml) or ``assumed`` (a planning default keysweep states). Assets that no
system selects are reported under ``unassigned`` rather than left out.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from scanner.inventory.model import Asset, AssetType, ScanResult
from scanner.inventory.pq_priority import Use, pq_priority, quantum_vulnerable_uses
from scanner.inventory.systems import UNASSIGNED, System, system_members
from scanner.reporting.csv_report import _cell as spreadsheet_cell

FIELDS = (
    "system_id",
    "system_name",
    "fisma_id",
    "owner",
    "owner_email",
    "impact",
    "high_value_asset",
    "algorithm",
    "key_length",
    "security_bits",
    "function",
    "implementation",
    "vendor",
    "product",
    "version",
    "platform",
    "assets",
    "asset_ids",
    "earliest_deadline",
    "priority",
    "priority_reason",
    "data_ttl_years",
    "migration_notes",
    "attested_facts",
)
# the fields systems.toml declares (the first seven, and two more)
_SYSTEM_FIELDS = frozenset(FIELDS[:7]) | {"data_ttl_years", "migration_notes"}


def _platform(asset: Asset) -> str:
    if asset.type == AssetType.TLS_ENDPOINT:
        return f"TLS endpoint {asset.id.removeprefix('tls:')}"
    if asset.id.startswith("ssh:"):
        return f"SSH endpoint {asset.id.removeprefix('ssh:')}"
    kinds = sorted({loc.kind for loc in asset.locations})
    return ", ".join(kinds) or asset.type.value


def inventory_rows(result: ScanResult) -> list[dict[str, dict[str, Any]]]:
    """Rows of {field: {"value": ..., "source": "collected" | "attested" | "assumed"}}."""
    groups = system_members(result)
    if not groups:  # no systems file: every use is unassigned
        groups = {UNASSIGNED: list(result.assets)}
    declared: Mapping[str, System] = {s.id: s for s in result.systems.systems} if result.systems else {}
    priorities = {p["system"]: p for p in pq_priority(result)}
    facts = result.membership.facts if result.membership else {}
    uses_by_asset: dict[str, list[Use]] = {}
    for use in quantum_vulnerable_uses(result):
        uses_by_asset.setdefault(use.asset_id, []).append(use)
    rows: list[dict[str, dict[str, Any]]] = []
    for system_id, members in groups.items():
        system = declared.get(system_id)
        grouped: dict[tuple[Any, ...], list[tuple[Use, Asset]]] = {}
        for asset in members:
            for use in uses_by_asset.get(asset.id, []):
                impl = use.implementation
                key = (
                    use.function,
                    use.algorithm,
                    use.key_length,
                    impl.get("type"),
                    impl.get("vendor"),
                    impl.get("product"),
                    impl.get("version"),
                    _platform(asset).split(" ", 2)[0],
                )
                grouped.setdefault(key, []).append((use, asset))
        priority = priorities.get(system_id, {})
        for key in sorted(grouped, key=lambda k: tuple(str(x) for x in k)):
            items = grouped[key]
            use = items[0][0]
            attested: dict[str, Any] = dict(system.facts) if system else {}
            for _, asset in items:
                attested.update(facts.get(asset.id, {}))
            row = {
                "system_id": system_id,
                "system_name": system.name if system else "Unassigned",
                "fisma_id": system.fisma_id if system else "",
                "owner": system.owner_name if system else "",
                "owner_email": system.owner_email if system else "",
                "impact": system.impact if system else "",
                "high_value_asset": system.high_value_asset if system else "",
                "algorithm": use.algorithm,
                "key_length": use.key_length,
                "security_bits": use.security_bits,
                "function": use.function,
                "implementation": use.implementation.get("type", ""),
                "vendor": use.implementation.get("vendor", ""),
                "product": use.implementation.get("product", ""),
                "version": use.implementation.get("version", ""),
                "platform": "; ".join(sorted({_platform(a) for _, a in items})),
                "assets": len({a.id for _, a in items}),
                "asset_ids": sorted({a.id for _, a in items}),
                "earliest_deadline": min((d for u, _ in items for d, _src in u.deadlines), default=""),
                "priority": priority.get("priority", ""),
                "priority_reason": "; ".join(priority.get("reasons", [])),
                "data_ttl_years": system.data_ttl_years if system else None,
                "migration_notes": system.migration_notes if system else "",
                "attested_facts": attested,
            }
            rows.append({name: {"value": row[name], "source": _source(name, system)} for name in FIELDS})
    return rows


def _source(name: str, system: System | None) -> str:
    if name in _SYSTEM_FIELDS or name == "attested_facts":
        return "attested" if system is not None or name == "attested_facts" else "collected"
    if name in ("priority", "priority_reason"):
        return "assumed"  # derived from attested facts and keysweep's stated planning assumptions
    return "collected"


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    # a spreadsheet must never run a formula from a scanned or attested name
    return spreadsheet_cell(value)


class M2302CsvReporter:
    """CSV: each field followed by ``<field>_source``."""

    format: ClassVar[str] = "m2302"

    def render(self, result: ScanResult) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c for name in FIELDS for c in (name, f"{name}_source")])
        for row in inventory_rows(result):
            writer.writerow([c for name in FIELDS for c in (_cell(row[name]["value"]), row[name]["source"])])
        return out.getvalue().encode("utf-8")


class M2302JsonReporter:
    format: ClassVar[str] = "m2302-json"

    def render(self, result: ScanResult) -> bytes:
        document = {
            "inventory": "OMB M-23-02 quantum-vulnerable cryptography",
            "scan_id": result.metadata.id,
            "as_of": result.metadata.as_of.date().isoformat(),
            "rows": inventory_rows(result),
        }
        return json.dumps(document, indent=1, ensure_ascii=False, default=str).encode("utf-8")
