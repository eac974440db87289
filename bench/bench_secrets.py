"""Peak memory and time of the secrets handler on a 10 MiB settings file (issue 18 item 9: under 100 MB).

Each measurement runs in a fresh child process, so that its peak resident set is its own:
- baseline: import keysweep and read the file into memory (what the file collector does anyway);
- handler: the same, then the secrets handler parses it.
Two files: a typical large .env (settings, one secret at the end) and a dense one (every line
assigns a secret-like name, most of them placeholders or references: the detector's worst case).
Each is also measured at half the size, to show the cost grows linearly with the input.
Usage: python bench/bench_secrets.py [MiB]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, tracemalloc
from pathlib import Path
from scanner.collectors.base import CollectContext
from scanner.collectors.configs.secrets import SecretsHandler
from scanner.collectors.files.handler import FileSource
path, run = Path(sys.argv[1]), sys.argv[2] == "handler"
data = path.read_bytes()
start = time.perf_counter()
tracemalloc.start()
secrets = 0
if run:
    parsed = SecretsHandler().parse(FileSource(path, data), CollectContext())
    secrets = parsed.file_properties.get("contains_secrets", 0)
traced = tracemalloc.get_traced_memory()[1]
elapsed = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"rss": rss, "traced": traced, "seconds": elapsed, "secrets": secrets}))
"""

TYPICAL = b"SERVICE_%07d_URL=https://svc.internal/api/v1/resource?limit=100&offset=0\n"
DENSE = b"SERVICE_%07d_TOKEN=${VAULT_TOKEN_%07d}\nDB_%07d_PASSWORD=changeme\nAPI_%07d_KEY=/run/secrets/api\n"


def make(path: Path, size: int, pattern: bytes) -> Path:
    arity = pattern.count(b"%07d")
    unit = len(pattern % ((0,) * arity))
    with path.open("wb") as out:
        for i in range(size // unit):
            out.write(pattern % ((i,) * arity))
        out.write(b"DB_PASSWORD=Fake-Sample-Pw-9f3K2q7Zx\n")
    return path


def measure(path: Path, what: str) -> dict[str, float]:
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), what], capture_output=True, text=True, check=True, timeout=600
    )
    result: dict[str, float] = json.loads(run.stdout)
    return result


def main() -> None:
    mib = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    size = int(mib * 2**20)
    with tempfile.TemporaryDirectory() as tmp:
        for label, pattern in (("typical .env", TYPICAL), ("dense .env (worst case)", DENSE)):
            full = make(Path(tmp) / "full.env", size, pattern)
            half = make(Path(tmp) / "half.env", size // 2, pattern)
            base = measure(full, "baseline")
            run = measure(full, "handler")
            half_run = measure(half, "handler")
            extra = (run["rss"] - base["rss"]) / 2**20
            print(f"{label}, {full.stat().st_size / 2**20:.1f} MiB, {int(run['secrets'])} secret(s) found:")
            base_mib, run_mib = base["rss"] / 2**20, run["rss"] / 2**20
            print(f"  peak RSS: baseline (read only) {base_mib:.1f} MiB, with the handler {run_mib:.1f} MiB")
            print(f"  handler adds {extra:.1f} MiB RSS; Python allocations peak {run['traced'] / 2**20:.1f} MiB")
            print(f"  time {run['seconds']:.2f} s; at half size {half_run['seconds']:.2f} s", end="")
            print(f" (ratio {run['seconds'] / max(half_run['seconds'], 1e-9):.2f}, linear = 2)")
    print("target: the handler's peak under 100 MB on a 10 MiB file (issue 18 item 9: 1.69 GB before)")


if __name__ == "__main__":
    main()
