"""Benchmark: keysweep's TLS scan against the sslyze CLI with the equivalent scan commands.

Starts 40 loopback endpoints (two nginx processes: 15 modern ECDSA endpoints, 15 RSA endpoints
that also accept RSA key transport, so ROBOT has work to do; and a quarter TLS 1.0 only: 10
openssl s_server -tls1 with every cipher), then runs, alternately and in the
same run, `keysweep scan --tls ...` (which adds the post-quantum, groups and signature-scheme
probes, chain validation, the graph and the rules) and `python -m sslyze` with the equivalent scan
commands (its elliptic-curves scan for keysweep's groups probe), both writing a JSON report, and
keysweep with --tls-enumeration sslyze. Prints each wall time, the medians, the ratios and the CPU
time per endpoint and its ratio (all descendants: this process becomes a child subreaper so that
keysweep's fork server and workers are counted; on a shared machine CPU time is the steadier
figure). Target (issue 12): keysweep at most 0.4x the sslyze CLI.

    .venv/bin/python bench/bench_tls.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import tls_servers as ts  # noqa: E402

SSLYZE_COMMANDS = [
    "--certinfo",
    "--sslv2",
    "--sslv3",
    "--tlsv1",
    "--tlsv1_1",
    "--tlsv1_2",
    "--tlsv1_3",
    "--elliptic_curves",
    "--compression",
    "--reneg",
    "--heartbleed",
    "--robot",
    "--http_headers",
    "--ems",
    "--fallback",
    "--resum",
]
RSA_CIPHERS = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:AES128-GCM-SHA256:AES128-SHA:AES256-SHA"


def _become_subreaper() -> None:
    """Orphans of the commands run here (keysweep's fork server and its sslyze workers) are
    re-parented to this process, so that reaping them adds their CPU time to RUSAGE_CHILDREN."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _reap_orphans(wait: float = 10.0) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, every descendant) of one run of the command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - start
    _reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    _become_subreaper()
    with tempfile.TemporaryDirectory(prefix="keysweep-bench-tls-") as tmp:
        work = Path(tmp)
        ec_cert, ec_key = ts.server_certificate(work, "ec")
        rsa_cert, rsa_key = ts.server_certificate(work, "rsa", key=ts.rsa_key())
        servers = ts.start_nginx(work / "nginx-ec", ec_cert, ec_key, count=15)
        try:
            servers += ts.start_nginx(work / "nginx-rsa", rsa_cert, rsa_key, count=15, ciphers=RSA_CIPHERS)
            # a quarter TLS 1.0 only: openssl s_server -tls1 with every cipher and 1024-bit DH
            servers += [ts.start_legacy_server(work, rsa_cert, rsa_key) for _ in range(10)]
            targets = [s.target for s in servers]
            base = [str(ROOT / ".venv/bin/keysweep"), "scan", "--json", str(work / "keysweep.json")]
            # the default scan saves its history: into a scratch store, never the user's
            base += ["--store", str(work / "history.sqlite3")]
            base += [a for t in targets for a in ("--tls", t)]
            sslyze = [sys.executable, "-m", "sslyze", *SSLYZE_COMMANDS, "--quiet", "--json_out", str(work / "s.json")]
            sslyze += targets
            runs = {
                "sslyze": sslyze,
                "keysweep (sslyze enumeration)": [*base, "--tls-enumeration", "sslyze"],
                "keysweep": base,
            }
            timed(sslyze)  # warm the page cache for both interpreters' imports
            times: dict[str, list[float]] = {name: [] for name in runs}
            cpu: dict[str, list[float]] = {name: [] for name in runs}
            for round_ in range(args.rounds):
                for name, argv in runs.items():
                    wall, used = timed(argv)
                    times[name].append(wall)
                    cpu[name].append(used)
                print(f"round {round_ + 1}: " + "  ".join(f"{n} {t[-1]:.2f}s" for n, t in times.items()), flush=True)
        finally:
            for server in servers:
                server.stop()
    print(f"endpoints: {len(targets)} (30 loopback nginx TLS 1.2/1.3, 10 openssl s_server TLS 1.0 only)")
    reference = statistics.median(times["sslyze"])
    reference_cpu = statistics.median(cpu["sslyze"])
    for name in runs:
        wall, used = statistics.median(times[name]), statistics.median(cpu[name])
        print(
            f"{name:32s} median wall {wall:6.2f}s  ratio to sslyze {wall / reference:.2f}  "
            f"CPU {used:6.2f}s ({1000 * used / len(targets):.0f} ms per endpoint, "
            f"ratio {used / reference_cpu:.2f})"
        )
    print(
        "target: keysweep at most 0.40x the sslyze CLI (issue 12); sslyze runs "
        f"{len(SSLYZE_COMMANDS)} scan commands, keysweep the same facts plus its probes, chain validation and rules"
    )


if __name__ == "__main__":
    main()
