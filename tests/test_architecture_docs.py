"""docs/architecture.md's table of built-in plugins names every built-in entry point (it drifted
once: it listed only files, crypto, jks and json)."""

from __future__ import annotations

import re
from pathlib import Path

from scanner.compat import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_extension_point_table_lists_every_built_in() -> None:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    doc = (ROOT / "docs" / "architecture.md").read_text()
    for group in ("keysweep.collectors", "keysweep.file_handlers", "keysweep.reporters", "keysweep.commands"):
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{group}`"))
        listed = set(re.findall(r"`([^`]+)`", row.rsplit("|", 2)[1]))
        assert listed == set(groups[group]), group
