"""Real OpenSSH servers for the tests: `sshd -D -f CONFIG -p PORT` with host keys made in a temp dir,
on 127.0.0.1, no system service. Each server is one config; the host keys are the test's own."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"


def privilege_separation_directory() -> None:
    """Make /run/sshd, without which Debian's sshd refuses to start and even ``sshd -T`` exits 255.

    The package's tmpfiles make it at boot, so a machine that installed openssh-server since (CI's)
    lacks it until something makes it: every test running sshd calls this first, whatever their order.
    """
    with contextlib.suppress(PermissionError):  # not root: an unprivileged sshd does without
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)


@dataclass(frozen=True)
class SshServer:
    host: str
    port: int
    config: Path
    host_keys: tuple[Path, ...]

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_host_keys(directory: Path, kinds: Sequence[str] = ("ed25519", "ecdsa", "rsa")) -> list[Path]:
    keys = []
    for kind in kinds:
        path = directory / f"ssh_host_{kind}_key"
        if not path.exists():
            bits = ["-b", "3072"] if kind == "rsa" else []
            subprocess.run([KEYGEN, "-q", "-t", kind, *bits, "-N", "", "-f", str(path)], check=True)
        keys.append(path)
    return keys


def sshd_version() -> str:
    out = subprocess.run([SSHD, "-V"], capture_output=True, text=True)
    return (out.stderr or out.stdout).strip()


def write_config(directory: Path, host_keys: Sequence[Path], extra: str = "", name: str = "sshd_config") -> Path:
    config = directory / name
    lines = [f"HostKey {k}" for k in host_keys]
    lines += [
        "ListenAddress 127.0.0.1",
        f"PidFile {directory / (name + '.pid')}",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        f"AuthorizedKeysFile {directory / 'authorized_keys'}",
        "StrictModes no",
        "LogLevel ERROR",
    ]
    config.write_text("\n".join(lines) + "\n" + extra)
    return config


@contextmanager
def running_sshd(config: Path, host_keys: Sequence[Path], port: int | None = None) -> Iterator[SshServer]:
    privilege_separation_directory()
    port = port or free_port()
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"sshd -t rejected {config}: {check.stderr.strip()}")
    process = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config), "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(f"sshd did not start on {port}: {err}") from None
                time.sleep(0.05)
        yield SshServer("127.0.0.1", port, config, tuple(host_keys))
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
