"""The per-requirement compliance view as CSV: one row per requirement, overall and per system."""

from __future__ import annotations

import csv
import io
from typing import ClassVar

from scanner.inventory.compliance import compliance_view
from scanner.inventory.model import ScanResult

COLUMNS = (
    "requirement",
    "pack",
    "section",
    "title",
    "system",
    "status",
    "reason",
    "assets_in_scope",
    "failing_assets",
    "open_findings",
    "waived_findings",
    "rules",
)


class ComplianceCsvReporter:
    format: ClassVar[str] = "compliance"

    def render(self, result: ScanResult) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in compliance_view(result):
            scopes = [("(all)", row), *row["systems"].items()]
            for system, status in scopes:
                writer.writerow(
                    [
                        row["id"],
                        row["pack"],
                        row["section"],
                        row["title"],
                        system,
                        status["status"],
                        status["reason"],
                        status["assets_in_scope"],
                        status["failing_assets"],
                        status["open_findings"],
                        status["waived_findings"],
                        ";".join(row["rules"]),
                    ]
                )
        return out.getvalue().encode("utf-8")
