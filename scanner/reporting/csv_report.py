"""Findings as CSV, one row per finding, for spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import ClassVar

from scanner.inventory.model import ScanResult
from scanner.reporting.locations import places
from scanner.reporting.output import write_output_chunks

COLUMNS = (
    "finding_id",
    "severity",
    "category",
    "rule_id",
    "title",
    "asset_id",
    "asset_type",
    "location",
    "message",
    "remediation",
    "references",
    "policies",
    "deadline",
    "waived",
    "waiver_reason",
)
# rows encoded per piece when the file is streamed
CHUNK_ROWS = 1000
# a cell starting with these is a formula to a spreadsheet; a certificate subject must never run one
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class CsvReporter:
    format: ClassVar[str] = "csv"

    def render(self, result: ScanResult) -> bytes:
        return b"".join(self.chunks(result))

    def write(self, result: ScanResult, path: str) -> None:
        """Stream the rows to ``path`` (the rules of scanner.reporting.output): the same bytes as
        :meth:`render`, a piece at a time."""
        write_output_chunks(path, self.chunks(result))

    def chunks(self, result: ScanResult) -> Iterator[bytes]:
        assets = {a.id: a for a in result.assets}
        # an asset's places, joined once: a shared key's thousands of places are named by each of its findings
        where: dict[str, str] = {}
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        # a byte-order mark so that spreadsheet programs read UTF-8 subjects correctly
        out.write("\ufeff")
        writer.writerow(COLUMNS)
        for n, f in enumerate(result.findings, 1):
            asset = assets.get(f.asset_id)
            placed = where.get(f.asset_id)
            if placed is None:
                placed = where[f.asset_id] = "; ".join(str(p) for p in places(asset, f.asset_id))
            row = (
                f.id,
                f.severity.value,
                f.category,
                f.rule_id,
                f.title,
                f.asset_id,
                asset.type.value if asset else "",
                placed,
                f.message,
                f.remediation,
                "; ".join(f.references),
                "; ".join(f.policies),
                f.deadline,
                "yes" if f.waived else "no",
                f.waived.reason if f.waived else "",
            )
            writer.writerow([_cell(v) for v in row])
            if n % CHUNK_ROWS == 0:
                yield _taken(out)
        yield _taken(out)


def _taken(out: io.StringIO) -> bytes:
    """What the buffer holds, encoded, and the buffer emptied."""
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text.encode("utf-8", "backslashreplace")  # PEP 383 names: \udcXX
