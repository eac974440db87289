"""Indented JSON (one space per level, as SARIF files are written) without the json module's slow path.

``json.dumps`` with an indent falls back to its pure-Python encoder: about 5 s of CPU for the SARIF
file of a 20,000-certificate scan. orjson writes two spaces per level in C, with the json module's
separators (``", "`` becomes ``",\\n"``, ``": "`` stays), escapes, key order and empty ``[]``/``{}``.
A run of spaces in that text is indentation unless a string holds one; so where no string holds two
spaces running (the compact text has no two spaces running at all: it has none outside strings),
halving every run gives the json module's one-space text, byte for byte.

Everything else goes to the json module as before: a document holding a value the two libraries
write differently (floats: ``1e+16`` against ``1e16``, NaN; datetimes, enums and other objects
through ``default=str``) or that orjson refuses (a lone surrogate from a non-UTF-8 file name, an
integer past 64 bits, a dict key that is not a str). The caller vouches for the first kind with
``plain`` (see :func:`plain`); orjson itself raises for the rest.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the fallback keeps a bare install working
    orjson = None  # type: ignore[assignment]

# datetimes and dataclasses refused instead of written orjson's way (the json module writes str())
_STRICT = 0 if orjson is None else orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps_indent1(document: Any, *, plain: bool) -> bytes:
    """``json.dumps(document, indent=1, ensure_ascii=False, default=str)`` as UTF-8, a lone
    surrogate escaped as ``\\udcXX`` (backslashreplace), as keysweep's reports write it.

    ``plain``: the caller knows every value of ``document`` to be a str, an int, a bool, None, or a
    list, tuple or dict of them (:func:`plain` checks a part of it).
    """
    if orjson is not None and plain:
        try:
            compact = orjson.dumps(document, option=_STRICT)
            if b"  " not in compact:
                return orjson.dumps(document, option=_STRICT | orjson.OPT_INDENT_2).replace(b"  ", b" ")
        except (orjson.JSONEncodeError, TypeError):
            pass  # surrogates, huge integers, other keys: the json module writes them its way
    text = json.dumps(document, indent=1, ensure_ascii=False, default=str)
    return text.encode("utf-8", "backslashreplace")


def plain(value: Any) -> bool:
    """Whether orjson and the json module write ``value`` alike: str, int (bool), None, and lists,
    tuples and str-keyed dicts of them (subclasses included: both write a str subclass as a str)."""
    if value is None or isinstance(value, (str, int)):
        return True
    if isinstance(value, dict):
        return all(isinstance(key, str) and plain(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return all(plain(item) for item in value)
    return False
