"""--remote values, remote: lines of a targets file and scan.toml: parsed, or a usage error naming them."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from scanner.targets import RemoteSpec, TargetError, parse_remote, read_targets_file, split_remote
from tests.collectors.remote.conftest import RemoteLab
from tests.support import pki
from tests.support.scans import keysweep


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ops@web1:/etc/ssl", RemoteSpec("ops", "web1", 22, ("/etc/ssl",))),
        (
            "web1.example.org:2222:/etc/ssl,/etc/nginx",
            RemoteSpec(None, "web1.example.org", 2222, ("/etc/ssl", "/etc/nginx")),
        ),
        ("root@10.0.0.5:/srv/2222", RemoteSpec("root", "10.0.0.5", 22, ("/srv/2222",))),
        ("a@[::1]:2022:/etc", RemoteSpec("a", "::1", 2022, ("/etc",))),
        ("a@[::1]:/etc", RemoteSpec("a", "::1", 22, ("/etc",))),
    ],
)
def test_parse_remote(value: str, expected: RemoteSpec) -> None:
    assert parse_remote(value) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("web1", "expected [USER@]HOST[:PORT]:PATH"),
        ("web1:etc/ssl", "is not an absolute path"),
        ("web1:", "no path to sweep"),
        ("web1:99999:/etc", "not a number from 1 to 65535"),
        ("10.0.0.0/24:/etc", "one host, not a range"),
        ("@web1:/etc", "is not a user name"),
        ("bad host:/etc", "white space"),
    ],
)
def test_bad_remote_names_the_target(value: str, problem: str) -> None:
    with pytest.raises(TargetError, match=re.escape(problem)) as caught:
        parse_remote(value)
    assert repr(value) in str(caught.value)


def test_targets_file_remote_lines(tmp_path: Path) -> None:
    listed = tmp_path / "targets.txt"
    listed.write_text("ssh://bastion:22\nremote:ops@web1:/etc/ssl  # the web tier\nexample.org:443\n")
    others, remote = split_remote(read_targets_file(listed))
    assert remote == ["ops@web1:/etc/ssl"] and others == ["ssh://bastion:22", "example.org:443"]
    listed.write_text("remote:web1:relative\n")
    with pytest.raises(TargetError, match=rf"{listed}:1: .*not an absolute path"):
        read_targets_file(listed)


def test_bad_remote_on_the_command_line_is_a_usage_error() -> None:
    result = keysweep("scan", "--remote", "web1:etc", "--no-store")
    assert result.returncode == 2 and "'etc' is not an absolute path" in result.stderr


def test_scan_toml_remote_target(remote_lab: RemoteLab, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.crt").write_bytes(pki.pem(pki.certificate(pki.ec_key(), "toml.example")))
    out = tmp_path / "r.json"
    definition = tmp_path / "scan.toml"
    definition.write_text(
        f'[targets]\nremote = ["{remote_lab.remote(tree)}"]\nssh_identity = "{remote_lab.identity}"\n'
        f'ssh_known_hosts = "{remote_lab.known_hosts}"\n[outputs]\njson = "{out}"\n[store]\nenabled = false\n'
    )
    result = keysweep("scan", "--config", str(definition), "-q")
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(out.read_text())
    assert [a["type"] for a in report["assets"]].count("certificate") == 1


def test_special_files_and_link_loops(remote_lab: RemoteLab, tmp_path: Path) -> None:
    """A FIFO is never opened (a read would block forever) and a link loop is not followed."""
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a.crt").write_bytes(pki.pem(pki.certificate(pki.ec_key(), "loop.example")))
    os.mkfifo(tree / "pipe.pem")
    (tree / "sub" / "up").symlink_to(tree)  # a loop through a link to a directory
    (tree / "self").symlink_to(tree / "self")  # a link to itself
    out = tmp_path / "r.json"
    result = keysweep(
        "scan", "--remote", remote_lab.remote(tree), "--ssh-identity", str(remote_lab.identity),
        "--ssh-known-hosts", str(remote_lab.known_hosts), "--timeout", "5", "--no-store", "--json", str(out), "-q",
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(out.read_text())
    [cert] = [a for a in report["assets"] if a["type"] == "certificate"]
    assert len(cert["locations"]) == 1
    assert not any("pipe.pem" in e["target"] for e in report["errors"])
    assert not any("no answer within" in e["message"] for e in report["errors"])  # nothing blocked
    # the link to itself is an error naming it, as in a local sweep; the loop through sub/up is not entered
    assert [e["target"].rsplit("/", 1)[-1] for e in report["errors"]] == ["self"]
