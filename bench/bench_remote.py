"""Benchmark: a remote sweep over SFTP against a local sweep of the same tree, in the same run.

Starts one loopback OpenSSH server (`sshd -D`, read-only `sftp-server -R`, a login key made here),
then runs, alternately, `keysweep scan --path TREE` and `keysweep scan --remote root@127.0.0.1:PORT:TREE`
(the same handlers, rules and JSON report). Prints each wall and CPU time (of the keysweep process;
the server's sftp-server is not counted), the medians and the remote/local ratio, and checks that
both found the same number of assets. No target: the figure says what the SFTP round trips cost
over a local read (on loopback; a WAN link adds its latency per round of requests).

    .venv/bin/python bench/bench_remote.py [--tree /etc] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.collectors.remote.conftest import known_hosts_line, make_login_key  # noqa: E402
from tests.support.sshd import make_host_keys, running_sshd, write_config  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _scan(args: list[str], out: Path) -> tuple[float, float, int]:
    cpu, started = _children_cpu(), time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "scanner", "scan", *args, "--no-store", "--no-cache", "--json", str(out), "-q"],
        check=False,
        capture_output=True,
    )
    wall = time.monotonic() - started
    return wall, _children_cpu() - cpu, len(json.loads(out.read_text())["assets"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", default="/etc")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    keys = make_host_keys(work, ("ed25519",))
    identity = make_login_key(work, "id_login")
    (work / "authorized_keys").write_text(identity.with_suffix(".pub").read_text())
    config = write_config(work, keys, "Subsystem sftp /usr/lib/openssh/sftp-server -R\n")
    with running_sshd(config, keys) as server:
        known = work / "known_hosts"
        known.write_text(known_hosts_line(server, keys[0]) + "\n")
        local_args = ["--path", options.tree]
        remote_args = ["--remote", f"root@{server.host}:{server.port}:{options.tree}"]
        remote_args += ["--ssh-identity", str(identity), "--ssh-known-hosts", str(known)]
        runs: dict[str, list[tuple[float, float, int]]] = {"local": [], "remote": []}
        for _ in range(options.rounds):
            for name, args in (("local", local_args), ("remote", remote_args)):
                runs[name].append(_scan(args, work / f"{name}.json"))
                wall, cpu, assets = runs[name][-1]
                print(f"{name:6} {wall:6.2f} s wall  {cpu:6.2f} s CPU  {assets} assets", flush=True)
    medians = {
        name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)) for name, rs in runs.items()
    }
    same = {r[2] for rs in runs.values() for r in rs}
    print(f"tree {options.tree}: medians of {options.rounds}")
    for name, (wall, cpu) in medians.items():
        print(f"  {name:6} {wall:.2f} s wall, {cpu:.2f} s CPU")
    print(f"  remote/local: {medians['remote'][0] / medians['local'][0]:.2f}x wall, "
          f"{medians['remote'][1] / medians['local'][1]:.2f}x CPU; same assets: {len(same) == 1}")  # fmt: skip
    return 0 if len(same) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
