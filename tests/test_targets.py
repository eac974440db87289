"""Target parsing: HOST[:PORT], [v6]:PORT, CIDR ranges, targets files; bad input names the target."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.targets import TargetError, expand, parse_endpoint, read_targets_file


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("example.com", [("example.com", 443)]),
        ("example.com:8443", [("example.com", 8443)]),
        ("10.0.0.0/30:8443", [("10.0.0.1", 8443), ("10.0.0.2", 8443)]),
        ("192.0.2.7/32", [("192.0.2.7", 443)]),
        ("[::1]:8443", [("::1", 8443)]),
        ("::1", [("::1", 443)]),
        ("[2001:db8::/127]:443", [("2001:db8::", 443), ("2001:db8::1", 443)]),
    ],
)
def test_parse(target: str, expected: list[tuple[str, int]]) -> None:
    assert parse_endpoint(target) == expected


def test_cidr_28_gives_14_hosts() -> None:
    assert len(parse_endpoint("10.0.0.0/28:443")) == 14


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("host:notaport", "port 'notaport'"),
        ("host:0", "port '0'"),
        ("host:70000", "port '70000'"),
        ("host:", "port ''"),
        ("10.0.0.0/33:443", "not a valid CIDR range"),
        ("10.0.0.0/8", "more than 65536 addresses"),
        ("999.1.1.1", "not a valid IP address"),
        ("https://example.com", "not a URL"),
        ("[example.com]:443", "not an IPv6 address"),
        ("a b", "white space"),
        (":443", "not a host name"),
        ("", "empty target"),
    ],
)
def test_malformed(target: str, message: str) -> None:
    with pytest.raises(TargetError) as caught:
        parse_endpoint(target)
    assert message in str(caught.value)
    if target:
        assert repr(target) in str(caught.value)


def test_expand_deduplicates() -> None:
    assert list(expand(["127.0.0.1:443", "127.0.0.0/30:443", "[::1]:443"])) == [
        "127.0.0.1:443",
        "127.0.0.2:443",
        "[::1]:443",
    ]


def test_targets_file(tmp_path: Path) -> None:
    path = tmp_path / "targets.txt"
    path.write_text("# servers\n\nweb.example  # the front door\n   \n10.1.0.0/30:8443\n")
    assert read_targets_file(path) == ["web.example", "10.1.0.0/30:8443"]


def test_targets_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "targets.txt"
    path.write_text("web.example\nweb2.example:https\n")
    with pytest.raises(TargetError, match=r"targets.txt:2: invalid target 'web2.example:https'"):
        read_targets_file(path)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--tls", "host:notaport"], "'host:notaport'"),
        (["--tls", "10.0.0.0/33:443"], "'10.0.0.0/33:443'"),
        (["--tls", ""], "empty target ''"),
    ],
)
def test_cli_exits_2_naming_the_target(args: list[str], named: str) -> None:
    result = CliRunner().invoke(main, ["scan", *args])
    assert result.exit_code == 2
    assert named in result.output


def test_cli_targets_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("ok.example\n\n10.0.0.0/40\n")
    result = CliRunner().invoke(main, ["scan", "--targets", str(bad)])
    assert result.exit_code == 2 and "bad.txt:3" in result.output and "'10.0.0.0/40'" in result.output
    empty = tmp_path / "empty.txt"
    empty.write_text("\n# nothing\n\n")
    result = CliRunner().invoke(main, ["scan", "--targets", str(empty)])
    assert result.exit_code == 2 and "no targets in the file" in result.output
