"""scanner.compat: keysweep on Python 3.10 behaves as on 3.11+ (scripts/test_py310.sh runs this on 3.10).

The 3.10 StrEnum is checked against the standard library's own (3.11+) wherever both exist: every
way a member reaches a report, a message or the store (str, format, f-string, %, JSON, orjson,
dictionary keys, comparison, lookup by value).
"""

from __future__ import annotations

import enum
import hashlib
import json
import sys
from datetime import datetime, timedelta, timezone
from enum import auto
from pathlib import Path

import orjson
import pytest

from scanner.cli.common import parse_as_of
from scanner.compat import UTC, StrEnum, StrEnum310, file_digest, parse_iso_datetime, tomllib
from scanner.inventory.model import AssetType, Severity
from scanner.store.interface import SaveStatus


class Colour310(StrEnum310):
    RED = auto()
    DARK_BLUE = "dark-blue"


BASES: list[type] = [StrEnum310] + ([enum.StrEnum] if sys.version_info >= (3, 11) else [])  # type: ignore[attr-defined]


def _renderings(member: object) -> list[object]:
    return [
        str(member),
        f"{member}",
        f"[{member:>10}]",
        format(member, "<6"),
        "%s" % member,  # noqa: UP031 - the logging module formats this way
        json.dumps({"k": member, member: 1}),  # type: ignore[dict-item]
        orjson.dumps({"k": member}),
        orjson.dumps([member]),
        member == str(member),
        hash(member) == hash(str(member)),
        isinstance(member, str),
    ]


@pytest.mark.parametrize("base", BASES, ids=lambda b: f"{b.__module__}.{b.__name__}")
def test_members_render_as_their_value(base: type) -> None:
    colour = base("Colour", {"RED": "red", "DARK_BLUE": "dark-blue"})  # type: ignore[call-arg]
    red = colour("red")
    assert red is colour.RED and colour["DARK_BLUE"].value == "dark-blue"
    assert _renderings(red) == [
        "red",
        "red",
        "[       red]",
        "red   ",
        "red",
        '{"k": "red", "red": 1}',
        b'{"k":"red"}',
        b'["red"]',
        True,
        True,
        True,
    ]
    assert sorted([colour.RED, colour.DARK_BLUE]) == [colour.DARK_BLUE, colour.RED]  # str order
    assert "dark" in colour.DARK_BLUE and colour.RED.upper() == "RED"


def test_the_310_enum_matches_the_standard_library_member_for_member() -> None:
    if sys.version_info < (3, 11):
        assert StrEnum is StrEnum310  # the one keysweep's enums are built on here
        return
    for name in ("AssetType", "Severity"):
        ours = {"AssetType": AssetType, "Severity": Severity}[name]
        values = {m.name: m.value for m in ours}
        backport, stdlib = StrEnum310(name, values), enum.StrEnum(name, values)  # type: ignore[call-arg,attr-defined]
        for a, b in zip(backport, stdlib, strict=True):
            assert _renderings(a) == _renderings(b)


def test_auto_values_are_lower_case_names() -> None:
    assert Colour310.RED.value == "red" and Colour310.DARK_BLUE == "dark-blue"


def test_keysweeps_enums_render_as_values() -> None:
    assert issubclass(Severity, StrEnum) and issubclass(SaveStatus, StrEnum)
    assert f"{Severity.HIGH}: {AssetType.CERTIFICATE}" == "high: certificate"
    assert json.dumps([Severity.CRITICAL]) == '["critical"]' and orjson.dumps(AssetType.KEY) == b'"key"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-29T12:30:00Z", datetime(2026, 11, 29, 12, 30, tzinfo=UTC)),
        ("2026-11-29T12:30:00z", datetime(2026, 11, 29, 12, 30, tzinfo=UTC)),
        ("2026-11-29T12:30:00+02:00", datetime(2026, 11, 29, 12, 30, tzinfo=timezone(timedelta(hours=2)))),
        ("2026-11-29", datetime(2026, 11, 29)),
    ],
)
def test_iso_datetimes_with_z(text: str, expected: datetime) -> None:
    parsed = parse_iso_datetime(text)
    assert parsed == expected and parsed.utcoffset() == expected.utcoffset()


def test_as_of_option_takes_z_and_rejects_garbage() -> None:
    import click

    assert parse_as_of(None, None, "2031-01-01T00:00:00Z") == datetime(2031, 1, 1, tzinfo=UTC)  # type: ignore[arg-type]
    with pytest.raises(click.BadParameter, match="is not a date"):
        parse_as_of(None, None, "2031-01-01Zulu")  # type: ignore[arg-type]


def test_utc_is_the_standard_librarys() -> None:
    assert UTC is timezone.utc
    if sys.version_info >= (3, 11):
        import datetime as dt

        assert UTC is dt.UTC  # type: ignore[attr-defined]


def test_file_digest_equals_hashlib(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000  # several read blocks
    path = tmp_path / "blob"
    path.write_bytes(data)
    with path.open("rb") as handle:
        assert file_digest(handle, hashlib.sha256).hexdigest() == hashlib.sha256(data).hexdigest()


def test_tomllib_reads_and_reports_errors() -> None:
    assert tomllib.loads('a = 1\n[t]\nb = "x"\n') == {"a": 1, "t": {"b": "x"}}
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads("a = = 1")
