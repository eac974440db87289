"""Configs swept over SFTP have their includes resolved on the remote host, and --remote-exec alone
runs `sshd -T` there. The remote host here is a chroot (sshd's ChrootDirectory) so that its paths
name files that do not exist on the scanning host: a local resolution would find nothing."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collectors.remote.conftest import RemoteLab, known_hosts_line
from tests.support import pki
from tests.support.scans import keysweep
from tests.support.sshd import SshServer, running_sshd, write_config

NGINX = """\
events {}
http {
    include /etc/nginx/sites/*.conf;
}
"""
SITE = """\
server {
    listen 443 ssl;
    server_name remote.example;
    ssl_certificate /etc/ssl/remote-site.crt;
    ssl_certificate_key /etc/ssl/remote-site.key;
    ssl_protocols TLSv1 TLSv1.2;
}
"""


@pytest.fixture(scope="module")
def chrooted(remote_lab: RemoteLab) -> Iterator[tuple[SshServer, Path, Path]]:
    # sshd wants every component of a chroot root-owned and not group/world-writable: not under /tmp
    root = Path(tempfile.mkdtemp(prefix="keysweep-chroot-", dir="/run"))
    try:
        (root / "etc/nginx/sites").mkdir(parents=True)
        (root / "etc/ssl").mkdir(parents=True)
        (root / "etc/nginx/nginx.conf").write_text(NGINX)
        (root / "etc/nginx/sites/remote.conf").write_text(SITE)
        key = pki.ec_key()
        (root / "etc/ssl/remote-site.crt").write_bytes(pki.pem(pki.certificate(key, "remote.example", days=90)))
        pki.write(root / "etc/ssl/remote-site.key", pki.key_pem(key))
        base = remote_lab.directory
        extra = f"Subsystem sftp internal-sftp -R\nMatch User root\n    ChrootDirectory {root}\n"
        extra += "    ForceCommand internal-sftp -R\n"
        config = write_config(base, remote_lab.server.host_keys, extra, name="sshd_config_chroot")
        with running_sshd(config, remote_lab.server.host_keys) as server:
            known = base / "known_hosts_chroot"
            known.write_text(known_hosts_line(server, server.host_keys[0]) + "\n")
            yield server, root, known
    finally:
        shutil.rmtree(root)


def _scan(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "r.json"
    result = keysweep("scan", *args, "--no-store", "--json", str(out), "-q")
    return result.returncode, json.loads(out.read_text()), result.stderr


def test_include_is_resolved_on_the_remote_host(
    remote_lab: RemoteLab, chrooted: tuple[SshServer, Path, Path], tmp_path: Path
) -> None:
    server, _root, known = chrooted
    for remote_only in ("/etc/nginx/sites/remote.conf", "/etc/ssl/remote-site.crt"):
        assert not Path(remote_only).exists()  # only the remote host has them
    code, report, stderr = _scan(
        tmp_path, "--remote", f"root@{server.host}:{server.port}:/etc/nginx/nginx.conf",
        "--ssh-identity", str(remote_lab.identity), "--ssh-known-hosts", str(known),
    )  # fmt: skip
    assert code in (0, 1), stderr
    prefix = f"ssh://{server.host}:{server.port}"
    config = next(a for a in report["assets"] if a["id"] == f"config:nginx:{prefix}/etc/nginx/nginx.conf")
    assert config["properties"]["includes"] == ["/etc/nginx/sites/remote.conf"]
    assert config["locations"] == [{"kind": "remote-file", "ref": f"{prefix}/etc/nginx/nginx.conf"}]
    # the certificate the included file names, read over SFTP although outside the swept path
    [cert] = [a for a in report["assets"] if a["type"] == "certificate"]
    assert cert["locations"][0]["ref"] == f"{prefix}/etc/ssl/remote-site.crt"
    cert_file = next(a for a in report["assets"] if a["id"] == f"file:{prefix}/etc/ssl/remote-site.crt")
    assert cert_file["properties"]["outside_scanned_paths"] is True
    # judged at its root on the remote side: TLS 1.0 enabled in the included server block
    rules = {f["rule_id"] for f in report["findings"] if f["asset_id"] == config["id"]}
    assert any("protocol" in rule for rule in rules), rules
    assert report["errors"] == []


def test_remote_exec_only_when_asked(remote_lab: RemoteLab, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "README").write_text("nothing cryptographic\n")
    login = ["--ssh-identity", str(remote_lab.identity), "--ssh-known-hosts", str(remote_lab.known_hosts)]
    code, report, stderr = _scan(tmp_path, "--remote", remote_lab.remote(tree), *login)
    assert code in (0, 1, 2), stderr
    assert not any(a["properties"].get("source_command") for a in report["assets"])
    code, report, stderr = _scan(tmp_path, "--remote", remote_lab.remote(tree), "--remote-exec", *login)
    assert code in (0, 1), stderr
    [effective] = [a for a in report["assets"] if a["properties"].get("source_command") == "sshd -T"]
    assert effective["type"] == "config" and effective["properties"]["kind"] == "sshd"
    # sshd -T lists every algorithm it offers: the same lists the live probe and the file would judge
    scopes = effective["properties"]["ssh_contexts"]
    assert scopes and scopes[0]["settings"]["kexalgorithms"]
    assert effective["locations"][0]["kind"] == "remote-file"


def test_without_remote_exec_no_session_is_ever_asked_to_exec(
    remote_lab: RemoteLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process, against the real server: every exec request of the sweep recorded (none expected)
    without --remote-exec, even for a tree holding an sshd_config whose defaults sshd -T would show."""
    from scanner.collectors.base import CollectContext, Target
    from scanner.collectors.remote.collector import RemoteCollector
    from scanner.collectors.remote.session import Session

    asked: list[str] = []
    real_exec = Session.exec

    def recording(self: Session, command: str) -> tuple[int | None, str, str]:
        asked.append(command)
        return real_exec(self, command)

    monkeypatch.setattr(Session, "exec", recording)
    tree = tmp_path / "ssh"
    tree.mkdir()
    (tree / "sshd_config").write_text("PermitRootLogin no\nCiphers aes128-cbc\n")
    options = {"ssh_identity": str(remote_lab.identity), "ssh_known_hosts": str(remote_lab.known_hosts)}
    target = Target("remote", remote_lab.remote(tree))
    found = list(RemoteCollector().collect([target], CollectContext(timeout=10, options=options)))
    assert any(getattr(o, "type", None) == "config" for o in found)
    assert asked == []
    list(RemoteCollector().collect([target], CollectContext(timeout=10, options={**options, "remote_exec": True})))
    assert asked == ["PATH=/usr/sbin:/usr/local/sbin:/sbin:$PATH sshd -T"]


def test_a_missing_file_only_a_template_names_is_no_error_on_the_remote_host_either(
    remote_lab: RemoteLab, tmp_path: Path
) -> None:
    """Debian 12's own trees, at their own paths on the remote host (a chroot), without ssl-cert:
    stock gets no error and the two templates record the snakeoil files; hardened enables a TLS site
    that names them, and each is an error naming the site's file, line and role."""
    from tests.collectors.configs.corpus_trees import CORPUS

    root = Path(tempfile.mkdtemp(prefix="keysweep-chroot-", dir="/run"))
    try:
        shutil.copytree(CORPUS / "stock", root, symlinks=True, dirs_exist_ok=True)
        base = remote_lab.directory
        extra = f"Subsystem sftp internal-sftp -R\nMatch User root\n    ChrootDirectory {root}\n"
        extra += "    ForceCommand internal-sftp -R\n"
        config = write_config(base, remote_lab.server.host_keys, extra, name="sshd_config_debian")
        with running_sshd(config, remote_lab.server.host_keys) as server:
            known = base / "known_hosts_debian"
            known.write_text(known_hosts_line(server, server.host_keys[0]) + "\n")
            login = ["--ssh-identity", str(remote_lab.identity), "--ssh-known-hosts", str(known)]
            remote = f"root@{server.host}:{server.port}:/etc"
            prefix = f"ssh://{server.host}:{server.port}"

            code, report, stderr = _scan(tmp_path, "--remote", remote, *login)
            assert code in (0, 1), stderr
            assert report["errors"] == []
            missing = {
                a["id"].removeprefix(f"config:nginx:{prefix}").removeprefix(f"config:apache:{prefix}"): [
                    (m["path"], m["role"], m["file"], m["line"]) for m in a["properties"]["missing_references"]
                ]
                for a in report["assets"]
                if "missing_references" in a["properties"]
            }
            cert, key = "/etc/ssl/certs/ssl-cert-snakeoil.pem", "/etc/ssl/private/ssl-cert-snakeoil.key"
            snippet, site = "/etc/nginx/snippets/snakeoil.conf", "/etc/apache2/sites-available/default-ssl.conf"
            assert missing == {
                snippet: [(cert, "certificate", snippet, 4), (key, "private-key", snippet, 5)],
                site: [(cert, "certificate", site, 31), (key, "private-key", site, 32)],
            }

            shutil.copytree(CORPUS / "hardened", root, symlinks=True, dirs_exist_ok=True)
            code, report, stderr = _scan(tmp_path, "--remote", remote, *login)
            assert code in (0, 1), stderr
            enabled = "/etc/apache2/sites-enabled/default-ssl.conf"
            missing_file = "cannot read file: No such file"
            assert sorted((e["target"], e["message"]) for e in report["errors"]) == [
                (
                    f"{prefix}{cert}",
                    f"named by {enabled} line 31 (certificate), {snippet} line 4 (certificate): {missing_file}",
                ),
                (
                    f"{prefix}{key}",
                    f"named by {enabled} line 32 (private-key), {snippet} line 5 (private-key): {missing_file}",
                ),
            ]
    finally:
        shutil.rmtree(root)
