"""Benchmark: keysweep's first scan of a real directory tree against a bare loop over the same tree.

bench_files.py measures a tree of nothing but certificates; an estate is mostly other files
(libraries, sources, documentation, settings, images), where the time goes to reading and
recognising what is not cryptographic. This scans a real tree of the machine (default /usr) and,
in the same run, a bare loop over it: read every regular file keysweep would read (up to 10 MiB,
skipping the directories it skips) and load the certificates of each file that holds a PEM
certificate marker with cryptography. Prints both wall and CPU times, their ratio, keysweep's
counts and its peak memory; then the scan that fills a new file cache (a first scan with the
defaults, the history store aside), the first re-scan, which finds the tree unchanged and keeps
the sweep whole, and the nightly re-scan of the unchanged tree (the kept sweep restored), each
against the same bare loop. The page cache is warmed by one untimed pass first; each
figure is the best of ``--repeat`` runs, alternated.

    .venv/bin/python bench/bench_real_tree.py [--path /usr] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench_files import timed  # beside this script: run as `python bench/bench_real_tree.py`

from scanner.collectors.files.collector import MAX_FILE_BYTES, SKIPPED_DIRS

BARE_LOOP = r"""
import os, sys
from cryptography import x509
limit, skipped = int(sys.argv[2]), set(sys.argv[3].split(","))
files = certificates = 0
for root, dirs, names in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if d not in skipped]
    for name in names:
        path = os.path.join(root, name)
        try:
            if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) > limit:
                continue
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        files += 1
        if b"-----BEGIN CERTIFICATE-----" in data:
            try:
                certificates += len(x509.load_pem_x509_certificates(data))
            except ValueError:
                pass
print(files, certificates)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", type=Path, default=Path("/usr"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = str(args.path.resolve())
    with tempfile.TemporaryDirectory(prefix="keysweep-bench-") as work:
        report = Path(work) / "r.json"
        scan_tree = [str(Path(sys.executable).with_name("keysweep")), "scan", "--path", root]
        scan_tree += ["--json", str(report), "--no-store"]
        keysweep = [*scan_tree, "--no-cache"]
        cache = Path(work) / "cache"
        bare = [sys.executable, "-c", BARE_LOOP, root, str(MAX_FILE_BYTES), ",".join(sorted(SKIPPED_DIRS))]
        timed(bare)  # the page cache warmed for both
        scans, loops, fills, keeps, rescans = [], [], [], [], []
        for _ in range(args.repeat):
            loops.append(timed(bare))
            scans.append(timed(keysweep))
            shutil.rmtree(cache, ignore_errors=True)
            fills.append(timed([*scan_tree, "--cache", str(cache)]))
            keeps.append(timed([*scan_tree, "--cache", str(cache)]))  # finds it unchanged, keeps the sweep
            rescans.append(timed([*scan_tree, "--cache", str(cache)]))  # restores the kept sweep
        runs = (loops, scans, fills, keeps, rescans)
        loop, scan, fill, keep, rescan = (min(each, key=lambda r: r.wall) for each in runs)
        files = json.loads(report.read_text())["summary"]["files"]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; tree: {root}")
    print(f"bare loop (read every file, load PEM certificates): {loop.wall:6.2f} s wall {loop.cpu:6.2f} s CPU")
    print(f"  files read {loop.stdout.split()[0]}, certificates loaded {loop.stdout.split()[1]}")
    print(
        f"keysweep first scan (--no-store):                 {scan.wall:6.2f} s wall {scan.cpu:6.2f} s CPU"
        f"   {scan.wall / loop.wall:.2f}x wall {scan.cpu / loop.cpu:.2f}x CPU"
    )
    print(
        f"  files examined {files['examined']}, recognised {files['recognised']}, failed {files['failed']};"
        f" peak RSS {scan.peak_mib:.0f} MiB (the largest process of either side)"
    )
    cached = (
        ("keysweep scan filling a new file cache:", fill),
        ("keysweep re-scan keeping the sweep:", keep),
        ("keysweep re-scan, unchanged tree:", rescan),
    )
    for label, run in cached:
        print(
            f"{label:50s}{run.wall:6.2f} s wall {run.cpu:6.2f} s CPU"
            f"   {run.wall / loop.wall:.2f}x wall {run.cpu / loop.cpu:.2f}x CPU"
        )


if __name__ == "__main__":
    main()
