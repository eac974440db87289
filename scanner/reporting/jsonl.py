"""JSON Lines: one finding per line, each carrying its scan and asset, for SIEM ingestion.

Each line is a complete JSON object (no line depends on another), so a log shipper can forward
the lines as events. Fields are the JSON report's finding fields plus ``scan_id``, ``scan_host``,
``scan_finished_at``, ``asset_type``, ``asset_name`` and ``locations``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

from scanner.inventory.model import ScanResult, iso_time
from scanner.reporting.json_report import finding_dict
from scanner.reporting.locations import places
from scanner.reporting.output import write_output_chunks
from scanner.reporting.table import asset_name

# lines encoded per piece when the file is streamed
CHUNK_LINES = 1000


class JsonLinesReporter:
    format: ClassVar[str] = "jsonl"

    def render(self, result: ScanResult) -> bytes:
        return b"".join(self.chunks(result))

    def write(self, result: ScanResult, path: str) -> None:
        """Stream the lines to ``path`` (a log shipper's pipe, a file: scanner.reporting.output's
        rules): the same bytes as :meth:`render`, a piece at a time."""
        write_output_chunks(path, self.chunks(result))

    def chunks(self, result: ScanResult) -> Iterator[bytes]:
        meta = result.metadata
        assets = {a.id: a for a in result.assets}
        scan = {"scan_id": meta.id, "scan_host": meta.host, "scan_finished_at": iso_time(meta.finished_at)}
        lines: list[str] = []
        # an asset's name and places, worked out once: a shared key has thousands of places, and
        # each of its findings names them all
        described: dict[str, tuple[str | None, str, list[str]]] = {}
        for finding in result.findings:
            about = described.get(finding.asset_id)
            if about is None:
                asset = assets.get(finding.asset_id)
                about = described[finding.asset_id] = (
                    asset.type.value if asset else None,
                    asset_name(asset, finding.asset_id),
                    [str(p) for p in places(asset, finding.asset_id)],
                )
            record: dict[str, Any] = {
                **scan,
                **finding_dict(finding),
                "asset_type": about[0],
                "asset_name": about[1],
                "locations": about[2],
            }
            # ensure_ascii: a line never holds a raw U+2028 or a lone surrogate a parser could choke on
            lines.append(json.dumps(record, ensure_ascii=True, separators=(",", ":"), default=str) + "\n")
            if len(lines) >= CHUNK_LINES:
                yield "".join(lines).encode()
                lines = []
        if lines:
            yield "".join(lines).encode()
