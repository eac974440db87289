"""Writing a fleet-sized JSON report without holding it twice in memory.

``json.dumps`` of a whole fleet report builds one string the size of the file, and ``encode``
another: for a thousand scopes that is gigabytes at once. Here each asset, relation and finding is
encoded on its own (still by the C encoder) and written as it goes; the bytes are exactly those of
the JSON reporter (same separators, same options).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def _write_object(handle: BinaryIO, report: Mapping[str, Any]) -> None:
    handle.write(b"{")
    for n, (key, value) in enumerate(report.items()):
        handle.write((b"," if n else b"") + _dumps(key) + b":")
        if isinstance(value, list):
            handle.write(b"[")
            for i, item in enumerate(value):
                handle.write((b"," if i else b"") + _dumps(item))
            handle.write(b"]")
        else:
            handle.write(_dumps(value))
    handle.write(b"}")


def write_json_report(path: Path, report: Mapping[str, Any]) -> None:
    """Write beside the target and rename, so that a reader never sees half a report."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            _write_object(handle, report)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
