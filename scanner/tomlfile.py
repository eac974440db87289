"""Reading a TOML file that a user wrote (scan definitions, systems, zones, packs, waivers).

One place for what every such loader says when the file is missing, not UTF-8 or not TOML: the
path, and the line where TOML gives one, in the loader's own error class.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from scanner.compat import tomllib

_LINE = re.compile(r"\(at line (\d+)")


def read(path: Path, what: str, error: type[ValueError]) -> tuple[str, dict[str, Any]]:
    """The file's text and its table; ``error`` naming the file (and the line) when it cannot be had."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} {path}: {exc}") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _LINE.search(str(exc))
        raise error(f"{path}:{found.group(1) if found else 1}: not valid TOML: {exc}") from None
