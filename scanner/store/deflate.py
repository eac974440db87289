"""How the store compresses a report's head, body and chunks: zlib streams, written by zlib-ng when installed.

zlib-ng (the ``zlib-ng`` package, a declared dependency) writes the same format as the zlib module,
so every store reads with either and a store written by one is read by the other and by older
keysweeps: no schema change. Measured on the 20,000-file report's 346 chunks (62 MB, 2 cores, a
loaded host): zlib level 1 0.49 CPU-s and 7.7 MB; zlib-ng level 2 0.25 CPU-s and 6.9 MB (level 1
is quicker still, 0.17 s, but 34% larger); inflating 0.22 against 0.13 s (docs/fleet.md). Without
zlib-ng the zlib module compresses at level 1, as before.
"""

from __future__ import annotations

import zlib
from types import ModuleType
from typing import Any, cast

zlib_ng: ModuleType | None
try:
    from zlib_ng import zlib_ng
except ImportError:  # pragma: no cover - zlib-ng is a dependency; without it the zlib module does the same work slower
    zlib_ng = None

# what a damaged stored blob raises on inflating, from either library
ERRORS: tuple[type[Exception], ...] = (zlib.error,)
if zlib_ng is not None:
    ERRORS += (cast("type[Exception]", zlib_ng.error),)
LEVEL = 1 if zlib_ng is None else 2


def compress(data: Any) -> bytes:
    """``data`` (bytes-like) as a zlib stream; lets go of the GIL while it works, as zlib does."""
    if zlib_ng is None:
        return zlib.compress(data, LEVEL)
    return cast(bytes, zlib_ng.compress(data, LEVEL))


def decompress(blob: Any) -> bytes:
    """A stored zlib stream inflated (any zlib stream: written by either library, or by a keysweep before)."""
    if zlib_ng is None:
        return zlib.decompress(bytes(blob))
    return cast(bytes, zlib_ng.decompress(bytes(blob)))
