"""Counts in the messages users read most say '1 day' and '2 days', never '1 days' (issue 10, section 6)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.compat import UTC
from scanner.engine.checks import EvalContext
from scanner.engine.checks_builtin import certificates, hsm, keys
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, freeze
from scanner.plurals import noun, plural
from tests.support import pki

START = dt.datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
# "1 days", "1 findings", "2 day " ...: a count and a noun that disagree
WRONG = re.compile(r"\b1 [a-z]+s\b(?<!\bbits)|\b(?:[02-9]|\d\d+) (?:day|finding|error|asset|certificate|hour)\b")


def _iso(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=None).isoformat() + "Z"


def _messages(check: object, asset: Asset, as_of: dt.datetime, **params: object) -> list[str]:
    found = check(asset, InventoryGraph(), params, EvalContext(as_of=as_of))  # type: ignore[operator]
    return [hit.message for hit in found]


def _cert(not_before: dt.datetime, not_after: dt.datetime) -> Asset:
    props = {"subject": "CN=t", "not_before": _iso(not_before), "not_after": _iso(not_after)}
    return Asset("cert:sha256:t", AssetType.CERTIFICATE, freeze(props))


def test_the_helper() -> None:
    assert [plural(n, "day") for n in (0, 1, 2)] == ["0 days", "1 day", "2 days"]
    assert plural(1, "entry", "entries") == "1 entry" and plural(3, "entry", "entries") == "3 entries"
    assert noun(1, "finding") == "finding" and noun(7, "finding") == "findings"
    assert [noun(n, "is", "are") for n in (1, 2)] == ["is", "are"]


@pytest.mark.parametrize(("left", "text"), [(DAY + SECOND, "in 1 day"), (2 * DAY + SECOND, "in 2 days")])
def test_certificate_expiring_in_days(left: dt.timedelta, text: str) -> None:
    not_after = START + 90 * DAY
    [message] = _messages(certificates.certificate_expiring, _cert(START, not_after), not_after - left, days=30)
    assert message.endswith(text) and not WRONG.search(message), message


@pytest.mark.parametrize(("left", "text"), [(3601 * SECOND, "in 1 hour"), (7201 * SECOND, "in 2 hours")])
def test_certificate_expiring_in_hours(left: dt.timedelta, text: str) -> None:
    not_after = START + 90 * DAY
    [message] = _messages(certificates.certificate_expiring, _cert(START, not_after), not_after - left, days=30)
    assert message.endswith(text), message


@pytest.mark.parametrize(("max_days", "length", "valid", "allowed"), [(1, 2 * DAY, "2 days", "1 day (86400 s)")])
def test_validity_too_long(max_days: int, length: dt.timedelta, valid: str, allowed: str) -> None:
    [message] = _messages(
        certificates.certificate_validity_too_long, _cert(START, START + length - SECOND), START, max_days=max_days
    )
    assert f"valid for {valid} (" in message and f"at most {allowed}" in message and not WRONG.search(message)


def test_validity_too_long_by_one_day_of_a_real_certificate(tmp_path: Path) -> None:
    # a real certificate through the whole scan: the message in the report reads right
    from tests.engine.helpers import scan

    cert = pki.certificate(pki.ec_key(), "short.example", days=2)
    pki.write(tmp_path / "short.pem", pki.pem(cert), 0o644)
    result = scan([tmp_path])
    assert result.findings
    for finding in result.findings:
        assert not WRONG.search(finding.message), finding.message


@pytest.mark.parametrize(("age", "text"), [(2, "(2 days on 2025-03-03); rotation is due every 1 day")])
def test_key_rotation_overdue(age: int, text: str) -> None:
    key = Asset("key:t", AssetType.KEY, freeze({"algorithm": "RSA", "key_size": 2048, "created": "2025-03-01"}))
    [message] = _messages(keys.key_rotation_overdue, key, START + age * DAY, max_days=1)
    assert text in message and not WRONG.search(message), message


@pytest.mark.parametrize(("days_late", "text"), [(1, "(1 day before"), (2, "(2 days before")])
def test_hsm_key_past_its_end_date(days_late: int, text: str) -> None:
    key = Asset("key:pkcs11:01:aa", AssetType.KEY, freeze({"in_hsm": True, "end_date": "2025-03-01"}))
    [message] = _messages(hsm.key_past_end_date, key, START + days_late * DAY)
    assert text in message, message


def test_hsm_cryptoperiod() -> None:
    props = {"in_hsm": True, "symmetric": True, "usage": ["encrypt"], "start_date": "2025-03-01"}
    key = Asset("key:pkcs11:01:aa", AssetType.KEY, freeze(props))
    [message] = _messages(
        hsm.key_cryptoperiod_exceeded,
        key,
        START + 2 * DAY,
        cryptoperiod_days={"symmetric-encryption": 1},
        functions={"encryption": ["encrypt"]},
    )
    assert "2 days before 2025-03-03" in message and message.endswith("key is 1 day"), message


def _summary(args: list[str]) -> str:
    done = CliRunner().invoke(main, ["scan", "--no-store", *args], catch_exceptions=False)
    [line] = [line for line in done.output.splitlines() if "readiness" in line]
    return line


def _broken_certificate(path: Path) -> Path:
    return pki.write(path, b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 0o644)


def test_summary_line_for_one_and_for_several(tmp_path: Path) -> None:
    weak = pki.write(tmp_path / "weak.pem", pki.key_pem(pki.rsa_key(1024)))
    one = _summary(["--path", str(weak), "--path", str(_broken_certificate(tmp_path / "bad.pem"))])
    several = _summary(
        ["--path", str(weak), "--path", str(tmp_path / "bad.pem"), "--path", str(_broken_certificate(tmp_path / "b2"))]
    )
    # SP 800-131A finds the 1024-bit key once; the whole default selection several times
    one_finding = _summary(["--path", str(weak), "--policy", "nist-sp800-131a"])
    assert "1 error;" in one and "2 errors;" in several, (one, several)
    assert "1 finding (1 high open)" in one_finding and "2 assets," in one_finding, one_finding
    assert re.search(r"\b[2-9]\d* findings \(", several), several
    for line in (one, several, one_finding):
        assert not WRONG.search(line), line
