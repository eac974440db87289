"""Peer scanners run for real against servers the tests start: sslyze, testssl.sh and ssh-audit.

Each function writes the tool's own JSON file and returns its path; the importer tests read it
exactly as a team's pipeline would hand it over. sshd runs unprivileged in a temp dir with host keys
made there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.sshd import privilege_separation_directory
from tests.support.tls_servers import Server, free_port, wait_for_port

SSHD = "/usr/sbin/sshd"

# A hardened but not post-quantum sshd: curve25519 and a legacy DH group, CTR and GCM ciphers,
# one SHA-1 MAC, so that both the imported and the config scan have something to say.
SSHD_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {dir}/ssh_host_ed25519_key
HostKey {dir}/ssh_host_rsa_key
PidFile {dir}/sshd.pid
UsePAM no
StrictModes no
KexAlgorithms curve25519-sha256,diffie-hellman-group14-sha1
HostKeyAlgorithms ssh-ed25519,rsa-sha2-512,ssh-rsa
Ciphers aes256-gcm@openssh.com,aes128-ctr,aes256-ctr
MACs hmac-sha2-256-etm@openssh.com,hmac-sha1
"""


def sslyze_json(target: str, out: Path, timeout: float = 180) -> Path:
    """sslyze's command line with its default scan commands, writing ``--json_out``. It exits 1
    when the server fails its Mozilla profile check (a self-signed test certificate always does)."""
    out.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "sslyze", f"--json_out={out}", "--quiet", target],
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode not in (0, 1) or not out.exists():
        raise RuntimeError(f"sslyze failed (exit {done.returncode}): {done.stderr[-500:]!r}")
    return out


def testssl_json(target: str, out: Path, timeout: float = 600, *, pretty: bool = False) -> Path:
    """testssl.sh: protocols, ciphers per protocol, server defaults (certificate), forward secrecy
    (groups) and headers, written with ``--jsonfile``. The vulnerability checks are left out: they
    take minutes and keysweep's rules do not read them. ``pretty`` writes ``--jsonfile-pretty``."""
    binary = shutil.which("testssl") or shutil.which("testssl.sh")
    if binary is None:
        raise RuntimeError("testssl.sh is not installed (scripts/bootstrap.sh installs it)")
    out.unlink(missing_ok=True)  # testssl.sh refuses to write over a file
    flag = "--jsonfile-pretty" if pretty else "--jsonfile"
    argv = [binary, flag, str(out), "--quiet", "--warnings", "off", "--color", "0", "--ip", "one"]
    argv += ["-p", "-E", "-S", "-f", "-h", target]
    done = subprocess.run(argv, capture_output=True, timeout=timeout, env={**os.environ, "TERM": "dumb"}, check=False)
    if not out.exists() or b"scanTime" not in out.read_bytes():
        raise RuntimeError(f"testssl.sh wrote no complete {out} (exit {done.returncode}): {done.stdout[-300:]!r}")
    return out


def host_keys(directory: Path) -> None:
    for kind, extra in (("ed25519", []), ("rsa", ["-b", "3072"])):
        path = directory / f"ssh_host_{kind}_key"
        if not path.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-f", str(path)], check=True, capture_output=True
            )


def start_sshd(directory: Path, config: str = SSHD_CONFIG) -> tuple[Server, Path]:
    """``sshd -D -f CONFIG -p PORT`` on 127.0.0.1; returns the server and its sshd_config."""
    directory.mkdir(parents=True, exist_ok=True)
    privilege_separation_directory()
    host_keys(directory)
    for _ in range(5):
        port = free_port()
        conf = directory / "sshd_config"
        conf.write_text(config.format(port=port, dir=directory))
        argv = [SSHD, "-D", "-e", "-f", str(conf), "-p", str(port)]
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, process)
        except RuntimeError:
            process.kill()
            process.wait(5)
            continue
        return Server("sshd", port, process), conf
    raise RuntimeError("sshd did not start")


def ssh_audit_json(port: int, out: Path, timeout: float = 120) -> Path:
    """ssh-audit ``-j`` against 127.0.0.1:PORT; its exit code says whether it found failures."""
    binary = shutil.which("ssh-audit")
    if binary is None:
        raise RuntimeError("ssh-audit is not installed (scripts/bootstrap.sh installs it)")
    done = subprocess.run(
        [binary, "-j", "-p", str(port), "127.0.0.1"], capture_output=True, timeout=timeout, check=False
    )
    if not done.stdout.strip().startswith(b"{"):
        raise RuntimeError(f"ssh-audit wrote no JSON: {done.stdout[:200]!r} {done.stderr[:200]!r}")
    out.write_bytes(done.stdout)
    return out


def ssh_audit_targets_json(targets: list[str], out: Path, timeout: float = 120) -> Path:
    """ssh-audit ``-j -T FILE``: one JSON list with every target's result."""
    binary = shutil.which("ssh-audit")
    if binary is None:
        raise RuntimeError("ssh-audit is not installed (scripts/bootstrap.sh installs it)")
    listing = out.with_suffix(".targets")
    listing.write_text("".join(f"{t}\n" for t in targets))
    done = subprocess.run([binary, "-j", "-T", str(listing)], capture_output=True, timeout=timeout, check=False)
    if not done.stdout.strip().startswith(b"["):
        raise RuntimeError(f"ssh-audit wrote no JSON list: {done.stdout[:200]!r} {done.stderr[:200]!r}")
    out.write_bytes(done.stdout)
    return out
