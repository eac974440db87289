"""Compact JSON bytes: orjson when installed (a declared dependency), the json module otherwise.

Both give the same bytes for what keysweep writes (str keys, str/int/bool/None/list/dict values,
str and dict subclasses, datetimes and other objects through ``default``). Where orjson refuses a
value (a lone surrogate from a non-UTF-8 file name, an integer past 64 bits), the json module
writes it, with lone surrogates escaped the way the reports document (backslashreplace).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the fallback keeps a bare install working
    orjson = None  # type: ignore[assignment]

# datetimes and dataclasses through `default`, as the json module does; no key sorting, no indent
_OPTIONS = 0 if orjson is None else orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _stdlib(value: Any, default: Callable[[Any], Any] | None) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=default)
    return text.encode("utf-8", "backslashreplace")


def dumps(value: Any, default: Callable[[Any], Any] | None = str) -> bytes:
    """``value`` as compact UTF-8 JSON (no spaces), non-ASCII written as it is."""
    if orjson is not None:
        try:
            return orjson.dumps(value, default=default, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            pass  # surrogates, huge integers, float NaN: the json module writes them its way
    return _stdlib(value, default)


def loads(data: bytes | str) -> Any:
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the json module's error message is the one callers report
    return json.loads(data)


def backend() -> str:
    return "orjson" if orjson is not None else "json"
