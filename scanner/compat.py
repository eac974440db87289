"""What keysweep needs from Python 3.11+, on Python 3.10 too.

Python 3.10 is the system Python of RHEL 9 and Ubuntu 22.04, where scheduled scans run, so
keysweep supports it. The rest of the code imports these names from here instead of writing
``sys.version_info`` tests of its own; on 3.11+ each is the standard library's own object.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from enum import Enum
from typing import IO, Any


class StrEnum310(str, Enum):
    """3.11's ``enum.StrEnum`` for 3.10: members are strings; str(), format() and f-strings give the value.

    (A plain ``str, Enum`` mixin's str() is 'Severity.HIGH'; reports, messages and SQL parameters
    need 'high'.) Defined on every version so that tests/test_compat.py holds it to the standard
    library's own StrEnum.
    """

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return str(self.value).__format__(format_spec)

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list[Any]) -> str:
        return name.lower()


if sys.version_info >= (3, 11):
    from enum import StrEnum

    import tomllib
else:  # Python 3.10: run by scripts/test_py310.sh (scripts/bootstrap.sh test)
    import tomli as tomllib

    StrEnum = StrEnum310


__all__ = ["UTC", "StrEnum", "file_digest", "parse_iso_datetime", "tomllib"]

# datetime.UTC is 3.11+; it is this very object
UTC = timezone.utc


def parse_iso_datetime(text: str) -> datetime:
    """``datetime.fromisoformat`` that also takes a trailing 'Z' (3.10's rejects it; 3.11's reads it)."""
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def file_digest(handle: IO[bytes], digest: Callable[[], Any]) -> Any:
    """``hashlib.file_digest`` (3.11+): the digest of an open binary file, read in blocks."""
    if sys.version_info >= (3, 11):
        return hashlib.file_digest(handle, digest)
    hasher = digest()
    for block in iter(lambda: handle.read(1 << 18), b""):
        hasher.update(block)
    return hasher
