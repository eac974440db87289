"""Benchmark: keysweep's TLS scan against the sslyze CLI with the equivalent scan commands.

Starts 20 loopback endpoints (two nginx processes: 10 modern ECDSA endpoints, 10 RSA endpoints
that also accept RSA key transport, so ROBOT has work to do), then runs, alternately and in the
same run, `keysweep scan --tls ...` (which adds the post-quantum, groups and signature-scheme
probes, chain validation, the graph and the rules) and `python -m sslyze` with the equivalent scan
commands (its elliptic-curves scan for keysweep's groups probe), both writing a JSON report. Prints each wall
time, the medians and the ratio. Target: keysweep at most 1.1x sslyze.

    .venv/bin/python bench/bench_tls.py [--rounds 3]
"""

from __future__ import annotations

import argparse
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


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of the command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keysweep-bench-tls-") as tmp:
        work = Path(tmp)
        ec_cert, ec_key = ts.server_certificate(work, "ec")
        rsa_cert, rsa_key = ts.server_certificate(work, "rsa", key=ts.rsa_key())
        servers = ts.start_nginx(work / "nginx-ec", ec_cert, ec_key, count=10)
        try:
            servers += ts.start_nginx(work / "nginx-rsa", rsa_cert, rsa_key, count=10, ciphers=RSA_CIPHERS)
            targets = [s.target for s in servers]
            keysweep = [str(ROOT / ".venv/bin/keysweep"), "scan", "--json", str(work / "keysweep.json")]
            # the default scan saves its history: into a scratch store, never the user's
            keysweep += ["--store", str(work / "history.sqlite3")]
            keysweep += [a for t in targets for a in ("--tls", t)]
            sslyze = [sys.executable, "-m", "sslyze", *SSLYZE_COMMANDS, "--quiet", "--json_out", str(work / "s.json")]
            sslyze += targets
            timed(sslyze)  # warm the page cache for both interpreters' imports
            times: dict[str, list[float]] = {"sslyze": [], "keysweep": []}
            cpu: dict[str, list[float]] = {"sslyze": [], "keysweep": []}
            for round_ in range(args.rounds):
                for name, argv in (("sslyze", sslyze), ("keysweep", keysweep)):
                    wall, used = timed(argv)
                    times[name].append(wall)
                    cpu[name].append(used)
                print(
                    f"round {round_ + 1}: sslyze {times['sslyze'][-1]:.2f}s  keysweep {times['keysweep'][-1]:.2f}s",
                    flush=True,
                )
        finally:
            for server in servers:
                server.stop()
    s, k = statistics.median(times["sslyze"]), statistics.median(times["keysweep"])
    print(f"endpoints: {len(targets)} (loopback nginx)")
    print(f"sslyze CLI ({len(SSLYZE_COMMANDS)} scan commands), median wall time: {s:.2f}s")
    print(f"keysweep (same commands + post-quantum probe + rules + JSON), median wall time: {k:.2f}s")
    print(f"ratio keysweep/sslyze: {k / s:.2f} (target <= 1.10)")
    per_round = statistics.median(a / b for a, b in zip(times["keysweep"], times["sslyze"], strict=True))
    print(f"median of the per-round ratios: {per_round:.2f}")
    cs, ck = statistics.median(cpu["sslyze"]), statistics.median(cpu["keysweep"])
    print(f"CPU time (user + system), median: sslyze {cs:.2f}s, keysweep {ck:.2f}s, ratio {ck / cs:.2f}")
    # the sslyze workers are children of keysweep's fork server, not of keysweep: getrusage misses them
    print("  (keysweep's CPU time leaves out its sslyze worker processes: compare the wall times)")


if __name__ == "__main__":
    main()
