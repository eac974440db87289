"""A reporter: the findings as a Markdown table (for a wiki page or a merge request comment)."""

from __future__ import annotations

from typing import ClassVar

from scanner.inventory.model import ScanResult


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class MarkdownReporter:
    format: ClassVar[str] = "markdown"

    def render(self, result: ScanResult) -> bytes:
        lines = [
            f"# keysweep scan {result.metadata.id}",
            "",
            "| severity | rule | asset | message |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {f.severity.value} | {_cell(f.rule_id)} | {_cell(f.asset_id)} | {_cell(f.message)} |"
            for f in result.findings
        ]
        return ("\n".join(lines) + "\n").encode()
