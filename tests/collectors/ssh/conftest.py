"""Real OpenSSH servers on 127.0.0.1 for the live SSH tests, one per configuration:
- stock: the distribution's defaults (no algorithm list set), with a host certificate;
- hardened: the algorithm lists ssh-audit's hardening guide gives for OpenSSH 9.2 (Debian 12),
  without the GSS-API names this test server does not build in;
- legacy: the weakest algorithms this OpenSSH still accepts when asked for;
- classical: stock but with a key exchange list without any post-quantum method.
Host keys are made by the tests in a temporary directory; nothing of the system's sshd is used."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.sshd import KEYGEN, SshServer, make_host_keys, running_sshd, write_config

HARDENED = """\
KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,\
diffie-hellman-group16-sha512,diffie-hellman-group18-sha512
Ciphers aes256-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-gcm@openssh.com,aes128-ctr
MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com
HostKeyAlgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256
"""
LEGACY = """\
KexAlgorithms diffie-hellman-group1-sha1,diffie-hellman-group-exchange-sha256,diffie-hellman-group14-sha1,\
diffie-hellman-group-exchange-sha1,curve25519-sha256
Ciphers 3des-cbc,aes128-cbc,aes256-cbc,aes128-ctr
MACs hmac-md5,hmac-sha1,hmac-sha1-96,hmac-sha2-256
HostKeyAlgorithms ssh-rsa,ssh-dss,ssh-ed25519
"""
CLASSICAL = "KexAlgorithms curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group16-sha512\n"


@dataclass(frozen=True)
class SshLab:
    stock: SshServer
    hardened: SshServer
    legacy: SshServer
    classical: SshServer
    keys_dir: Path
    ca_public_key: Path


@pytest.fixture(scope="package")
def ssh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshLab]:
    base = tmp_path_factory.mktemp("sshd")
    keys = make_host_keys(base)  # ed25519, ecdsa, rsa
    legacy_dir = base / "legacy"
    legacy_dir.mkdir()
    legacy_keys = make_host_keys(legacy_dir, ("rsa", "dsa", "ed25519"))
    ca = base / "host_ca"
    subprocess.run([KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(ca)], check=True)
    subprocess.run(
        [KEYGEN, "-q", "-s", str(ca), "-I", "stock", "-h", "-n", "127.0.0.1", "-V", "+52w", f"{keys[0]}.pub"],
        check=True,
    )
    stock = write_config(base, keys, f"HostCertificate {keys[0]}-cert.pub\n", name="sshd_config")
    hardened = write_config(base, [keys[0], keys[2]], HARDENED, name="hardened_config")
    legacy = write_config(legacy_dir, legacy_keys, LEGACY, name="legacy_config")
    classical = write_config(base, keys, CLASSICAL, name="classical_config")
    with (
        running_sshd(stock, keys) as s1,
        running_sshd(hardened, [keys[0], keys[2]]) as s2,
        running_sshd(legacy, legacy_keys) as s3,
        running_sshd(classical, keys) as s4,
    ):
        yield SshLab(s1, s2, s3, s4, base, ca.with_suffix(".pub"))
