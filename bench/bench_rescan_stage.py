"""Benchmark: the re-scan's collection and graph stage alone (issue 12), inside one process.

What an unchanged file costs between the walk and the inventory graph: its stat, its share of the
batched cache query, the digest, decoding the cached parse, its file asset, and ``graph.add`` of
what it yields. Start-up, rules, reports and the history store are left out (bench_files.py times
the whole scan). The cache is filled once (a first collection into ``--cache``), then the stage runs
``--repeat`` times; printed: the best CPU and wall seconds and the CPU per file, with the garbage
collector tuned as ``keysweep scan`` tunes it. Use a tree that holds files written over two seconds
ago (the racy window keeps newer ones out of the cache), e.g. bench_files.py's ``--keep DIR``.
With ``--first`` the stage runs without the cache, the files read by the pool of workers: the CPU
printed is the scanning process's own (decoding the workers' answers, file assets, the graph), the
part of a first scan that the workers wait on.

    .venv/bin/python bench/bench_rescan_stage.py TREE [--cache DIR] [--repeat 3] [--first]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files import cache as file_cache
from scanner.collectors.files.collector import FileCollector
from scanner.inventory.graph import InventoryGraph


def _stage(tree: str, cache_dir: str | None) -> tuple[float, float, int]:
    collector = FileCollector()
    context = CollectContext(options={file_cache.OPTION: cache_dir} if cache_dir else {})
    cpu, wall = time.process_time(), time.perf_counter()
    graph = InventoryGraph()
    graph.add_all(collector.collect([Target("path", tree)], context))
    return time.process_time() - cpu, time.perf_counter() - wall, graph.sweep.examined


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("tree")
    parser.add_argument("--cache", help="cache directory (default: a temporary one, filled first)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--first", action="store_true", help="no cache: the parallel sweep's scanning process")
    args = parser.parse_args()
    gc.freeze()  # as `keysweep scan` does (scanner/cli/scan_cmd.py)
    gc.set_threshold(200_000, 50, 1000)
    if args.first:
        runs = [_stage(args.tree, None) for _ in range(args.repeat)]
        cpu, wall, files = min(run[0] for run in runs), min(run[1] for run in runs), runs[0][2]
        print(f"first-scan stage, {files} files: {cpu:.3f} s CPU (scanning process), {wall:.3f} s wall")
        print(f"  {cpu / max(files, 1) * 1e6:.0f} µs CPU per file in the scanning process (best of {args.repeat})")
        return
    with tempfile.TemporaryDirectory() as scratch:
        cache_dir = args.cache or str(Path(scratch) / "cache")
        fill_cpu, fill_wall, files = _stage(args.tree, cache_dir)
        print(f"fill (first collection into the cache): {fill_cpu:.2f} s CPU (parent), {fill_wall:.2f} s wall")
        runs = [_stage(args.tree, cache_dir) for _ in range(args.repeat)]
    cpu = min(run[0] for run in runs)
    wall = min(run[1] for run in runs)
    per_file = cpu / max(files, 1) * 1e6
    print(f"re-scan stage, {files} files: {cpu:.3f} s CPU, {wall:.3f} s wall (best of {args.repeat})")
    print(f"  {per_file:.0f} µs CPU per file")


if __name__ == "__main__":
    main()
