"""A real OpenSSH server on 127.0.0.1 for the remote-sweep tests: `sshd -D` in a temp dir, its SFTP
subsystem the distribution's sftp-server in read-only mode (-R: a write request fails loudly), a
login key made by the test in an authorized_keys the test controls, and a known_hosts file that
holds the server's host key, as an operator's would."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.sshd import KEYGEN, SshServer, make_host_keys, running_sshd, write_config

SFTP_SERVER = "/usr/lib/openssh/sftp-server"
PASSPHRASE = "correct horse battery staple 7f3a"


@dataclass(frozen=True)
class RemoteLab:
    server: SshServer
    identity: Path  # unencrypted login key
    encrypted_identity: Path  # the same authorized_keys also holds this one, encrypted with PASSPHRASE
    known_hosts: Path
    directory: Path

    def remote(self, *paths: Path | str) -> str:
        return f"root@{self.server.host}:{self.server.port}:{','.join(str(p) for p in paths)}"


def make_login_key(directory: Path, name: str, passphrase: str = "") -> Path:
    path = directory / name
    subprocess.run([KEYGEN, "-q", "-t", "ed25519", "-N", passphrase, "-f", str(path)], check=True)
    return path


def known_hosts_line(server: SshServer, host_key: Path) -> str:
    return (
        f"[{server.host}]:{server.port} {host_key.with_suffix('.pub').read_text().split()[0]} "
        + (host_key.with_suffix(".pub").read_text().split()[1])
    )


@pytest.fixture(scope="package")
def remote_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteLab]:
    base = tmp_path_factory.mktemp("remote-sshd")
    keys = make_host_keys(base, ("ed25519",))
    identity = make_login_key(base, "id_login")
    encrypted = make_login_key(base, "id_login_encrypted", PASSPHRASE)
    authorized = base / "authorized_keys"
    authorized.write_text(identity.with_suffix(".pub").read_text() + encrypted.with_suffix(".pub").read_text())
    # read-only SFTP; ForceCommand none: --remote-exec tests run sshd -T through the same server
    config = write_config(base, keys, f"Subsystem sftp {SFTP_SERVER} -R\nPermitRootLogin prohibit-password\n")
    with running_sshd(config, keys) as server:
        known_hosts = base / "known_hosts"
        known_hosts.write_text(known_hosts_line(server, keys[0]) + "\n")
        yield RemoteLab(server, identity, encrypted, known_hosts, base)
