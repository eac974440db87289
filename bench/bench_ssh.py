"""Benchmark: keysweep's live SSH scan against ssh-audit on the same servers, in the same run.

Starts 20 loopback OpenSSH servers (`sshd -D -f CONFIG -p PORT`, host keys made here; half with
the distribution's defaults, half with a legacy configuration), then runs, alternately,
`keysweep scan --ssh ...` (banner, KEXINIT, one key exchange per host-key family, the graph, the
rules, a JSON report) and `ssh-audit -T targets --threads N -j` with the same concurrency. Prints each
wall time, the medians, the ratio, and keysweep's CPU per endpoint. Target: keysweep at most the
time of ssh-audit (ratio <= 1.0).

    .venv/bin/python bench/bench_ssh.py [--endpoints 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.collectors.ssh.conftest import LEGACY  # noqa: E402
from tests.support.sshd import make_host_keys, running_sshd, write_config  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        base = Path(tmp)
        keys = make_host_keys(base)
        (base / "legacy").mkdir()
        legacy_keys = make_host_keys(base / "legacy", ("rsa", "dsa"))
        servers = []
        for i in range(args.endpoints):
            legacy = i % 2 == 1
            config = write_config(
                base, legacy_keys if legacy else keys, LEGACY.replace(",ssh-ed25519", "") if legacy else "", f"c{i}"
            )
            servers.append(stack.enter_context(running_sshd(config, legacy_keys if legacy else keys)))
        targets = [s.target for s in servers]
        listing = base / "targets.txt"
        listing.write_text("\n".join(targets) + "\n")
        keysweep_cmd = [str(ROOT / ".venv/bin/keysweep"), "scan", "--no-store", "--json", str(base / "ks.json")]
        keysweep_cmd += [arg for t in targets for arg in ("--ssh", t)] + ["--concurrency", "10", "--timeout", "10"]
        audit_cmd = ["ssh-audit", "-T", str(listing), "--threads", "10", "-j"]
        times: dict[str, list[float]] = {"keysweep": [], "ssh-audit": []}
        cpu: list[float] = []
        for round_number in range(args.rounds):
            for name, command in (("keysweep", keysweep_cmd), ("ssh-audit", audit_cmd)):
                before = _children_cpu()
                start = time.perf_counter()
                done = subprocess.run(command, capture_output=True)
                elapsed = time.perf_counter() - start
                if name == "keysweep":
                    if done.returncode not in (0, 1):
                        print(done.stderr.decode()[-2000:], file=sys.stderr)
                        return 1
                    cpu.append(_children_cpu() - before)
                times[name].append(elapsed)
                print(f"round {round_number + 1}: {name:<9} {elapsed:6.2f} s (exit {done.returncode})")
        ks, audit = statistics.median(times["keysweep"]), statistics.median(times["ssh-audit"])
        print(f"\n{args.endpoints} loopback sshd endpoints, medians of {args.rounds}:")
        print(f"  keysweep  {ks:6.2f} s   (CPU {statistics.median(cpu) / args.endpoints * 1000:.0f} ms per endpoint)")
        print(f"  ssh-audit {audit:6.2f} s")
        print(f"  ratio keysweep / ssh-audit = {ks / audit:.2f} (target <= 1.0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
