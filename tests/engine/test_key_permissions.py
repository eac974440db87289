"""A group-readable private key: exposed, or readable by design through a key-access group."""

from __future__ import annotations

import grp
import os
from pathlib import Path

import pytest

from scanner.inventory.model import Severity
from tests.engine.helpers import scan
from tests.support import pki

RULE = "cms.key.readable-private-key-file"


def _key_in(directory: Path, dir_mode: int, group: str, mode: int) -> Path:
    directory.mkdir()
    gid = grp.getgrnam(group).gr_gid
    os.chown(directory, 0, gid)
    os.chmod(directory, dir_mode)
    key = pki.write(directory / "server.key", pki.key_pem(pki.ec_key()), mode)
    os.chown(key, 0, gid)
    return key


@pytest.fixture
def as_root() -> None:
    assert os.geteuid() == 0, "the permission tests chown files to the ssl-cert group: run as root (CI does)"


def _finding(tmp_path: Path, key: Path) -> tuple[Severity, str, dict[str, object]]:
    result = scan([key.parent], ["cms-km-handbook"])
    [hit] = [f for f in result.findings if f.rule_id == RULE]
    return hit.severity, hit.message, dict(hit.evidence)


def test_ssl_cert_group_under_a_0710_directory_is_low_with_the_reason(tmp_path: Path, as_root: None) -> None:
    key = _key_in(tmp_path / "private", 0o710, "ssl-cert", 0o640)
    severity, message, evidence = _finding(tmp_path, key)
    assert severity is Severity.LOW
    members = grp.getgrnam("ssl-cert").gr_mem
    assert evidence["group"] == "ssl-cert" and evidence["parent_mode"] == "0710"
    assert evidence["group_members"] == sorted(members)
    assert str(evidence["reason"]).startswith("readable by group ssl-cert (")
    assert "a group that exists to grant key access" in message and "(mode 0710)" in message


def test_the_same_key_in_a_directory_others_can_enter_is_group_readable(tmp_path: Path, as_root: None) -> None:
    key = _key_in(tmp_path / "shared", 0o755, "ssl-cert", 0o640)
    severity, message, _ = _finding(tmp_path, key)
    assert severity is Severity.HIGH
    assert "is group-readable (mode 0640)" in message


def test_a_group_with_members_that_is_not_a_key_access_group_is_group_readable(tmp_path: Path, as_root: None) -> None:
    # root's primary group: root is a member, and the group exists for far more than keys
    key = _key_in(tmp_path / "private", 0o710, "root", 0o640)
    severity, _, evidence = _finding(tmp_path, key)
    assert severity is Severity.HIGH and "root" in evidence["group_members"]  # type: ignore[operator]


def test_world_readable_stays_high_whatever_the_group(tmp_path: Path, as_root: None) -> None:
    key = _key_in(tmp_path / "private", 0o710, "ssl-cert", 0o644)
    severity, message, _ = _finding(tmp_path, key)
    assert severity is Severity.HIGH and "world-readable" in message


def test_a_test_key_installed_with_a_python_package_is_low_with_the_reason(tmp_path: Path) -> None:
    fixtures = tmp_path / "lib" / "python3.11" / "site-packages" / "tlslib" / "tests"
    fixtures.mkdir(parents=True)
    pki.write(fixtures / "server.key", pki.key_pem(pki.ec_key()), 0o644)
    severity, message, evidence = _finding(tmp_path, fixtures / "server.key")
    assert severity is Severity.LOW
    assert evidence["package_data_reason"] == "installed with a Python package (site-packages)"
    assert "world-readable (mode 0644), in package data" in message


def test_keys_a_debian_package_ships_unchanged_are_package_data() -> None:
    """testssl.sh ships handshake keys in a conffile, /etc/testssl/tls_data.txt (dpkg records its MD5)."""
    shipped = Path("/etc/testssl/tls_data.txt")
    result = scan([shipped], ["cms-km-handbook"])
    [hit] = [f for f in result.findings if f.rule_id == RULE]
    assert hit.severity is Severity.LOW
    assert hit.evidence["package_data_reason"] == "shipped unchanged by the Debian package testssl.sh"


def test_a_changed_conffile_is_the_admins_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner.collectors import package_data

    real = "/etc/ssl/openssl.cnf"
    assert package_data.package_data_reason(real) == "shipped unchanged by the Debian package openssl"
    # dpkg's record of the real conffile, pointed at copies (the test cannot edit /etc)
    record = package_data._dpkg_files()[real]
    same, edited = tmp_path / "same.cnf", tmp_path / "edited.cnf"
    same.write_bytes(Path(real).read_bytes())
    edited.write_bytes(Path(real).read_bytes() + b"\n# local change\n")
    monkeypatch.setattr(package_data, "_dpkg_files", lambda: {str(same): record, str(edited): record})
    assert package_data._shipped_unchanged(str(same)) == "shipped unchanged by the Debian package openssl"
    assert package_data._shipped_unchanged(str(edited)) is None
