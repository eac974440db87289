"""Benchmark: what a scan does once its result is known (saving to the store, writing the reports),
one after the other (``--workers 1``) beside side by side (the default: one forked process per
usable core, scanner/cli/jobs.py), in one run.

The scan is a nightly one of an unchanged 20,000-file tree (the bench tree of bench_files.py): its
file cache restores the sweep whole, the same in both, so what differs is the writing. Each run
saves into a new, empty store (a store's first save, every row written) and writes the reports a
scheduled scan writes: JSON, HTML, SARIF and CSV (--cbom adds the CycloneDX CBOM, the slowest).
Figures are whole processes, best of --repeat, with their CPU seconds (the processes' and their
forked jobs').

    .venv/bin/python bench/bench_outputs.py [--keep /tmp/benchfiles] [--count 20000] [--cbom]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench_files import best_fresh, byte_compile, line, timed, tree


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="reuse/keep the generated tree here")
    parser.add_argument("--cbom", action="store_true", help="write the CycloneDX CBOM too")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="keysweep-bench-outputs-"))
    try:
        certs = tree((args.keep or workdir) / f"files-{args.count}", args.count)
        keysweep = str(Path(sys.executable).with_name("keysweep"))
        byte_compile()
        store = workdir / "history.sqlite3"
        scan = [keysweep, "scan", "--path", str(certs), "--cache", str(workdir / "cache"), "--store", str(store)]
        for name in ("json", "html", "sarif", "csv", *(["cbom"] if args.cbom else [])):
            scan += [f"--{name}", str(workdir / f"r.{name}")]
        timed(scan)  # fills the cache
        timed(scan)  # finds the tree unchanged: keeps the sweep whole for the runs below
        one = best_fresh([*scan, "--workers", "1"], args.repeat, store)
        side = best_fresh(scan, args.repeat, store)
        print(f"{args.count} files, unchanged (the sweep restored from the cache), into a new store each run")
        print(line("store and reports, one after the other", one))
        print(line("store and reports, side by side", side, one))
        print(f"side by side: {one.wall - side.wall:.2f} s sooner ({side.wall / one.wall:.2f}x the wall time)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
