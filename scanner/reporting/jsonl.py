"""JSON Lines: one finding per line, each carrying its scan and asset, for SIEM ingestion.

Each line is a complete JSON object (no line depends on another), so a log shipper can forward
the lines as events. Fields are the JSON report's finding fields plus ``scan_id``, ``scan_host``,
``scan_finished_at``, ``asset_type``, ``asset_name`` and ``locations``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from scanner.inventory.model import ScanResult, iso_time
from scanner.reporting.json_report import finding_dict
from scanner.reporting.locations import places
from scanner.reporting.table import asset_name


class JsonLinesReporter:
    format: ClassVar[str] = "jsonl"

    def render(self, result: ScanResult) -> bytes:
        meta = result.metadata
        assets = {a.id: a for a in result.assets}
        scan = {"scan_id": meta.id, "scan_host": meta.host, "scan_finished_at": iso_time(meta.finished_at)}
        lines: list[str] = []
        for finding in result.findings:
            asset = assets.get(finding.asset_id)
            record: dict[str, Any] = {
                **scan,
                **finding_dict(finding),
                "asset_type": asset.type.value if asset else None,
                "asset_name": asset_name(asset, finding.asset_id),
                "locations": [str(p) for p in places(asset, finding.asset_id)],
            }
            # ensure_ascii: a line never holds a raw U+2028 or a lone surrogate a parser could choke on
            lines.append(json.dumps(record, ensure_ascii=True, separators=(",", ":"), default=str))
        return "".join(line + "\n" for line in lines).encode()
