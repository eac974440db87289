"""Benchmark: a TLS sweep of loopback endpoints, locally and through scan workers (1, 2 and 4), same run.

Starts N loopback nginx endpoints (default 200), a redis-server, and `keysweep worker` processes
(each `--concurrency 1`: one chunk at a time, the TLS collector's own concurrency inside it, as a
local scan). Runs `keysweep scan --tls ...` locally, then `keysweep scan --distributed` with 1, 2
and 4 workers, all with the same targets, policies and JSON report. Prints each wall time, the
overhead of going through the broker at one worker (target: under 10% of the local scan), per
endpoint, and the speed-up with more workers. On 2 cores, more workers on the same machine share
the same CPUs: the speed-up that distribution brings is across hosts, the overhead is what this
measures.

    .venv/bin/python bench/bench_distributed.py [--endpoints 200] [--chunk-size 25]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.distributed.conftest import start_worker, wait_for_workers  # noqa: E402
from tests.support import tls_servers as ts  # noqa: E402
from tests.support.redis_server import running_redis  # noqa: E402

KEYSWEEP = str(ROOT / ".venv/bin/keysweep")


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv[:4]} failed ({done.returncode}): {done.stderr[-1500:]}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--chunk-size", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keysweep-bench-dist-") as tmp:
        work = Path(tmp)
        cert, key = ts.server_certificate(work, "bench")
        servers = ts.start_nginx(work / "nginx", cert, key, count=args.endpoints)
        try:
            listing = work / "targets.txt"
            listing.write_text("\n".join(s.target for s in servers) + "\n")
            common = [KEYSWEEP, "scan", "--no-store", "--targets", str(listing), "--timeout", "10"]
            common += ["--json", str(work / "out.json")]
            local = timed(common)
            print(f"local scan:        {local:7.2f} s  ({args.endpoints} endpoints)")
            with running_redis(work) as broker:
                results = {}
                for count in (1, 2, 4):
                    workers = [start_worker(broker, "default", work, concurrency=1) for _ in range(count)]
                    try:
                        wait_for_workers(broker, {"default"})
                        time.sleep(1.0)  # every worker connected, not only the first
                        results[count] = timed([*common, "--distributed", broker, "--chunk-size", str(args.chunk_size)])
                    finally:
                        for process in workers:
                            os.killpg(process.pid, signal.SIGTERM)
                            process.wait(60)
                    print(f"distributed x{count}:   {results[count]:7.2f} s")
            overhead = results[1] - local
            print(
                f"\noverhead at one worker: {overhead:+.2f} s = {overhead / local * 100:+.1f}% of the local scan "
                f"(target under 10%), {overhead / args.endpoints * 1000:+.1f} ms per endpoint"
            )
            for count in (2, 4):
                print(f"speed-up with {count} workers over 1: {results[1] / results[count]:.2f}x")
        finally:
            servers[0].stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
