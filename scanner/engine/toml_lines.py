"""Line numbers for TOML files: tomllib gives values, not positions, and errors must name lines."""

from __future__ import annotations

import re
from typing import Any

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"""^\s*([A-Za-z0-9_\-]+|"[^"]*")\s*=""")


class TomlLines:
    """Where each table and key of a TOML file is.

    Keys are addressed as ("pack", key), ("rules", i, key), ("rules", i, "params", key),
    ("requirements", i, key); tables as ("rules", i) and so on.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.where: dict[tuple[Any, ...], int] = {}
        self.spans: dict[tuple[Any, ...], tuple[int, int]] = {}
        counters: dict[str, int] = {}
        table: tuple[Any, ...] = ()
        start = 1
        in_string: str | None = None
        for number, line in enumerate(self.lines, start=1):
            if in_string is not None:
                if line.count(in_string) % 2 == 1:
                    in_string = None
                continue
            header = _HEADER.match(line)
            if header and not _KEY.match(line):
                if table:
                    self.spans[table] = (start, number - 1)
                array, dotted = header.group(1) == "[[", header.group(2).split(".")
                if array:
                    counters[dotted[0]] = counters.get(dotted[0], -1) + 1
                    table = (dotted[0], counters[dotted[0]])
                elif dotted[0] in counters and len(dotted) > 1:
                    # a sub-table of the latest array entry, e.g. [rules.params]
                    table = (dotted[0], counters[dotted[0]], *dotted[1:])
                else:
                    table = tuple(dotted)
                self.where.setdefault(table, number)
                start = number
                continue
            key = _KEY.match(line)
            if key and table:
                self.where.setdefault((*table, key.group(1).strip('"')), number)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_string = quote
        if table:
            self.spans[table] = (start, len(self.lines))

    def line(self, *path: Any) -> int:
        """The line of the deepest part of ``path`` that is known (1 for the file itself)."""
        for end in range(len(path), 0, -1):
            number = self.where.get(tuple(path[:end]))
            if number is not None:
                return number
        return 1

    def line_of_text(self, needle: str, *table: Any) -> int:
        """The first line of ``table`` (e.g. ("requirements", 2)) that contains ``needle``."""
        first, last = self.spans.get(tuple(table), (1, len(self.lines)))
        for number in range(first, last + 1):
            if needle in self.lines[number - 1]:
                return number
        return self.line(*table)
