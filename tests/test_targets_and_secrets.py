"""Target parsing (argv and --targets files) and secret handling."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.secrets import Secret, SecretError, secret_from_file
from scanner.targets import TargetError, expand, parse_endpoint, read_targets_file


def test_endpoints_ports_ipv6_and_cidr() -> None:
    assert parse_endpoint("example.com") == [("example.com", 443)]
    assert parse_endpoint("127.0.0.1:8443") == [("127.0.0.1", 8443)]
    assert parse_endpoint("[::1]:8443") == [("::1", 8443)]
    assert parse_endpoint("10.0.0.0/30:443") == [("10.0.0.1", 443), ("10.0.0.2", 443)]
    assert len(parse_endpoint("10.0.0.0/28:443")) == 14
    assert list(expand(["a.example:1", "a.example:1", "b.example"])) == ["a.example:1", "b.example:443"]


@pytest.mark.parametrize("bad", ["host:notaport", "", "   ", "10.0.0.0/33", "host:0", "host:70000", "bad host"])
def test_malformed_targets_name_themselves(bad: str) -> None:
    with pytest.raises(TargetError) as raised:
        parse_endpoint(bad)
    assert "target" in str(raised.value)
    if bad.strip():
        assert repr(bad) in str(raised.value) or bad in str(raised.value)


def test_targets_file_comments_blank_lines_and_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "targets.txt"
    good.write_text("# production\n\nweb.example:443  # main site\n10.1.0.0/30\n")
    assert read_targets_file(good) == ["web.example:443", "10.1.0.0/30"]
    bad = tmp_path / "bad.txt"
    bad.write_text("ok.example\nhost:notaport\n")
    with pytest.raises(TargetError, match=r"bad.txt:2: .*host:notaport"):
        read_targets_file(bad)


def test_secrets_never_show_their_value(tmp_path: Path) -> None:
    secret = Secret(b"hunter2-very-secret")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and "hunter2" not in f"{secret}"
    path = tmp_path / "pin"
    path.write_text("1234-pin\n")
    assert secret_from_file(path).reveal() == b"1234-pin"
    with pytest.raises(SecretError) as raised:
        secret_from_file(tmp_path / "missing")
    assert "missing" in str(raised.value)
