"""What a remote sweep refuses and what it never leaks: an unknown or changed host key (nothing read),
an encrypted identity's passphrase (in no report, log, or argv of the scanning process), a stalled
server (one timeout, the rest of the scan goes on)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collectors.remote.conftest import PASSPHRASE, RemoteLab, known_hosts_line
from tests.support import pki
from tests.support.scans import keysweep
from tests.support.sshd import SshServer, make_host_keys


def _tree(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    key = pki.ec_key()
    (root / "server.crt").write_bytes(pki.pem(pki.certificate(key, "remote.example", days=90)))
    return root


def _report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def test_unknown_host_key_is_refused_and_nothing_is_read(remote_lab: RemoteLab, tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    other = make_host_keys(tmp_path, ("ed25519",))[0]  # a key the server does not hold: a changed host key
    for name, text in (("empty", ""), ("changed", known_hosts_line(remote_lab.server, other) + "\n")):
        known = tmp_path / f"known_hosts_{name}"
        known.write_text(text)
        out = tmp_path / f"{name}.json"
        result = keysweep(
            "scan", "--remote", remote_lab.remote(tree), "--ssh-identity", str(remote_lab.identity),
            "--ssh-known-hosts", str(known), "--no-store", "--json", str(out), "-q",
        )  # fmt: skip
        assert result.returncode == 2, result.stderr  # nothing else scanned
        report = _report(out)
        assert report["assets"] == []
        [error] = report["errors"]
        fingerprint = subprocess.run(
            ["ssh-keygen", "-l", "-E", "sha256", "-f", str(remote_lab.server.host_keys[0])],
            capture_output=True, text=True, check=True,
        ).stdout.split()[1]  # fmt: skip
        assert fingerprint in error["message"] and str(known) in error["message"]
        assert f"{remote_lab.server.host}:{remote_lab.server.port}" in error["message"]
        assert "refused" in error["message"] and fingerprint in result.stderr


def test_missing_known_hosts_refuses_every_host(remote_lab: RemoteLab, tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    local = _tree(tmp_path / "local")
    out = tmp_path / "r.json"
    result = keysweep(
        "scan", "--remote", remote_lab.remote(tree), "--ssh-identity", str(remote_lab.identity),
        "--ssh-known-hosts", str(tmp_path / "nope"), "--path", str(local), "--no-store", "--json", str(out), "-q",
    )  # fmt: skip
    report = _report(out)
    assert result.returncode in (0, 1), result.stderr  # the local part was scanned
    assert any("known_hosts file" in e["message"] and "refused" in e["message"] for e in report["errors"])
    assert all(loc["kind"] == "file" for a in report["assets"] for loc in a["locations"])


def _argv_of_tree(pid: int) -> list[str]:
    """The argv of a process and all its descendants, as ps shows them."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines() if line.strip()]
    family, argv = {pid}, []
    for _ in range(5):
        for row in rows:
            if len(row) == 3 and int(row[1]) in family:
                family.add(int(row[0]))
    for row in rows:
        if len(row) == 3 and int(row[0]) in family:
            argv.append(row[2])
    return argv


def test_encrypted_identity_with_passphrase_from_env_leaks_nowhere(remote_lab: RemoteLab, tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    out, log = tmp_path / "r.json", tmp_path / "scan.log"
    args = [
        sys.executable, "-m", "scanner", "scan", "--remote", remote_lab.remote(tree),
        "--ssh-identity", str(remote_lab.encrypted_identity), "--ssh-known-hosts", str(remote_lab.known_hosts),
        "--no-store", "--json", str(out), "--format", f"jsonl={tmp_path / 'f.jsonl'}", "-vv",
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(
            args, stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "KEYSWEEP_SSH_PASSPHRASE": PASSPHRASE}
        )
        seen: list[str] = []
        while process.poll() is None:
            seen += _argv_of_tree(process.pid)
            time.sleep(0.05)
    assert process.returncode in (0, 1), log.read_text()
    report = _report(out)
    assert any(a["type"] == "certificate" for a in report["assets"]), report["errors"]
    assert seen and all(PASSPHRASE not in argv for argv in seen)
    for written in (out, log, tmp_path / "f.jsonl"):
        assert PASSPHRASE.encode() not in written.read_bytes()
    # without it: a clear error naming the identity, never a prompt
    failed = keysweep(
        "scan", "--remote", remote_lab.remote(tree), "--ssh-identity", str(remote_lab.encrypted_identity),
        "--ssh-known-hosts", str(remote_lab.known_hosts), "--no-store", "-q",
        env={"KEYSWEEP_SSH_PASSPHRASE": "wrong " + PASSPHRASE[::-1]},
    )  # fmt: skip
    assert failed.returncode == 2
    assert f"identity {remote_lab.encrypted_identity}: wrong passphrase" in failed.stderr
    assert PASSPHRASE[::-1] not in failed.stderr


class _StallingProxy:
    """Forwards to the real sshd until the server has sent ``budget`` bytes, then holds every byte:
    a host that stalls in the middle of a sweep, its connection still open."""

    def __init__(self, target: SshServer, budget: int) -> None:
        self.target, self.budget = target, budget
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((self.target.host, self.target.port))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, self.budget), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, budget: int | None) -> None:
        sent = 0
        try:
            while data := source.recv(4096):
                if budget is not None and sent + len(data) > budget:
                    threading.Event().wait()  # stall: hold the connection open, forward nothing more
                sink.sendall(data)
                sent += len(data)
        except OSError:
            return

    def close(self) -> None:
        for s in self.sockets:
            s.close()


@pytest.fixture
def stalling(remote_lab: RemoteLab) -> Iterator[_StallingProxy]:
    proxy = _StallingProxy(remote_lab.server, budget=80 * 1024)
    yield proxy
    proxy.close()


@pytest.mark.slow
def test_stalled_server_costs_one_timeout_and_the_scan_goes_on(
    remote_lab: RemoteLab, stalling: _StallingProxy, tmp_path: Path
) -> None:
    tree = _tree(tmp_path / "tree")
    key = pki.ec_key()
    for n in range(200):  # far more than the proxy lets through
        (tree / f"c{n:03d}.crt").write_bytes(pki.pem(pki.certificate(key, f"n{n}.example", days=90)))
    local = _tree(tmp_path / "local")
    known = tmp_path / "known_hosts"
    line = known_hosts_line(remote_lab.server, remote_lab.server.host_keys[0])
    known.write_text(line.replace(f":{remote_lab.server.port}", f":{stalling.port}") + "\n")
    out = tmp_path / "r.json"
    started = time.monotonic()
    result = keysweep(
        "scan", "--remote", f"root@127.0.0.1:{stalling.port}:{tree}", "--ssh-identity", str(remote_lab.identity),
        "--ssh-known-hosts", str(known), "--path", str(local), "--timeout", "3", "--no-store", "--json", str(out),
        "-q",
    )  # fmt: skip
    elapsed = time.monotonic() - started
    report = _report(out)
    assert result.returncode in (0, 1), result.stderr
    stalls = [e for e in report["errors"] if "no answer within 3 s" in e["message"]]
    assert len(stalls) == 1, report["errors"]
    assert stalls[0]["target"].startswith("root@127.0.0.1:")
    remote = [a for a in report["assets"] if any(loc["kind"] == "remote-file" for loc in a["locations"])]
    assert remote, "what was read before the stall is kept"
    assert any(loc["kind"] == "file" for a in report["assets"] for loc in a["locations"])
    assert elapsed < 3 * 3 + 15  # one timeout (and closing), not one per file
